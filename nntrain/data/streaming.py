"""Prepare a table too big to hold in memory: streaming passes fit what `tabular.prepare_training` fits, then a
last pass writes each split's float32 features and targets as `.npy` files (see `prepared_dir`).

Every pass reads the table once, chunk by chunk (`chunks.ChunkedTable`):
  1. the column types, and in the same pass which rows are used (empty rows and rows without a target
     are left out, with the same notes), the task, the target's classes, and the rows of each class per
     block of the split (`split.SplitPlan`: every later pass draws each used row's split from it, exactly
     as the in-memory split does, and no code is kept per row); the rows are chosen again in a pass of
     their own only if a column's type changed between chunks (`ChunkedTable.scanned`);
  2. one pass per pipeline step that learns from the rows (clean, encode, normalize; dedupe with
     `conflicts: drop_all`), over the training rows as the earlier steps leave them;
  3. rows per split, the feature names and a regression target's moments;
  4. the prepared rows, into the arrays, and their row hashes, for the leak check (`row_hashes.shared_rows`).
The state is the same JSON as the in-memory fit's: exact statistics equal to float rounding, medians and
quartiles from a seeded sample (`summaries.Reservoir`).
"""

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from nntrain.data import csv_bytes
from nntrain.data.chunks import ChunkedTable
from nntrain.data.parquet import is_parquet, parquet_shape
from nntrain.data.pipeline import Pipeline
from nntrain.data.report import SPLIT_PAIRS, leak_note
from nntrain.data.row_hashes import row_hashes, shared_rows
from nntrain.data.split import (SPLIT_BLOCK, SPLIT_NAMES, TEST, TRAIN, BlockCounts, SplitPlan, SplitStream,
                                rows_per_block)
from nntrain.data.step import Context, add_up, is_numeric, names, place
from nntrain.data.summaries import Moments
from nntrain.data.tables import empty_rows, unsupported_compression
from nntrain.data.tabular import check_columns, no_labelled_rows, refuse_unrepresentable, to_matrix
from nntrain.data.targets import MAX_INFERRED_CLASSES, encode_target, fit_target, infer_task, label_strings
from nntrain.errors import DataError
from nntrain.words import counted

MAX_CLASSES = 100_000  # distinct target labels tracked while the task is not yet known


@dataclasses.dataclass
class Prepared:
    """What the passes found: the state to save, the arrays' row counts, notes and the report."""
    state: dict
    rows: dict[str, int]
    notes: list[str]
    report: dict


