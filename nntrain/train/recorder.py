"""The run directory's record of training: metrics logs and the best and last checkpoints.

  metrics.jsonl   one JSON object per epoch
  metrics.csv     the same rows as CSV, for pandas and spreadsheets
  best.npz        weights of the best epoch by the monitored metric
  last.npz        everything needed to resume: weights, optimizer, counters, generator states
"""

import csv
import json
from pathlib import Path

from nntrain.train.checkpoint import remove_stale_temporaries, save_checkpoint
from nntrain.train.saved import model_arrays, optimizer_arrays

class RunRecorder:
    def __init__(self, run_dir: Path, meta: dict):
        self.dir = Path(run_dir)
        self.meta = meta
        remove_stale_temporaries(self.dir)

    @property
    def best_path(self) -> Path:
        return self.dir / "best.npz"

    @property
    def last_path(self) -> Path:
        return self.dir / "last.npz"

    def epoch_end(self, trainer, record: dict, improved: bool) -> None:
        self._append_log(record)
        if improved:
            save_checkpoint(self.best_path, {**self.meta, "kind": "best", "epoch": record["epoch"],
                                             "metrics": record}, model_arrays(trainer.model))
        self.save_last(trainer, record)

    def interrupted(self, trainer) -> None:
        self.save_last(trainer, None)

    def save_last(self, trainer, record: dict | None) -> None:
        arrays = model_arrays(trainer.model)
        arrays.update(optimizer_arrays(trainer.model, trainer.optimizer))
        meta = {**self.meta, "kind": "last", "epoch": trainer.epoch, "metrics": record, "training": trainer.state()}
        save_checkpoint(self.last_path, meta, arrays)

    def _append_log(self, record: dict) -> None:
        with open(self.dir / "metrics.jsonl", "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        csv_path = self.dir / "metrics.csv"
        new = not csv_path.exists()
        with open(csv_path, "a", encoding="utf-8", newline="") as table:
            writer = csv.DictWriter(table, fieldnames=list(record))
            if new:
                writer.writeheader()
            writer.writerow(record)

    def truncate_logs(self, epochs: int) -> None:
        """Keep only the first `epochs` rows of the logs (used when resuming from `last`)."""
        path = self.dir / "metrics.jsonl"
        rows = []
        if path.exists():
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            rows = [row for row in rows if row["epoch"] <= epochs]
        path.unlink(missing_ok=True)
        (self.dir / "metrics.csv").unlink(missing_ok=True)
        for row in rows:
            self._append_log(row)
