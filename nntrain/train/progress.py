"""Progress display, fed by a run through one narrow interface: notes, warnings and training progress.

`Reporter` is silent (the Python API's default, and --quiet); `PlainReporter`
prints one line per epoch (for logs and pipes; with `training.log_every: N` only
some of them, see `PlainReporter.shows`); `RichReporter` draws epoch and batch
bars on a terminal, above a line for every epoch. All write to stderr, never stdout.
"""

import sys
import time
from contextlib import contextmanager


def format_record(record: dict, epochs: int, columns: list[str]) -> str:
    """One epoch as a line, e.g. 'epoch  3/100  loss 0.412  val_loss 0.381  lr 0.001  0.10s  *'.

    `columns` picks which values to show; `*` marks a new best epoch.
    """
    width = len(str(epochs))
    parts = [f"epoch {record['epoch']:>{width}}/{epochs}"]
    parts += [f"{key} {record[key]:.4g}" for key in columns if key in record]
    parts.append(f"{record['seconds']:.2f}s")
    return "  ".join(parts) + ("  *" if record.get("improved") else "")


class Reporter:
    """Shows nothing: the interface, and the display for --quiet."""

    def note(self, message: str) -> None:
        """Something a person may want to know (data notes, where the run goes)."""

    def warn(self, message: str) -> None:
        """Something that may be wrong but does not stop the run."""

    @contextmanager
    def task(self, description: str, total: int):
        """A long pass before training (decoding images): yields `advance(n)`, called as items are done."""
        yield lambda done: None

    def start(self, epochs: int, steps_per_epoch: int, first_epoch: int, columns: list[str], every: int = 1) -> None:
        """Training begins after `first_epoch` completed epochs; `columns` are the per-epoch values worth
        showing (the logs keep them all); `every` is `training.log_every`, for displays that thin their lines."""

    def step(self, batch: int, loss: float) -> None:
        pass

    def epoch(self, record: dict) -> None:
        """An epoch ended: its metrics, `improved` (a new best) and `final` (training stops after it)."""

    def finish(self) -> None:
        pass


class PlainReporter(Reporter):
    """Notes and one line per epoch on stderr (or per Nth epoch, `every`), for logs, CI and pipes."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr

    def note(self, message):
        print(message, file=self.stream, flush=True)

    def warn(self, message):
        print(f"warning: {message}", file=self.stream, flush=True)

    def start(self, epochs, steps_per_epoch, first_epoch, columns, every=1):
        self.epochs, self.columns = epochs, columns
        self.first, self.every = first_epoch + 1, every

    def shows(self, record: dict) -> bool:
        """Whether an epoch gets a line: every `every`th, the first of this session (fresh or resumed),
        each new best and the last, so a long run's log stays short but keeps every turning point."""
        return (record["epoch"] % self.every == 0 or record["epoch"] == self.first or bool(record.get("improved"))
                or bool(record.get("final")))

    def epoch(self, record):
        if self.shows(record):
            print(format_record(record, self.epochs, self.columns), file=self.stream, flush=True)


class RichReporter(PlainReporter):
    """Epoch and batch progress bars with the running loss, and a line per finished epoch."""

    def __init__(self, console):
        super().__init__(console.file)
        self.console = console

    def note(self, message):
        self.console.print(message, markup=False, highlight=False)

    def warn(self, message):
        self.console.print(f"warning: {message}", style="yellow", markup=False, highlight=False)

    @contextmanager
    def task(self, description, total):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=self.console, transient=True) as progress:
            bar = progress.add_task(description, total=total)
            yield lambda done: progress.advance(bar, done)

    def start(self, epochs, steps_per_epoch, first_epoch, columns, every=1):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.epochs, self.columns = epochs, columns
        self.steps = steps_per_epoch
        self.progress = Progress(TextColumn("{task.description:>6}"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
                                 console=self.console, transient=True)
        self.progress.start()
        self.epoch_bar = self.progress.add_task("epoch", total=epochs, completed=first_epoch, info="")
        self.batch_bar = self.progress.add_task("batch", total=steps_per_epoch, info="")
        self._last_refresh = 0.0

    def step(self, batch, loss):
        now = time.monotonic()
        if now - self._last_refresh >= 0.1 or batch == self.steps:
            self.progress.update(self.batch_bar, completed=batch, info=f"loss {loss:.4g}")
            self._last_refresh = now

    def epoch(self, record):
        self.progress.console.print(format_record(record, self.epochs, self.columns), highlight=False)
        self.progress.update(self.epoch_bar, completed=record["epoch"])
        self.progress.reset(self.batch_bar, total=self.steps, info="")

    def finish(self):
        self.progress.stop()