def prepare_streaming(source: str, out: Path, *, target: str | list[str], features: list[str] | None, task: str,
                      loss: str | None, validation: float, test: float, stratify: bool, pipeline: list[dict],
                      target_transform: str, rng: np.random.Generator, dtype,
                      progress: Callable[[str], None] = lambda message: None) -> Prepared:
    """Prepare `source` (CSV, `.csv.gz` or Parquet) into the folder `out`: `{split}-x.npy`, `{split}-y.npy` and
    `test.csv` (the raw rows of the test split, for `nntrain eval RUN`)."""
    targets = [target] if isinstance(target, str) else list(target)
    steps = Pipeline(pipeline)
    progress(f"prepare: pass 1, reading the column types of {source}, choosing the rows and the split")
    first = _FirstPass(source, features, targets, steps, dtype)
    table = ChunkedTable(source, key="data.train", narrow=np.dtype(dtype) == np.float32, keep=tuple(targets),
                         scan=first)
    passes = 1
    if not first.complete(table):  # a column's type changed between chunks: choose the rows again, read alike
        passes += 1
        progress(f"prepare: pass {passes}, choosing the rows and the split ({counted(table.count, 'row')})")
        first = _FirstPass(source, features, targets, steps, dtype)
        for chunk in table:
            first(chunk)
    select, seen, features = first.select, first.seen, first.select.features
    notes = select.notes(table.count)
    task, task_note = infer_task(seen.distinct, targets, task, loss)  # reads each target column alone
    notes += [task_note] if task_note else []
    transform = "zscore" if target_transform == "auto" else target_transform
    target_state = None
    if task != "regression":
        target_state = fit_target(pd.DataFrame(seen.values()), targets, task, transform)
    stratified = task == "classification" and stratify
    counts = seen.block_counts(target_state["classes"]) if stratified else rows_per_block(seen.rows)
    one_block = seen.one_block(target_state["classes"]) if stratified else \
        np.zeros(seen.rows, dtype=np.int64) if seen.rows <= SPLIT_BLOCK else None
    classes = target_state["classes"] if stratified else None
    splits = _Split(SplitPlan(counts, validation, test, rng, one_block), targets[0], classes)
    del seen

    ctx = Context(target=targets, training=True)
    states: list[dict] = []
    for index, step in enumerate(steps.steps):
        passes += 1
        progress(f"prepare: pass {passes}, fitting {steps.specs[index]['type']} on the training rows")
        scratch = dataclasses.replace(ctx, notes=[])  # transform notes while fitting are said by the last pass
        chunks = _prepared_chunks(table, select, splits, steps.steps[:index], states, scratch, fit_ctx=ctx)
        states.append(step.fit_chunks((frame for _, frame, _ in chunks), ctx))
    ctx.rows = None
    progress(f"prepare: pass {passes + 1}, counting the prepared rows")
    scratch = dataclasses.replace(ctx, notes=[])
    measure = _Measure(targets, task, transform)
    for _, frame, split in _prepared_chunks(table, select, splits, steps.steps, states, scratch):
        measure.add(frame, split)
    if not measure.features:
        empty = f" ({names('column', sorted(ctx.emptied))} had no value in the training rows)" if ctx.emptied else ""
        raise DataError(f"data.pipeline leaves no feature column: its steps removed every one{empty}; "
                        "a model needs at least one feature")
    usable = sum(measure.rows.values())
    for name, fraction in (("train", 1), ("validation", validation), ("test", test)):
        if fraction and measure.rows[name] == 0:
            raise DataError(f"{source}: the {name} split is empty ({counted(usable, 'usable row')}); "
                            f"add rows or set data.split.{name}: 0")
    if task == "regression":
        target_state = measure.regression_state()

    progress(f"prepare: pass {passes + 2}, writing {counted(usable, 'prepared row')}")
    writer = _Writer(out, measure.rows, len(measure.features), target_state, dtype)
    drops = [0] * len(steps.steps)
    for raw, frame, split in _prepared_chunks(table, select, splits, steps.steps, states, ctx, drops=drops):
        writer.add(raw, frame, split, measure.features, source)
    writer.close()
    notes += add_up(ctx.notes)  # the notes of every chunk, as one read of the table gives them
    inputs = [c for c in features if c not in steps.removed_columns(states)]
    state = {"input_columns": inputs,
             "numeric_inputs": [c for c in inputs if is_numeric(pd.Series(dtype=table.dtypes[c]))],
             "float32_inputs": [c for c in inputs if table.dtypes[c] == np.float32],
             "target": target_state, "pipeline": {"steps": pipeline, "states": states}, "features": measure.features}
    leaks = leak_counts(out, measure.rows)
    notes += [note] if (note := leak_note(leaks)) else []
    report = {"sources": {"train": source}, "rows_read": {"train": table.count}, "empty_rows": {"train": select.empty},
              "rows_used": measure.rows, "dropped_by_step": [(spec["type"], n) for spec, n in zip(pipeline, drops)],
              "leaks": leaks, "task": task, "features": measure.features, "columns": []}
    if task == "classification":
        report["class_balance"] = {name: dict(zip(target_state["classes"], counts.tolist()))
                                   for name, counts in writer.class_counts(len(target_state["classes"])).items()}
    return Prepared(state, measure.rows, list(dict.fromkeys(notes)), report)


class _FirstPass:
    """What the first pass learns of each chunk: the used rows (`_Selection`, with its notes) and their targets
    (`_TargetScan`), once the header's columns are checked."""

    def __init__(self, source: str, features: list[str] | None, targets: list[str], steps: Pipeline, dtype):
        self.source, self.features, self.targets, self.steps, self.dtype = source, features, targets, steps, dtype
        self.select: _Selection | None = None
        self.seen = _TargetScan(targets)

    def __call__(self, chunk: pd.DataFrame) -> None:
        if self.select is None:
            self._start(list(chunk.columns))
        self.seen.add(self.select(chunk))

    def complete(self, table: ChunkedTable) -> bool:
        """Whether every chunk was seen as the later passes read it."""
        if self.select is None:
            self._start(table.columns)
        return table.scanned

    def _start(self, columns: list[str]) -> None:
        header = pd.DataFrame(columns=columns)
        check_columns(header, self.targets, self.source, "target")
        if self.features is not None:
            check_columns(header, self.features, self.source, "feature")
        features = self.features if self.features is not None else [c for c in columns if c not in self.targets]
        if not features:
            raise DataError(f"{self.source}: no feature columns left besides the target {self.targets}")
        self.select = _Selection(self.source, features, self.targets, self.steps, self.dtype)


