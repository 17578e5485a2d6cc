"""The data pipeline: its steps in order, each fitted on the training rows and replayed on any later table.

A step has `fit(frame, ctx) -> state` and `transform(frame, state, ctx) -> frame`.
`fit` learns only from the training rows, which it reads column by column with
`ctx.learn(frame, name)` (so the training rows are never copied as a whole).
State is plain data (numbers, strings, lists) so it is saved in the checkpoint as
JSON and `eval` and `predict` transform new rows exactly as training rows were.
Steps see feature columns and the target columns (named in `ctx.target`) and
never change the target (`Pipeline.clean_targets`, applied before the steps,
lets clean's markers mark target cells missing). Rows are only ever removed while training
(`ctx.training`): at predict time every input row gets an output row. Frames
are indexed by line number, so notes can say where a value was found.
"""

import pandas as pd

from nntrain.data.clean import DEFAULT_MARKERS, Clean
from nntrain.data.dates import Dates
from nntrain.data.dedupe import Dedupe
from nntrain.data.drop import Drop
from nntrain.data.encode import Encode
from nntrain.data.normalize import Normalize
from nntrain.data.step import Context, is_numeric, names
from nntrain.data.text import Text
from nntrain.errors import DataError

STEPS = {
    "clean": Clean,
    "dedupe": Dedupe,
    "encode": Encode,
    "normalize": Normalize,
    "drop": Drop,
    "dates": Dates,
    "text": Text,
}

class Pipeline:
    """The configured steps, in order."""

    def __init__(self, specs: list[dict]):
        self.specs = specs
        self.steps = []
        for spec in specs:
            options = {k: v for k, v in spec.items() if k != "type"}
            self.steps.append(STEPS[spec["type"]](**options))

    def fit_transform(self, frame: pd.DataFrame, is_train: pd.Series, ctx: Context):
        """Fit each step on the training rows of `frame`, transforming all of it as it goes."""
        states, drops = [], []
        for spec, step in zip(self.specs, self.steps):
            mask = is_train.reindex(frame.index).to_numpy()
            ctx.rows = None if mask.all() else mask
            state = step.fit(frame, ctx)
            ctx.rows = None
            before = len(frame)
            frame = step.transform(frame, state, ctx)
            states.append(state)
            drops.append((spec["type"], before - len(frame)))
        if not ctx.features(frame):
            empty = f" ({names('column', sorted(ctx.emptied))} had no value in the training rows)" if ctx.emptied \
                else ""
            raise DataError(f"data.pipeline leaves no feature column: its steps removed every one{empty}; "
                            "a model needs at least one feature")
        return frame, states, drops

    def transform(self, frame: pd.DataFrame, states: list[dict], ctx: Context) -> pd.DataFrame:
        for step, state in zip(self.steps, states):
            frame = step.transform(frame, state, ctx)
        return frame

    def fates(self, states: list[dict]) -> dict[str, dict]:
        """What the fitted steps did to the columns they removed or replaced: {"fate": "dropped"} (a drop
        step), {"fate": "empty"} (clean: no value in the training rows), {"fate": "encoded",
        "encoded_into": n} or {"fate": "tokenized", ...} (a text step). The last step to touch a column decides (an ordinal code can be dropped)."""
        fates = {}
        for step, state in zip(self.steps, states):
            fates.update(step.fates(state))
        return fates

    @property
    def cleans(self) -> bool:
        """Whether a clean step turns unparsable text into missing values."""
        return any(isinstance(step, Clean) for step in self.steps)

    def named_drops(self) -> set[str]:
        """Columns the drop steps name: known before fitting, and never features."""
        return {name for step in self.steps if isinstance(step, Drop) for name in step.columns}

    def removed_columns(self, states: list[dict]) -> set[str]:
        """Columns the fitted steps removed (drop steps, empty columns): not needed in files given to predict."""
        return {name for name, fate in self.fates(states).items() if fate["fate"] in ("dropped", "empty")}

    def markers(self, default: list[str] = DEFAULT_MARKERS) -> list[str]:
        """The missing-value markers of the clean steps (`default` when there is none)."""
        found = [marker for step in self.steps if isinstance(step, Clean) for marker in step.markers]
        return list(dict.fromkeys(found)) if found else list(default)

    def clean_targets(self, frame: pd.DataFrame, targets: list[str]) -> pd.DataFrame:
        """Target cells that are a clean step's markers become missing, so their rows count as having no
        target; a column that is then all numbers becomes numeric. Without a clean step, nothing changes."""
        markers = self.markers(default=[])
        for name in targets:
            marked = frame[name].isin(markers)
            if is_numeric(frame[name]) or not marked.any():
                continue
            column = frame[name].mask(marked)
            numbers = pd.to_numeric(column, errors="coerce")
            frame = frame.copy(deep=False)  # the caller's frame keeps its column
            frame[name] = numbers if numbers.notna().sum() == column.notna().sum() else column
        return frame
