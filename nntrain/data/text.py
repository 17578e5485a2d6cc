"""The `text` step: free-text columns to padded rows of token ids, for an `embedding_bag` layer.

Tokens are the lower-cased text's runs of Unicode word characters (WORD: letters, digits and
underscores of any script, as Python's `re` reads `\\w`), plus, with `char_ngrams: [a, b]`, every
character n-gram of length a..b of each word wrapped in `<` and `>` (fastText's subwords, which
let unseen spellings share pieces with seen ones). A column becomes `width` integer columns
`name:0` .. `name:<width-1>` holding one row's token ids in order, then PADDING; width is the
longest training row, at most `max_length`, so the block is rows × width, never rows × vocabulary.

Ids: with a vocabulary (fitted on the training rows: tokens seen `min_count` times or more, the
`max_tokens` most frequent, ties alphabetical), 0 is out of vocabulary and 1.. the vocabulary in
frequency order; with `hash_buckets` the id is a stable 64-bit hash (pandas' SipHash of the UTF-8
bytes with its fixed key, not Python's salted `hash()`) modulo the buckets, and nothing is stored.
"""

from functools import partial

import numpy as np
import pandas as pd

from nntrain.data.step import CountNote, EachChunk
from nntrain.errors import DataError
from nntrain.words import counted

WORD = r"\w+"
PADDING = -1  # id of the cells after a row's last token; embedding_bag masks them out
OUT_OF_VOCABULARY = 0


def token_columns(name: str, width: int) -> list[str]:
    return [f"{name}:{position}" for position in range(width)]


def tokenize(values: pd.Series, char_ngrams: list[int] | None) -> tuple[np.ndarray, np.ndarray]:
    """(row position, token) of every token of `values`, grouped by row: words in order, then n-grams."""
    text = values.astype("string").fillna("").str.lower()
    words = text.str.findall(WORD)
    rows = [np.repeat(np.arange(len(words)), words.str.len().to_numpy())]
    tokens = [words.explode().dropna().to_numpy(dtype=object)]
    if char_ngrams:
        wrapped = "<" + pd.Series(tokens[0], dtype=object) + ">"
        for n in range(char_ngrams[0], char_ngrams[1] + 1):
            grams = wrapped.str.findall(f"(?=(.{{{n}}}))")  # overlapping: a lookahead captures each start
            rows.append(np.repeat(rows[0], grams.str.len().to_numpy()))
            tokens.append(grams.explode().dropna().to_numpy(dtype=object))
    rows, tokens = np.concatenate(rows), np.concatenate(tokens)
    order = np.argsort(rows, kind="stable")
    return rows[order], tokens[order]


def hashed_ids(tokens: np.ndarray, buckets: int) -> np.ndarray:
    return (pd.util.hash_array(tokens, categorize=True) % np.uint64(buckets)).astype(np.int64)