class _Selection:
    """The used rows of each chunk, as `prepare_training` selects them: the feature and target columns, empty
    rows and rows without a target left out (counted, for the same notes), values beyond float32 refused."""

    def __init__(self, source: str, features: list[str], targets: list[str], steps: Pipeline, dtype):
        self.source, self.features, self.targets, self.steps, self.dtype = source, features, targets, steps, dtype
        self.read = [c for c in features if c not in steps.named_drops()]
        self.empty = self.no_target = 0
        self.first_empty = self.first_no_target = None
        self.counting = True

    def __call__(self, chunk: pd.DataFrame) -> pd.DataFrame:
        empty = empty_rows(chunk)
        if self.counting and empty.any():
            self.first_empty = self.first_empty or place(chunk.index, chunk.index[empty][0])
            self.empty += int(empty.sum())
        chunk = self.steps.clean_targets(chunk[~empty][self.features + self.targets], self.targets)
        missing = chunk[self.targets].isna().any(axis=1).to_numpy()
        if self.counting and missing.any():
            self.first_no_target = self.first_no_target or place(chunk.index, chunk.index[missing][0])
            self.no_target += int(missing.sum())
        chunk = chunk[~missing]
        if self.counting:
            refuse_unrepresentable(chunk, self.read, self.source, self.dtype)
        return chunk

    def notes(self, rows: int) -> list[str]:
        """The notes of the first pass, which counted; later passes only select."""
        self.counting = False
        if self.empty == rows:
            raise DataError(f"{self.source}: every data row is empty ({counted(rows, 'row')}); fill in the file")
        if self.no_target == rows - self.empty:
            raise no_labelled_rows(self.targets, self.source, self.no_target, "set data.target to another column")
        notes = []
        if self.empty:
            notes.append(f"{self.source}: dropped {counted(self.empty, 'empty row')} (first on {self.first_empty})")
        if self.no_target:
            notes.append(f"{self.source}: dropped {counted(self.no_target, 'row')} with a missing target "
                         f"(first on {self.first_no_target})")
        return notes


class _TargetScan:
    """What the first pass learns of the targets: a few distinct values of each (enough to infer the task),
    every distinct value of the first (the classes), and each used row's label as a code."""

    def __init__(self, targets: list[str]):
        self.targets = targets
        self.distinct: dict[str, pd.Series] = {}
        self.labels: dict[str, int] = {}
        self.raw: list[pd.Series] = []
        self.blocks = BlockCounts()  # rows per label per block of the split, not a code per row
        self.rows = 0

    def add(self, chunk: pd.DataFrame) -> None:
        self.rows += len(chunk)
        for name in self.targets:
            self.distinct[name] = _few_distinct(self.distinct.get(name), chunk[name])
        if len(self.labels) > MAX_CLASSES:
            return
        column = chunk[self.targets[0]]
        self.raw.append(column.drop_duplicates())
        labels = label_strings(column)
        codes, uniques = pd.factorize(labels)
        for label in uniques:
            self.labels.setdefault(label, len(self.labels))
        known = np.array([self.labels[label] for label in uniques], dtype=np.int64)  # a loop over labels, not rows
        self.blocks.add(known[codes])
        if len(self.raw) > 64:
            self.raw = [pd.concat(self.raw).drop_duplicates()]

    def values(self) -> dict[str, pd.Series]:
        """Every distinct value of the first target: all `fit_target` reads to find the classes."""
        if len(self.labels) > MAX_CLASSES:
            raise DataError(f"target {self.targets[0]!r} has more than {MAX_CLASSES} distinct values, too many to "
                            "classify; set task: regression")
        return {self.targets[0]: pd.concat(self.raw).drop_duplicates().reset_index(drop=True)}

    def block_counts(self, classes: list[str]) -> np.ndarray:
        """Rows of each class (in the order of `classes`) in each block of the split."""
        return self.blocks.matrix(self._relabel(classes), len(classes))

    def one_block(self, classes: list[str]) -> np.ndarray | None:
        """Each used row's class (its index in `classes`) when the rows fit in one block of the split."""
        return self.blocks.one_block(self._relabel(classes))

    def _relabel(self, classes: list[str]) -> np.ndarray:
        return pd.Index(classes).get_indexer(list(self.labels))


