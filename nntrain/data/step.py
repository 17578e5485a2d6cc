"""What every pipeline step shares: the context it works in, and small helpers for its notes.

A step has `fit(frame, ctx) -> state`, `transform(frame, state, ctx) -> frame` and `fates(state)`
(what it did to the columns it removed or replaced); see `nntrain.data.pipeline`.

For tables too big to hold, every step also has `fit_chunks(chunks, ctx) -> state`, the same state
learnt from an iterable of frames (the table chunk by chunk, as the earlier steps left it; while
each chunk is seen, `ctx.rows` marks its training rows, so `ctx.learn` works as in `fit`), and
`chunk_transform(state, ctx)`: a callable that transforms consecutive chunks of one pass, with a
`finish()` called after the last (where a step that compares rows across chunks leaves its notes).
A note that counts what a step found in a frame's rows is a `CountNote`, so that the notes of an
input read in chunks add up (`add_up`) to those of the whole input.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd



@dataclass
class Context:
    """What a step knows about the table it works on, and where it leaves notes for the user."""

    target: list[str]
    training: bool
    notes: list[str] = field(default_factory=list)
    rows: np.ndarray | None = None  # while fitting: which rows of the frame are training rows
    emptied: set[str] = field(default_factory=set)  # columns clean removed as empty in the training rows
    tokens: set[str] = field(default_factory=set)  # token-id columns a text step made: ids, not numbers to scale

    def features(self, frame: pd.DataFrame) -> list[str]:
        return [c for c in frame.columns if c not in self.target]

    def named(self, names: list[str]) -> list[str]:
        """Columns a step's options name, less those clean removed as empty: gone, and a note said so."""
        return [name for name in names if name not in self.emptied]

    def learn(self, frame: pd.DataFrame, name: str) -> pd.Series:
        """Column `name` restricted to the training rows, the only rows a step may learn from."""
        return frame[name] if self.rows is None else frame[name][self.rows]


class CountNote(str):
    """A note counting what a step found in the rows it saw (values not seen in training, unparsable values):
    `words(count)`, kept with its `key` (the step and column it is about) and `count` so that `add_up` can say
    the notes of one key from many chunks as one, worded as the first chunk's (its example, its line)."""

    def __new__(cls, key: tuple, count: int, words: Callable[[int], str]):
        note = super().__new__(cls, words(count))
        note.key, note.count, note.words = key, count, words
        return note


def add_up(notes: list[str]) -> list[str]:
    """Notes of consecutive chunks of one input as the whole input's, in order: a note every chunk repeats
    once, and the `CountNote`s of one key as one, where the first stood, counting what all of them count."""
    said: list[str] = []
    at: dict = {}  # a note's text, or a CountNote's key -> where it stands in `said`
    for note in notes:
        key = note.key if isinstance(note, CountNote) else note
        if key not in at:
            at[key] = len(said)
            said.append(note)
        elif isinstance(note, CountNote):
            first = said[at[key]]
            said[at[key]] = CountNote(key, first.count + note.count, first.words)
    return said


def replace_columns(frame: pd.DataFrame, pieces: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """`frame` with each column named in `pieces` replaced, where it stood, by the columns of its piece."""
    if not pieces:
        return frame
    position = {name: frame.columns.get_loc(name) for name in pieces}
    parts, start = [], 0
    for name in sorted(pieces, key=position.get):
        parts += [frame.iloc[:, start:position[name]], pieces[name]]
        start = position[name] + 1
    parts.append(frame.iloc[:, start:])
    return pd.concat(parts, axis=1)

def is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)

def first_line(mask: pd.Series) -> int:
    return int(mask.index[mask.to_numpy()][0])

def place(index: pd.Index, label) -> str:
    """Where a row is, as its file counts: 'line 5' of a CSV, 'row 4' of a Parquet table (whose frame's index
    is named "row")."""
    return f"{index.name or 'line'} {label}"

def names(noun: str, names: list[str], shown: int = 5) -> str:
    """"column 'a'", "columns 'a', 'b'", or the first few and how many more."""
    listed = ", ".join(map(repr, names[:shown])) + (f" and {len(names) - shown} more" if len(names) > shown else "")
    return f"{noun if len(names) == 1 else noun + 's'} {listed}"


class EachChunk:
    """The chunk transform of a step whose output rows depend only on their own input row."""

    def __init__(self, step, state: dict, ctx: Context):
        self.step, self.state, self.ctx = step, state, ctx

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.step.transform(frame, self.state, self.ctx)

    def finish(self) -> None:
        pass


def fit_first(step, chunks, ctx: Context) -> dict:
    """`fit` on the first chunk alone, for a step that learns only which columns there are."""
    return step.fit(next(iter(chunks)), ctx)
