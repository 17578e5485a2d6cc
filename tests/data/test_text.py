"""The text step: tokens, the fitted vocabulary, stable hashes, padded id blocks and their notes."""

import numpy as np
import pandas as pd

from nntrain.data.step import Context
from nntrain.data.text import Text, hashed_ids, tokenize, token_blocks


def fitted(values, **options):
    frame = pd.DataFrame({"note": values, "y": range(len(values))}, index=pd.RangeIndex(2, 2 + len(values)))
    step = Text(columns=["note"], **options)
    ctx = Context(target=["y"], training=True)
    state = step.fit(frame, ctx)
    return step, state, step.transform(frame, state, ctx), ctx


def test_tokens_are_lower_cased_unicode_words_then_wrapped_character_ngrams():
    rows, tokens = tokenize(pd.Series(["Größe: 42 Ünïcode_x!", None, "Ab"]), None)
    assert rows.tolist() == [0, 0, 0, 2] and tokens.tolist() == ["größe", "42", "ünïcode_x", "ab"]
    rows, tokens = tokenize(pd.Series(["Ab cd", "e"]), [2, 3])
    assert tokens.tolist() == ["ab", "cd", "<a", "ab", "b>", "<c", "cd", "d>", "<ab", "ab>", "<cd", "cd>",
                               "e", "<e", "e>", "<e>"]
    assert rows.tolist() == [0] * 12 + [1] * 4


def test_vocabulary_keeps_frequent_training_tokens_ties_alphabetical_and_pads_rows():
    _, state, frame, _ = fitted(["b a a", "c b a", "d", "c"], min_count=2, max_tokens=2)
    spec = state["columns"]["note"]
    assert spec["vocabulary"] == ["a", "b"] and spec["size"] == 3 and spec["width"] == 3  # c (2) loses to b (2)
    assert list(frame.columns) == ["note:0", "note:1", "note:2", "y"]
    assert frame.iloc[:, :3].to_numpy().tolist() == [[2, 1, 1], [0, 2, 1], [0, -1, -1], [0, -1, -1]]
    assert spec["tokens_per_row"] == 2.0


def test_unseen_tokens_at_predict_are_out_of_vocabulary_with_a_note():
    step, state, _, _ = fitted(["red fox", "red dog"], min_count=1)
    ctx = Context(target=[], training=False)
    frame = step.transform(pd.DataFrame({"note": ["red cat", "fox", ""]}), state, ctx)
    assert state["columns"]["note"]["vocabulary"] == ["red", "dog", "fox"]
    assert frame.to_numpy().tolist() == [[1, 0], [3, -1], [-1, -1]]
    assert ctx.notes == ["text: 1 token of 'note' is not in the training vocabulary (e.g. 'cat'); "
                         "read as out-of-vocabulary"]


def test_hashes_are_stable_across_processes_and_rows_longer_than_max_length_are_cut_with_a_note():
    assert hashed_ids(np.array(["night", "train", "ünïcode"], dtype=object), 1000).tolist() == [812, 15, 623]
    _, state, frame, ctx = fitted(["one two three", "four"], hash_buckets=1000, max_length=2)
    assert "vocabulary" not in state["columns"]["note"] and state["columns"]["note"]["size"] == 1000
    assert frame["note:1"].tolist() == [hashed_ids(np.array(["two"], dtype=object), 1000)[0], -1]
    assert ctx.notes == ["text: 1 row of 'note' has more than 2 tokens; only the first 2 are used (raise max_length)"]


def test_token_blocks_are_found_in_the_feature_order():
    state = {"features": ["a", "t:0", "t:1", "b"],
             "pipeline": {"steps": [{"type": "drop"}, {"type": "text"}],
                          "states": [{}, {"columns": {"t": {"width": 2, "size": 9}}}]}}
    assert token_blocks(state) == [[1, 2, 9]]


def test_an_image_state_has_no_token_blocks():
    assert token_blocks({"kind": "images", "target": {}}) == []
