"""TensorBoard tracking: every epoch's scalars (step = epoch) and the test metrics as event files in
`<run dir>/tensorboard/`, so `tensorboard --logdir runs/` shows every run, one per directory.

Written with the `tensorboard` package's own event writer, needing neither TensorFlow nor torch;
a resumed session adds an event file beside the first, which TensorBoard reads as one run.
"""

import time
from pathlib import Path

from nntrain.extras import require

FOLDER = "tensorboard"


class TensorBoardTracker:
    def __init__(self, spec: bool, run_dir: Path):
        self.dir = run_dir / FOLDER
        self.writer = None

    @staticmethod
    def require():
        return require("tensorboard.summary.writer.event_file_writer", extra="tensorboard",
                       needed_by="output.tracking.tensorboard", package="TensorBoard")

    @property
    def where(self) -> str:
        return f"TensorBoard events in {self.dir}"

    def describe(self) -> dict:
        return {"dir": str(self.dir)}

    def start(self, config: dict, resuming: bool) -> None:
        if not resuming:  # an earlier run's curves in this directory would be drawn as this run's
            for old in self.dir.glob("events.out.tfevents.*"):
                old.unlink()
        self.writer = self.require().EventFileWriter(str(self.dir))

    def epoch(self, record: dict) -> None:
        self._write({key: value for key, value in record.items() if key != "epoch"}, record["epoch"])

    def end(self, status: str, summary: dict) -> None:
        if "test" in summary:
            self._write({f"test_{name}": value for name, value in summary["test"].items()}, summary["epochs_run"])
        self.writer.close()

    def _write(self, values: dict, step: int) -> None:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary

        scalars = [Summary.Value(tag=key, simple_value=float(value)) for key, value in values.items()
                   if isinstance(value, (int, float)) and not isinstance(value, bool)]
        self.writer.add_event(Event(wall_time=time.time(), step=step, summary=Summary(value=scalars)))
        self.writer.flush()  # TensorBoard shows the epoch now, not when the writer's queue fills