class _Split:
    """The split codes of each chunk's used rows: their classes (when stratified) through a `SplitStream`."""

    def __init__(self, plan: SplitPlan, target: str, classes: list[str] | None):
        self.plan, self.target = plan, target
        self.classes = None if classes is None else pd.Index(classes)

    def stream(self) -> Callable[[pd.DataFrame], np.ndarray]:
        """A fresh pass's codes, chunk after chunk."""
        stream = SplitStream(self.plan)
        if self.classes is None:
            return lambda raw: stream.codes(np.zeros(len(raw), dtype=np.int64))
        return lambda raw: stream.codes(self.classes.get_indexer(label_strings(raw[self.target])))


def _few_distinct(kept: pd.Series | None, column: pd.Series) -> pd.Series:
    """Up to MAX_INFERRED_CLASSES + 1 distinct present values, and one that is not whole if any: all that
    `infer_task` needs to decide as it would on the whole column."""
    values = column.dropna() if kept is None else pd.concat([kept, column.dropna()])
    values = values.drop_duplicates()
    if len(values) > MAX_INFERRED_CLASSES + 1:
        fractional = values.iloc[:0]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            fractional = values[np.mod(values.to_numpy(), 1) != 0].iloc[:1]
        values = pd.concat([values.iloc[:MAX_INFERRED_CLASSES + 1], fractional]).drop_duplicates()
    return values.reset_index(drop=True)


def _prepared_chunks(table: ChunkedTable, select: _Selection, split: _Split, steps: list, states: list[dict],
                     ctx: Context, fit_ctx: Context | None = None,
                     drops: list[int] | None = None) -> Iterator[tuple[pd.DataFrame, pd.DataFrame, np.ndarray]]:
    """(used rows, the rows as the fitted `steps` leave them, their split codes) chunk by chunk. While a step is
    fitted (`fit_ctx`), its `rows` mark each chunk's training rows."""
    transforms = [step.chunk_transform(state, ctx) for step, state in zip(steps, states)]
    codes = split.stream()
    for chunk in table:
        raw = select(chunk)
        split_codes = pd.Series(codes(raw), index=raw.index)
        frame = raw
        for index, transform in enumerate(transforms):
            before = len(frame)
            frame = transform(frame)
            if drops is not None:
                drops[index] += before - len(frame)
        split_codes = split_codes.reindex(frame.index).to_numpy()
        if fit_ctx is not None:
            fit_ctx.rows = split_codes == TRAIN
        yield raw, frame, split_codes
    for transform in transforms:
        transform.finish()


class _Measure:
    """Rows per split and the feature names of the prepared rows; a regression target's moments."""

    def __init__(self, targets: list[str], task: str, transform: str):
        self.targets, self.task, self.transform = targets, task, transform
        self.rows = dict.fromkeys(SPLIT_NAMES, 0)
        self.features: list[str] | None = None
        self.moments = [Moments() for _ in targets]

    def add(self, frame: pd.DataFrame, split: np.ndarray) -> None:
        if self.features is None:
            self.features = [c for c in frame.columns if c not in self.targets]
        for code, name in enumerate(SPLIT_NAMES):
            self.rows[name] += int((split == code).sum())
        train = frame.loc[split == TRAIN, self.targets]
        if self.task == "regression" and len(train):
            fit_target(train, self.targets, "regression", self.transform)  # for its refusals: text, log of x <= 0
            values = train.to_numpy(dtype=np.float64)
            values = np.log(values) if self.transform == "log" else values
            for moments, column in zip(self.moments, values.T):
                moments.add(column)

    def regression_state(self) -> dict:
        """`fit_target`'s regression state, from the training rows' moments."""
        plain = self.transform == "none"
        center = [0.0 if plain else m.mean for m in self.moments]
        scale = [1.0 if plain or not m.std > 0 else m.std for m in self.moments]
        return {"task": "regression", "columns": self.targets, "transform": self.transform,
                "center": center, "scale": scale}


HASHES = ".hashes"  # the suffix of the files of the prepared rows' hashes, for the leak check


