"""The run directory's record of training: metrics logs and the best and last checkpoints.

  metrics.jsonl   one JSON object per epoch
  metrics.csv     the same rows as CSV, for pandas and spreadsheets
  best.npz        weights of the best epoch by the monitored metric
  last.npz        everything needed to resume: weights, optimizer, counters, generator states
  epoch-NNNN.npz  earlier `last` checkpoints, when asked to keep some
"""

import csv
import json
import os
import shutil
from datetime import datetime
from pathlib import Path

from nntrain.train.checkpoint import remove_stale_temporaries, save_checkpoint
from nntrain.train.saved import model_arrays, optimizer_arrays

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
            shutil.copyfile(self.last_path, copy)
        for old in kept_checkpoints(self.dir)[self.keep:]:
            old.unlink(missing_ok=True)

    def _append_log(self, record: dict) -> None:
        with open(self.dir / "metrics.jsonl", "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        csv_path = self.dir / "metrics.csv"
        new = not csv_path.exists()
        with open(csv_path, "a", encoding="utf-8", newline="") as table:
            writer = csv.DictWriter(table, fieldnames=list(record), extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(record)

    def truncate_logs(self, epochs: int) -> None:
        """Keep only the first `epochs` rows of the logs (used when resuming from `last`)."""
        path = self.dir / "metrics.jsonl"
        rows = [row for row in read_log(path) if row.get("epoch", 0) <= epochs]
        path.unlink(missing_ok=True)
        (self.dir / "metrics.csv").unlink(missing_ok=True)
        for row in rows:
            self._append_log(row)


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
