"""What pipeline steps share: the notes of an input's chunks add up to the whole input's."""

from functools import partial

from nntrain.data.step import CountNote, add_up


def _unseen(name: str, example: str, count: int) -> str:
    return f"{count} of {name!r} unseen (e.g. {example!r})"


def test_the_notes_of_chunks_add_up_to_one_per_key_worded_as_the_first():
    chunks = [["ignored 1 column", CountNote(("encode", "city"), 2, partial(_unseen, "city", "lima"))],
              ["ignored 1 column", CountNote(("encode", "town"), 1, partial(_unseen, "town", "x")),
               CountNote(("encode", "city"), 3, partial(_unseen, "city", "cairo"))],
              [CountNote(("encode", "city"), 1, partial(_unseen, "city", "quito"))]]
    said: list[str] = []
    for notes in chunks:
        said = add_up(said + notes)
    assert said == ["ignored 1 column", "6 of 'city' unseen (e.g. 'lima')", "1 of 'town' unseen (e.g. 'x')"]
    assert said[1].count == 6 and said[1].key == ("encode", "city")