class _Writer:
    """The prepared rows of each split appended to `{split}-x.npy` and `{split}-y.npy` (a `.npy` header for the
    known shape, then the rows as they come: written, not memory-mapped, so the pages written do not count
    as the process's memory), their row hashes to `{split}.hashes` (for `leak_counts`), and the raw rows of
    the test split to `test.csv`."""

    def __init__(self, out: Path, rows: dict[str, int], width: int, target: dict, dtype):
        self.target, self.dtype = target, dtype
        one_column = target["task"] == "classification"
        y_dtype, y_width = (np.int64, ()) if one_column else (np.dtype(dtype), (len(target["columns"]),))
        self.x = {name: NpyAppender(out / f"{name}-x.npy", dtype, (rows[name], width)) for name in SPLIT_NAMES}
        self.y = {name: NpyAppender(out / f"{name}-y.npy", y_dtype, (rows[name], *y_width)) for name in SPLIT_NAMES}
        self.hashes = {name: open(out / f"{name}{HASHES}", "wb") for name in SPLIT_NAMES}
        self.counts: dict[str, np.ndarray] = {}
        self.test = open(out / "test.csv", "w", encoding="utf-8", newline="")
        self.header = True

    def add(self, raw: pd.DataFrame, frame: pd.DataFrame, split: np.ndarray, features: list[str], source: str):
        if not len(frame):
            return
        y = encode_target(frame, self.target, self.dtype, source)
        for code, name in enumerate(SPLIT_NAMES):
            rows = split == code
            if rows.any():
                x = to_matrix(frame, features, source, self.dtype, rows=rows)[0]
                self.x[name].append(x)
                self.y[name].append(y[rows])
                self.hashes[name].write(row_hashes(pd.DataFrame(x, copy=False)).tobytes())
        test = raw.loc[frame.index[split == TEST]]
        if len(test):
            test.to_csv(self.test, header=self.header, index=False)
            self.header = False

    def close(self) -> None:
        for appender in [*self.x.values(), *self.y.values(), *self.hashes.values()]:
            appender.close()
        self.test.close()

    def class_counts(self, classes: int) -> dict[str, np.ndarray]:
        return {name: sum((np.bincount(block, minlength=classes) for block in npy_blocks(appender.path)),
                          np.zeros(classes, dtype=np.int64)) for name, appender in self.y.items()}


class NpyAppender:
    """A `.npy` file of a known shape, filled by appending rows in order."""

    def __init__(self, path: Path, dtype, shape: tuple[int, ...]):
        self.path, self.shape, self.rows = path, shape, 0
        self.handle = open(path, "wb")
        np.lib.format.write_array_header_1_0(self.handle, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                                           "fortran_order": False, "shape": shape})
        self.dtype = np.dtype(dtype)

    def append(self, values: np.ndarray) -> None:
        self.handle.write(np.ascontiguousarray(values, dtype=self.dtype).tobytes())
        self.rows += len(values)

    def close(self) -> None:
        self.handle.close()
        if self.rows != self.shape[0]:  # the counting pass and the writing pass saw different rows: a bug
            raise AssertionError(f"{self.path}: wrote {self.rows} rows, expected {self.shape[0]}")


def npy_blocks(path: Path, rows: int = 100_000) -> Iterator[np.ndarray]:
    """The rows of a `.npy` file, `rows` at a time, read (not memory-mapped)."""
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)  # written by NpyAppender: 1.0, as np.save writes small headers
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(handle)
        per_row = int(np.prod(shape[1:], dtype=np.int64))
        for start in range(0, shape[0], rows):
            count = min(rows, shape[0] - start)
            yield np.fromfile(handle, dtype=dtype, count=count * per_row).reshape(count, *shape[1:])


def leak_counts(folder: Path, rows: dict[str, int]) -> dict[str, int]:
    """`report.leak_counts` of the prepared arrays in `folder`, from the row hashes `_Writer` left beside them
    (which it removes)."""
    files = {name: folder / f"{name}{HASHES}" for name in SPLIT_NAMES}
    try:
        return shared_rows(files, [(first, second) for first, second in SPLIT_PAIRS if rows[first] and rows[second]])
    finally:
        for path in files.values():
            path.unlink(missing_ok=True)


ESTIMATE_ROWS = 1000
COMPRESSION = 5  # how many times a compressed CSV is smaller than the text, for the estimate


def estimated_float32_bytes(source: str) -> int:
    """About how many bytes the table takes as float32 columns: rows × columns × 4. A Parquet table says its rows;
    a CSV's are its size over the bytes a row of its first rows takes (a compressed one counted 5× its size)."""
    if is_parquet(source):
        rows, width = parquet_shape(source)
        return rows * width * 4
    path = Path(source)
    if not path.is_file() or unsupported_compression(path):
        return 0  # the read refuses it (`tables.check_table_path`)
    try:
        sample = pd.read_csv(path, nrows=ESTIMATE_ROWS, dtype=str, keep_default_na=False)
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return 0  # the read reports the problem
    if not len(sample):
        return 0
    row_bytes = max(1.0, (sample.apply(lambda column: column.str.len()).to_numpy().sum() + sample.size) / len(sample))
    size = path.stat().st_size * (COMPRESSION if csv_bytes.must_be_read(path) else 1)
    return int(size / row_bytes * sample.shape[1] * 4)
