"""The `normalize` step: scale numeric feature columns with statistics of the training rows."""

import zlib

import numpy as np
import pandas as pd

from nntrain.data.step import EachChunk, is_numeric
from nntrain.data.summaries import Moments, Reservoir
from nntrain.errors import DataError


class Normalize:
    """Scale numeric feature columns with training statistics; constant columns map to 0.

    zscore: (x − mean)/std;  minmax: into `range` (default 0..1);  robust: (x − median)/IQR.
    A column with no spread in the training rows (scale 0) is shifted, not scaled, so that its
    training value lands on 0, or for minmax on the end of `range` nearest 0 if 0 is outside it.
    """

    def __init__(self, method: str = "zscore", columns: list[str] | None = None,
                 range: tuple[float, float] = (0.0, 1.0)):
        self.method = method
        self.columns = columns
        self.range = tuple(range)

    def fit(self, frame, ctx):
        columns = self._columns(frame, ctx)
        return self._state(columns, [self._statistics(ctx.learn(frame, name).astype("float64")) for name in columns])

    def fit_chunks(self, chunks, ctx):
        columns = None
        for frame in chunks:
            if columns is None:
                columns = {name: (Moments(), Reservoir(np.random.default_rng(zlib.crc32(str(name).encode()))))
                           for name in self._columns(frame, ctx)}
            for name, (moments, sample) in columns.items():
                values = ctx.learn(frame, name).to_numpy(dtype=np.float64, na_value=np.nan)
                (sample if self.method == "robust" else moments).add(values)
        return self._state(list(columns), [self._streamed_statistics(*seen) for seen in columns.values()])

    def chunk_transform(self, state, ctx):
        return EachChunk(self, state, ctx)

    def _columns(self, frame, ctx) -> list[str]:
        features = ctx.features(frame)
        columns = ctx.named(self.columns) if self.columns is not None else \
            [c for c in features if is_numeric(frame[c]) and c not in ctx.tokens]
        missing = [c for c in columns if c not in features]
        if missing:
            raise DataError(f"normalize: no feature column {', '.join(map(repr, missing))}")
        text = [c for c in columns if not is_numeric(frame[c])]
        if text:
            raise DataError(f"normalize: column {text[0]!r} is not numeric; add a clean step first, or encode it")
        return columns

    def _state(self, columns: list[str], statistics: list[tuple[float, float]]) -> dict:
        center, scale = zip(*statistics) if columns else ((), ())
        offset = self.range[0] if self.method == "minmax" else 0.0
        constant = min(max(0.0, self.range[0]), self.range[1]) if self.method == "minmax" else 0.0
        # without spread, (x − center)/1 + offset must give `constant` for the training value (center)
        return {"columns": columns,
                "center": [float(c) if s > 0 else float(c) + offset - constant for c, s in zip(center, scale)],
                "scale": [float(s) if s > 0 else 1.0 for s in scale], "offset": offset}

    def fates(self, state) -> dict[str, dict]:
        return {}

    def _statistics(self, values: pd.Series) -> tuple[float, float]:
        """(center, scale) of one column, one column at a time to keep memory small."""
        if self.method == "zscore":
            return values.mean(), values.std(ddof=0)
        if self.method == "robust":
            return values.median(), values.quantile(0.75) - values.quantile(0.25)
        low, high = self.range
        return values.min(), (values.max() - values.min()) / (high - low)

    def _streamed_statistics(self, moments: Moments, sample: Reservoir) -> tuple[float, float]:
        """(center, scale) as `_statistics` gives them, from exact moments or (robust) a seeded sample."""
        if self.method == "zscore":
            return moments.mean, moments.std
        if self.method == "robust":
            return sample.quantile(0.5), sample.quantile(0.75) - sample.quantile(0.25)
        low, high = self.range
        return moments.min, (moments.max - moments.min) / (high - low)

    def transform(self, frame, state, ctx):
        columns = [c for c in state["columns"] if c in frame]
        if not columns:
            return frame
        frame = frame.copy(deep=False)  # new columns replace old ones; the input frame is untouched
        center = dict(zip(state["columns"], state["center"]))
        scale = dict(zip(state["columns"], state["scale"]))
        for name in columns:  # column by column, in float64 and in place, keeping float32 columns float32
            kind = frame[name].dtype if pd.api.types.is_float_dtype(frame[name]) else np.float64
            values = frame[name].to_numpy(dtype="float64", copy=True)
            values -= center[name]
            values /= scale[name]
            values += state["offset"]
            frame[name] = values.astype(kind, copy=False)
        return frame