class Text:
    """Free-text columns to padded token-id rows (see the module docstring)."""

    def __init__(self, columns: list[str], max_tokens: int = 20000, min_count: int = 2,
                 hash_buckets: int | None = None, char_ngrams: list[int] | None = None, max_length: int = 256):
        self.columns = columns
        self.max_tokens = max_tokens
        self.min_count = min_count
        self.hash_buckets = hash_buckets
        self.char_ngrams = list(char_ngrams) if char_ngrams else None
        self.max_length = max_length

    def fit(self, frame, ctx):
        return self.fit_chunks([frame], ctx)

    def fit_chunks(self, chunks, ctx):
        """The state from the training rows of one frame or of a table chunk by chunk (the same either way:
        token counts, the longest row and the rows are summed over chunks)."""
        seen = None
        for frame in chunks:
            if seen is None:
                columns = ctx.named(self.columns)
                missing = [c for c in columns if c not in ctx.features(frame)]
                if missing:
                    raise DataError(f"text: no feature column {', '.join(map(repr, missing))}; the columns are "
                                    f"{', '.join(map(str, frame.columns))}")
                seen = {name: _SeenText() for name in columns}
            for name, text in seen.items():
                values = ctx.learn(frame, name)
                rows, tokens = tokenize(values, self.char_ngrams)
                text.add(np.bincount(rows, minlength=len(values)), None if self.hash_buckets else tokens)
        return {"columns": {name: self._spec(text) for name, text in (seen or {}).items()}}

    def chunk_transform(self, state, ctx):
        return EachChunk(self, state, ctx)

    def _spec(self, text: "_SeenText") -> dict:
        spec = {"char_ngrams": self.char_ngrams, "width": int(max(1, min(self.max_length, text.longest))),
                "tokens_per_row": round(text.tokens / text.rows if text.rows else 0.0, 2)}
        if self.hash_buckets:
            spec.update(buckets=self.hash_buckets, size=self.hash_buckets)
            return spec
        counts = text.counts[text.counts >= self.min_count]
        ranked = pd.DataFrame({"token": counts.index.astype(str), "count": counts.to_numpy()})
        ranked = ranked.sort_values(["count", "token"], ascending=[False, True], kind="stable")
        vocabulary = ranked["token"].head(self.max_tokens).tolist()
        spec.update(vocabulary=vocabulary, size=len(vocabulary) + 1)
        return spec

    def fates(self, state) -> dict[str, dict]:
        """Tokenized into `width` id columns, with the vocabulary's size (None when hashed) and the mean tokens
        per training row, for the data report."""
        return {name: {"fate": "tokenized", "encoded_into": spec["width"],
                       "vocabulary": None if "buckets" in spec else len(spec["vocabulary"]),
                       "hash_buckets": spec.get("buckets"), "tokens_per_row": spec["tokens_per_row"]}
                for name, spec in state["columns"].items()}

    def transform(self, frame, state, ctx):
        for name, spec in state["columns"].items():
            if name not in frame:
                continue
            ctx.tokens.update(token_columns(name, spec["width"]))
            rows, tokens = tokenize(frame[name], spec["char_ngrams"])
            if "buckets" in spec:
                ids = hashed_ids(tokens, spec["buckets"])
            else:
                ids = pd.Index(spec["vocabulary"]).get_indexer(tokens) + 1  # -1 (not found) becomes 0
                if not ctx.training:
                    self._note_unseen(name, tokens, ids, ctx)
            block = self._padded(rows, ids, len(frame), spec["width"], name, ctx)
            position = frame.columns.get_loc(name)
            tokens_frame = pd.DataFrame(block, columns=token_columns(name, spec["width"]), index=frame.index)
            frame = pd.concat([frame.iloc[:, :position], tokens_frame, frame.iloc[:, position + 1:]], axis=1)
        return frame

    @staticmethod
    def _padded(rows: np.ndarray, ids: np.ndarray, count: int, width: int, name: str, ctx) -> np.ndarray:
        """The rows × width block of ids, PADDING after each row's tokens; tokens beyond `width` are cut."""
        per_row = np.bincount(rows, minlength=count)
        starts = np.cumsum(per_row) - per_row
        position = np.arange(len(rows)) - starts[rows]
        kept = position < width
        block = np.full((count, width), PADDING, dtype=np.int32)
        block[rows[kept], position[kept]] = ids[kept]
        cut = int((per_row > width).sum())
        if cut:
            ctx.notes.append(CountNote(("text", "cut", name), cut, partial(_cut, name, width)))
        return block

    @staticmethod
    def _note_unseen(name: str, tokens: np.ndarray, ids: np.ndarray, ctx) -> None:
        unseen = ids == OUT_OF_VOCABULARY
        if unseen.any():
            ctx.notes.append(CountNote(("text", "unseen", name), int(unseen.sum()),
                                       partial(_unseen, name, tokens[unseen][0])))


def _cut(name: str, width: int, count: int) -> str:
    return (f"text: {counted(count, 'row')} of {name!r} {'has' if count == 1 else 'have'} more than "
            f"{counted(width, 'token')}; only the first {width} are used (raise max_length)")


def _unseen(name: str, example, count: int) -> str:
    return (f"text: {counted(count, 'token')} of {name!r} {'is' if count == 1 else 'are'} not in the training "
            f"vocabulary (e.g. {example!r}); read as out-of-vocabulary")


class _SeenText:
    """What the training rows of one text column hold, added chunk by chunk: token counts (unless hashed),
    the longest row, and the tokens and rows for the mean per row."""

    def __init__(self):
        self.counts = pd.Series(dtype="int64")
        self.longest = self.tokens = self.rows = 0

    def add(self, per_row: np.ndarray, tokens: np.ndarray | None) -> None:
        self.longest = max(self.longest, int(per_row.max(initial=0)))
        self.tokens, self.rows = self.tokens + int(per_row.sum()), self.rows + len(per_row)
        if tokens is not None:
            self.counts = self.counts.add(pd.Series(tokens, dtype=object).value_counts(), fill_value=0).astype("int64")


def token_blocks(state: dict) -> list[list[int]]:
    """[start, width, size] of each text column's token block in the feature matrix of a prepared `state`
    (none for images, which have no pipeline)."""
    features, pipeline = state.get("features", []), state.get("pipeline", {"steps": [], "states": []})
    blocks = []
    for spec, step_state in zip(pipeline["steps"], pipeline["states"]):
        if spec["type"] != "text":
            continue
        for name, column in step_state["columns"].items():
            first = token_columns(name, 1)[0]
            if first in features:
                blocks.append([features.index(first), column["width"], column["size"]])
    return blocks
