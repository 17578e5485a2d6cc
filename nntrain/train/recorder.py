"""The run directory's record of training, saved and restored side by side.

  metrics.jsonl   one JSON object per epoch
  metrics.csv     the same rows as CSV, for pandas and spreadsheets
  best.npz        weights of the best epoch by the monitored metric
  last.npz        everything needed to resume: weights, optimizer, counters, generator states
  epoch-NNNN.npz  earlier `last` checkpoints, when asked to keep some

Every write is atomic or cut back on failure, and a failed write (a full disk) is a
CheckpointError naming the file: what was written before stays intact.
"""

import csv
import io
import json
import os
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from nntrain.errors import CheckpointError
from nntrain.train.checkpoint import load_checkpoint, save_checkpoint
from nntrain.files import append_text, remove_stale_temporaries, write_atomic, write_bytes_atomic
from nntrain.train.saved import (load_arrays, load_model_checkpoint, load_optimizer, model_arrays, optimizer_arrays,
                                 split_flat)


class RunRecorder:
    def __init__(self, run_dir: Path, meta: dict, every: int = 1, keep: int = 0):
        self.dir = Path(run_dir)
        self.meta = meta
        self.every, self.keep = every, keep
        remove_stale_temporaries(self.dir)

    @property
    def best_path(self) -> Path:
        return self.dir / "best.npz"

    @property
    def last_path(self) -> Path:
        return self.dir / "last.npz"

    def epoch_end(self, trainer, record: dict, improved: bool, final: bool = False) -> None:
        self._append_log({**record, "time": now_iso()})
        if improved:
            save_checkpoint(self.best_path, {**self.meta, "kind": "best", "epoch": record["epoch"],
                                             "metrics": record}, model_arrays(trainer.model))
        if final or record["epoch"] % self.every == 0:
            self.save_last(trainer, record)
            if self.keep:
                self._keep_copy(record["epoch"])

    def interrupted(self, trainer) -> None:
        self.save_last(trainer, None)

    def save_last(self, trainer, record: dict | None) -> None:
        arrays = model_arrays(trainer.model)
        arrays.update(optimizer_arrays(trainer.model, trainer.optimizer))
        meta = {**self.meta, "kind": "last", "epoch": trainer.epoch, "metrics": record, "training": trainer.state()}
        save_checkpoint(self.last_path, meta, arrays)

    def _keep_copy(self, epoch: int) -> None:
        """Keep this `last` as epoch-NNNN.npz (a hard link: no extra space), and only the newest `keep`."""
        copy = self.dir / f"epoch-{epoch:04d}.npz"
        copy.unlink(missing_ok=True)
        try:
            os.link(self.last_path, copy)
        except OSError:
            guarded(copy, lambda: shutil.copyfile(self.last_path, copy))
        for old in kept_checkpoints(self.dir)[self.keep:]:
            old.unlink(missing_ok=True)

    def _append_log(self, record: dict) -> None:
        jsonl, table = self.dir / "metrics.jsonl", self.dir / "metrics.csv"
        guarded(jsonl, lambda: append_text(jsonl, json.dumps(record) + "\n"))
        guarded(table, lambda: append_text(table, _csv_rows([record], header=not table.exists())))

    def truncate_logs(self, epochs: int) -> None:
        """Keep only the first `epochs` rows of the logs (used when resuming from `last`), replacing each
        log atomically so an interruption leaves the old or the new one, never neither."""
        jsonl = self.dir / "metrics.jsonl"
        rows = [row for row in read_log(jsonl) if row.get("epoch", 0) <= epochs]
        write_file(jsonl, "".join(json.dumps(row) + "\n" for row in rows).encode("utf-8"))
        write_file(self.dir / "metrics.csv", _csv_rows(rows, header=True).encode("utf-8"))

    def restore(self, trainer, path: Path, meta: dict, arrays: dict, truncate_logs: bool = True) -> None:
        """Put a trainer back where the `last` checkpoint at `path` left it: weights, optimizer, loop
        state and the best epoch's weights (from best.npz when there is one); the logs lose the
        epochs after it unless `truncate_logs` is False (ranks of an MPI job other than rank 0)."""
        model = trainer.model
        load_arrays(split_flat(model, model.flat_params), arrays, "params", path)
        load_arrays(model.buffers, arrays, "buffers", path)
        load_optimizer(model, trainer.optimizer, arrays, path)
        best_params, best_buffers = model.flat_params.copy(), {k: v.copy() for k, v in model.buffers.items()}
        if self.best_path.exists():
            _, best = load_checkpoint(self.best_path)
            load_arrays(split_flat(model, best_params), best, "params", self.best_path)
            load_arrays(best_buffers, best, "buffers", self.best_path)
        try:
            trainer.load_state(meta["training"], best_params, best_buffers)
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: its training state is incomplete ({exc})") from None
        if truncate_logs:
            self.truncate_logs(trainer.epoch)


def resumable_checkpoint(run_dir: Path, fall_back: bool, warn: Callable[[str], None]):
    """(path, meta, arrays) of last.npz, or with `fall_back` the newest kept checkpoint that loads."""
    candidates = [run_dir / "last.npz"] + (kept_checkpoints(run_dir) if fall_back else [])
    candidates = [path for path in candidates if path.exists()]
    if not candidates:
        raise CheckpointError(f"--resume: {run_dir} has no last.npz to resume from")
    for index, path in enumerate(candidates):
        try:
            meta, arrays = load_model_checkpoint(path)
            if "training" not in meta:
                raise CheckpointError(f"{path} holds no training state to resume from")
            return path, meta, arrays
        except CheckpointError as exc:
            if index + 1 == len(candidates):
                raise
            warn(f"{exc}; falling back to {candidates[index + 1].name}")
    raise AssertionError("unreachable")


def _csv_rows(records: list[dict], header: bool) -> str:
    """Rows as CSV, with the columns of the first (later rows keep to them, as DictWriter does)."""
    if not records:
        return ""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(records[0]), extrasaction="ignore")
    if header:
        writer.writeheader()
    writer.writerows(records)
    return text.getvalue()


def guarded(path: Path, write: Callable[[], object], error=CheckpointError):
    """Run a write of `path`, turning an OSError (a full disk) into a clear nntrain error naming it."""
    try:
        return write()
    except OSError as exc:
        raise error(f"could not write {path}: {exc.strerror or exc}; what was written before is intact") from None


def write_file(path: Path, data: bytes, error=CheckpointError) -> None:
    """Write a whole run-directory file atomically."""
    guarded(path, lambda: write_bytes_atomic(path, data), error)


def write_file_through(path: Path, write: Callable[[object], None], error=CheckpointError) -> None:
    """Write a run-directory file atomically with what `write(handle)` writes, for contents too large to
    hold as one bytes object."""
    guarded(path, lambda: write_atomic(path, write), error)


def now_iso() -> str:
    """The local time with its UTC offset, to the second, as logs and summaries record it."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def kept_checkpoints(run_dir: Path) -> list[Path]:
    """The epoch-NNNN.npz checkpoints of a run, newest first."""
    return sorted(Path(run_dir).glob("epoch-[0-9]*.npz"), reverse=True)


def read_log(path: Path) -> list[dict]:
    """The rows of a metrics.jsonl, skipping a line torn by a crash mid-write."""
    if not Path(path).exists():
        return []
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows

