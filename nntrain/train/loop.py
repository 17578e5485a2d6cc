"""The training loop: mini-batch steps, per-epoch evaluation, best-epoch tracking, stopping.

The loop knows nothing of files or displays: it reports to a `Reporter` and
hands checkpoints and logs to a `recorder` (see `train.recorder`). Its whole
state (counters, accumulators, random generator states) can be saved after any
batch and restored, so a resumed run continues bit for bit.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from nntrain.errors import Interrupted
from nntrain.monitor import Best
from nntrain.nn.losses import Loss
from nntrain.nn.model import Model
from nntrain.optim.optimizers import Optimizer, clip_gradients
from nntrain.optim.schedules import Schedule
from nntrain.train.progress import Reporter
from nntrain.train.shuffle import epoch_order
from nntrain.train.stopping import Divergence, Rule


@dataclass(kw_only=True)
class Settings:
    epochs: int
    batch_size: int
    shuffle: bool
    monitor: str
    mode: str
    restore_best: bool
    clip_norm: float | None = None
    clip_value: float | None = None
    shown: tuple[str, ...] = ("loss",)  # the per-epoch values a progress display shows
    log_every: int = 1  # a plain-text progress display prints every Nth epoch (and the turning points)
    shuffle_buffer: int | None = None  # rows a block shuffle shuffles within (train.shuffle); None: a full shuffle


def steps_per_epoch(rows: int, batch_size: int) -> int:
    """Optimizer steps in one pass over `rows` training rows (the last batch may be short)."""
    return -(-rows // batch_size)


class Recorder(Protocol):
    """Where the loop hands each finished epoch and an interruption (see `train.recorder.RunRecorder`)."""

    def epoch_end(self, trainer: "Trainer", record: dict, improved: bool, final: bool = False) -> None: ...

    def interrupted(self, trainer: "Trainer") -> None: ...


@dataclass
class Outcome:
    reason: str
    epochs_run: int
    best_epoch: int
    best_value: float | None


class StopSignal:
    """Set by a signal handler; the loop stops after the current batch."""

    def __init__(self):
        self.exit_code: int | None = None


class Trainer:
    def __init__(self, model: Model, loss: Loss, optimizer: Optimizer, schedule: Schedule, settings: Settings, *,
                 rules: list[Rule], divergence: Divergence, evaluate: Callable[[], dict[str, float]],
                 shuffle_rng: np.random.Generator, class_weight: np.ndarray | None = None,
                 augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
                 augment_rng: np.random.Generator | None = None,
                 reporter: Reporter | None = None, recorder: Recorder | None = None, stop: StopSignal | None = None,
                 observers: Sequence[Callable[[dict], None]] = (), parallel=None):
        self.model, self.loss, self.optimizer, self.schedule = model, loss, optimizer, schedule
        self.settings = settings
        self.rules, self.divergence, self.evaluate = rules, divergence, evaluate
        self.shuffle_rng = shuffle_rng
        self.class_weight = class_weight
        self.augment, self.augment_rng = augment, augment_rng
        self.reporter = reporter or Reporter()
        self.recorder = recorder
        self.stop = stop or StopSignal()
        self.observers = observers  # given every epoch's record once it is recorded (experiment trackers)
        self.parallel = parallel  # a train.parallel.DataParallel when this is one rank of an MPI job
        self.epoch = 0          # completed epochs
        self.batch = 0          # batches done in the current epoch
        self.step = 0           # optimizer steps done
        self.loss_sum = 0.0     # running sum of batch loss × rows, this epoch
        self.elapsed = 0.0      # wall-clock seconds of the whole run (preparation and saving included), across resumes
        self.train_seconds = 0.0  # seconds spent in training epochs alone, across resumes
        self._clock = (0.0, time.monotonic())  # (seconds before this session, when it began): set again by fit
        self.best = Best(settings.mode)
        self.epoch_shuffle_state = shuffle_rng.bit_generator.state
        self.best_params = model.flat_params.copy()
        self.best_buffers = {name: value.copy() for name, value in model.buffers.items()}

    # ------------------------------------------------------------------ running

    @property
    def best_value(self) -> float | None:
        return self.best.value

    @property
    def best_epoch(self) -> int:
        return self.best.epoch

    def fit(self, x: np.ndarray, y: np.ndarray, started: float | None = None) -> Outcome:
        """Train until a rule stops it or the epochs run out.

        `started` is the `time.monotonic()` moment this session of the run began (before its data
        was prepared); elapsed time counts from it, on top of earlier sessions' time.
        """
        s = self.settings
        steps = steps_per_epoch(len(x), s.batch_size)
        self._clock = (self.elapsed, time.monotonic() if started is None else started)
        self._batch_buffer = np.empty((min(s.batch_size, len(x)), *x.shape[1:]), dtype=x.dtype)
        self.reporter.start(s.epochs, steps, self.epoch, list(s.shown), every=s.log_every)
        try:
            reason = self._run(x, y, steps)
        finally:
            self.reporter.finish()
        if s.restore_best and self.best_value is not None:
            self.model.flat_params[...] = self.best_params
            for name, value in self.model.buffers.items():
                value[...] = self.best_buffers[name]
        return Outcome(reason, self.epoch, self.best_epoch, self.best_value)

    def wall_seconds(self) -> float:
        """Wall-clock seconds of the run so far, across resumes."""
        before, since = self._clock
        return before + (time.monotonic() - since)

    def _run(self, x, y, steps_per_epoch) -> str:
        s = self.settings
        while self.epoch < s.epochs:
            started = time.perf_counter()
            self._train_epoch(x, y, steps_per_epoch)
            if self.parallel is not None:
                self.parallel.epoch_end(self.epoch + 1)
            record = {"epoch": self.epoch + 1, "loss": self.loss_sum / len(x)}
            record.update(self.evaluate())
            record["lr"] = self.schedule.lr(max(0, self.step - 1))
            self.schedule.on_epoch_end(record)
            improved = self._track_best(record)
            self.epoch += 1
            self.batch, self.loss_sum = 0, 0.0
            self.epoch_shuffle_state = self.shuffle_rng.bit_generator.state
            seconds = time.perf_counter() - started
            self.train_seconds += seconds
            self.elapsed = self.wall_seconds()
            if self.parallel is not None:  # time-based rules must decide alike on every rank: rank 0's clock
                self.elapsed = self.parallel.rank_zero(self.elapsed)
            record["seconds"] = seconds
            reason = next((r for rule in self.rules if (r := rule.check(self.epoch, record, self.elapsed))), None)
            final = bool(reason) or self.epoch == s.epochs
            if self.recorder:
                self.recorder.epoch_end(self, record, improved, final=final)
            for observe in self.observers:
                observe(record)
            self.reporter.epoch({**record, "improved": improved, "final": final})
            if reason:
                return reason
        return f"reached the epoch limit (training.epochs: {s.epochs})"

    def _train_epoch(self, x, y, steps_per_epoch):
        s = self.settings
        self.shuffle_rng.bit_generator.state = self.epoch_shuffle_state
        order = epoch_order(len(x), self.shuffle_rng, s.shuffle_buffer) if s.shuffle else None
        model, params, grads = self.model, self.model.flat_params, self.model.flat_grads
        for batch in range(self.batch, steps_per_epoch):
            start, stop = batch * s.batch_size, min(len(x), (batch + 1) * s.batch_size)
            if self.parallel is not None:
                rows = np.arange(start, stop) if order is None else order[start:stop]
                value, stop_code = self.parallel.gradient(x, y, rows, self.loss, self.class_weight, self.augment,
                                                          self.augment_rng, self.stop.exit_code, self._batch_buffer)
            else:
                value, stop_code = self._gradient(x, y, order, start, stop), None
            if model.has_penalty:
                value += model.penalty()
                model.add_penalty_grads()
            self.divergence.check_step(value, self.epoch + 1, batch + 1)
            clip_gradients(grads, s.clip_norm, s.clip_value)
            self.optimizer.step(params, grads, self.schedule.lr(self.step))
            self.step += 1
            self.batch = batch + 1
            self.loss_sum += value * (stop - start)
            self.reporter.step(batch + 1, value)
            if self.parallel is None:
                stop_code = self.stop.exit_code  # one process stops at once; ranks stop when they have agreed
            if stop_code is not None:
                self._interrupt(stop_code)

    def _gradient(self, x, y, order, start, stop) -> float:
        """Fill the model's flat gradients with those of the batch's loss; return the loss."""
        if order is None:
            xb, yb = x[start:stop], y[start:stop]
        else:
            rows = order[start:stop]
            # mode="clip": the rows are a permutation, always in range, and numpy's default
            # mode="raise" would gather through a hidden temporary before filling `out`;
            # x.take, not np.take: image splits (data.image_rows.ImageRows) scale their pixels there
            xb = x.take(rows, axis=0, out=self._batch_buffer[:len(rows)], mode="clip")
            yb = y[rows]
        if self.augment is not None:
            xb = self.augment(xb, self.augment_rng)
        outputs = self.model.forward(xb, training=True)
        weight = None if self.class_weight is None else self.class_weight[yb]
        value, grad = self.loss.value_and_grad(outputs, yb, weight)
        self.model.backward(grad)
        return value

    def _interrupt(self, code: int):
        self.elapsed = self.wall_seconds()
        if self.recorder:
            self.recorder.interrupted(self)
        signal_name = "SIGINT" if code == 130 else "SIGTERM"
        raise Interrupted(f"interrupted by {signal_name} at epoch {self.epoch + 1}, batch {self.batch}", code)

    def _track_best(self, record: dict) -> bool:
        if not self.best.update(self.epoch + 1, record[self.settings.monitor]):
            return False
        self.best_params[...] = self.model.flat_params
        for name, buffer in self.model.buffers.items():
            self.best_buffers[name][...] = buffer
        return True

    # ------------------------------------------------------------------ saving and resuming

    def state(self) -> dict:
        """Everything but arrays needed to continue this run exactly (plain JSON)."""
        return {
            "epoch": self.epoch, "batch": self.batch, "step": self.step, "loss_sum": self.loss_sum,
            "elapsed": self.elapsed, "train_seconds": self.train_seconds,
            "best_value": self.best_value, "best_epoch": self.best_epoch,
            "optimizer_steps": self.optimizer.steps,
            "schedule": self.schedule.state(),
            "rules": [rule.state() for rule in self.rules],
            "divergence": self.divergence.state(),
            "rng": {"epoch_shuffle": self.epoch_shuffle_state,
                    "noise": self.model.noise_rng.bit_generator.state if self.model.noise_rng else None,
                    "augment": self.augment_rng.bit_generator.state if self.augment_rng else None},
        }

    def load_state(self, state: dict, best_params: np.ndarray | None = None,
                    best_buffers: dict[str, np.ndarray] | None = None) -> None:
        """Continue from `state()` as saved, with the best epoch's weights (default: the current ones)."""
        self.epoch, self.batch, self.step = state["epoch"], state["batch"], state["step"]
        self.loss_sum, self.elapsed = state["loss_sum"], state["elapsed"]
        self.train_seconds = state.get("train_seconds", state["elapsed"])  # before 0.2 these were one figure
        self.best.value, self.best.epoch = state["best_value"], state["best_epoch"]
        self.optimizer.steps = state["optimizer_steps"]
        self.schedule.load_state(state["schedule"])
        for rule, rule_state in zip(self.rules, state["rules"]):
            rule.load_state(rule_state)
        self.divergence.load_state(state["divergence"])
        self.epoch_shuffle_state = state["rng"]["epoch_shuffle"]
        if self.model.noise_rng is not None and state["rng"]["noise"] is not None:
            self.model.noise_rng.bit_generator.state = state["rng"]["noise"]
        if self.augment_rng is not None and state["rng"].get("augment") is not None:
            self.augment_rng.bit_generator.state = state["rng"]["augment"]
        self.best_params[...] = self.model.flat_params if best_params is None else best_params
        for name, value in self.best_buffers.items():
            value[...] = (best_buffers or self.model.buffers)[name]
