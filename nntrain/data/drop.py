"""The `drop` step: remove columns, such as identifiers and free text, from the features."""

from nntrain.data.step import EachChunk, fit_first
from nntrain.errors import DataError


class Drop:
    """Remove columns (identifiers, free text) from the features."""

    def __init__(self, columns: list[str]):
        self.columns = columns

    def fit(self, frame, ctx):
        columns = ctx.named(self.columns)
        missing = [c for c in columns if c not in frame]
        if missing:
            raise DataError(f"drop: no column {', '.join(map(repr, missing))}; the columns are "
                            f"{', '.join(map(str, frame.columns))}")
        return {"columns": columns}

    def fit_chunks(self, chunks, ctx):
        return fit_first(self, chunks, ctx)

    def chunk_transform(self, state, ctx):
        return EachChunk(self, state, ctx)

    def fates(self, state) -> dict[str, dict]:
        return {name: {"fate": "dropped"} for name in state["columns"]}

    def transform(self, frame, state, ctx):
        return frame.drop(columns=[c for c in state["columns"] if c in frame and c not in ctx.target])
