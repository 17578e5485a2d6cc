"""Training a run: plan and lock its directory, start fresh or resume, train, and leave a complete record.

`summary.json` is written when a run ends on its own (`status: finished`), diverges
(`diverged`, with the epoch and step) or fails (`failed`); an interrupted run keeps
`last.npz` and no summary, so `--resume` continues it.
"""

import hashlib
import json
import math
import shlex
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import yaml

from nntrain import __version__
from nntrain.config import Config
from nntrain.data.augment import Augmenter
from nntrain.data.stored_rows import StoredRows
from nntrain.errors import ConfigError, DataError, DivergenceError, Interrupted, NNTrainError
from nntrain.nn.layers import BatchNorm
from nntrain.run.build import Setup, build
from nntrain.run.directory import (RunDirPlan, RunLock, check_run_dir, clear_run, create_run_dir, plan_run_dir,
                                   read_summary, refuse_existing_run)
from nntrain.run.evaluation import evaluate_split
from nntrain.seeds import rng_for
from nntrain.train.interrupts import stop_on_signals
from nntrain.train.loop import Outcome, Settings, StopSignal, Trainer, steps_per_epoch
from nntrain.train.parallel import DataParallel, Group, meet, start
from nntrain.train.progress import Reporter
from nntrain.train.recorder import (RunRecorder, kept_checkpoints, now_iso, read_log, resumable_checkpoint,
                                    write_file, write_file_through)
from nntrain.train.saved import model_meta, upgraded_layer_specs
from nntrain.train.stopping import Callback
from nntrain.train.threads import blas_threads, default_threads
from nntrain.train.tracking import Tracking
from nntrain.words import counted


def train(config: Config, config_path: str | None, *, resume: str | None = None, overwrite: bool = False,
          force: bool = False, reporter: Reporter | None = None,
          callbacks: Sequence[Callable[[dict], object]] = (), started: float | None = None,
          group: Group | None = None) -> Path:
    """Train the run a config describes and return its directory.

    `started` is the `time.monotonic()` moment the caller began (so time spent loading the
    config counts); `callbacks` get each epoch's record and may stop training by returning
    a reason (see `train.stopping.Callback`). `group` is the MPI job this is one rank of, if any.
    """
    started = time.monotonic() if started is None else started
    threads = config.engine.threads or default_threads(group.on_this_machine if group else 1)
    with blas_threads(threads, asked=config.engine.threads is not None):
        return _train(config, config_path, resume=resume, overwrite=overwrite, force=force, reporter=reporter,
                      callbacks=callbacks, started=started, group=group)


def _train(config: Config, config_path: str | None, *, resume, overwrite, force, reporter, callbacks, started,
           group) -> Path:
    reporter = reporter or Reporter()
    plan = plan_run_dir(config.output.dir, config_path, resume)
    if group is not None and group.rank:
        return _train_rank(config, plan, resume, callbacks, started, group)
    check_run_dir(plan, resume=bool(resume), overwrite=overwrite)
    if resume:
        _check_resumable(plan.path, fall_back=resume == "auto", force=force)
    setup = build(config, resuming=bool(resume), progress=reporter.note, task=reporter.task)
    meet(group)  # the other ranks build now, reusing the prepared directory or image cache this one wrote
    for note in setup.data.notes:
        reporter.note(note)
    existed = plan.path.exists() and not plan.fresh_name
    run_dir = create_run_dir(plan, config_path)
    lock = RunLock(run_dir)
    try:
        with lock:
            return _train_locked(setup, run_dir, plan, reporter, callbacks, started,
                                 resume=resume, overwrite=overwrite, force=force, group=group)
    finally:
        if not existed and run_dir.is_dir() and not any(run_dir.iterdir()):
            run_dir.rmdir()  # a run that failed before writing anything leaves no folder behind


def _train_rank(config: Config, plan: RunDirPlan, resume: str | None, callbacks, started: float,
                group: Group) -> Path:
    """A rank other than 0: the same training, reading the run directory (to resume) but writing nothing."""
    meet(group)  # after rank 0 has built: what it prepares on disk for the data, this rank reads
    setup = build(config, resuming=bool(resume))
    trainer = _trainer(setup, callbacks, Reporter(), None, StopSignal(),
                       DataParallel(group, setup.model, config.engine.sync_batchnorm))
    if resume:
        path, saved, arrays = resumable_checkpoint(plan.path, resume == "auto", lambda message: None)
        _recorder(setup, plan.path).restore(trainer, path, saved, arrays, truncate_logs=False)
    start(group, config.engine.collective_timeout)
    with stop_on_signals(trainer.stop, quiet=True):
        trainer.fit(setup.data.x["train"], setup.data.y["train"], started=started)
    if len(setup.data.x["test"]):  # this rank's share of the test split, which rank 0 scores (see _finish)
        trainer.parallel.predict(setup.data.x["test"])
    return plan.path


def _recorder(setup: Setup, run_dir: Path, meta: dict | None = None) -> RunRecorder:
    checkpoint = setup.config.training.checkpoint
    return RunRecorder(run_dir, meta or {}, checkpoint.every, checkpoint.keep)


def _trainer(setup: Setup, callbacks, reporter: Reporter, recorder: RunRecorder | None, stop: StopSignal,
             parallel: DataParallel | None, observers=()) -> Trainer:
    """The Trainer a run's setup implies: the same on every rank of a job but for what it writes."""
    config, model = setup.config, setup.model
    rules, divergence = setup.rules()
    rules += [Callback(function) for function in callbacks]
    t = config.training
    settings = Settings(epochs=t.epochs, batch_size=t.batch_size, shuffle=t.shuffle, monitor=setup.monitor,
                        mode=setup.mode, restore_best=t.restore_best, clip_norm=config.optimizer.clip_norm,
                        clip_value=config.optimizer.clip_value, shown=setup.shown_columns(),
                        log_every=t.log_every, shuffle_buffer=config.data.shuffle_buffer
                        if isinstance(setup.data.x["train"], StoredRows) else None)
    if isinstance(setup.data.x["train"], StoredRows):  # a batch gathers from a window of the block shuffle: keep two
        setup.data.x["train"].keep_rows(2 * config.data.shuffle_buffer)
        setup.data.y["train"].keep_rows(2 * config.data.shuffle_buffer)
    augment = Augmenter(**config.data.augment.model_dump())
    rows = len(setup.data.x["train"])
    return Trainer(model, setup.loss, setup.optimizer(), setup.schedule(steps_per_epoch(rows, t.batch_size)),
                   settings, rules=rules, divergence=divergence, evaluate=_validation(setup, parallel),
                   shuffle_rng=rng_for(config.seed, "shuffle"), class_weight=setup.class_weight,
                   augment=augment if augment.active else None, augment_rng=rng_for(config.seed, "augment"),
                   reporter=reporter, recorder=recorder, stop=stop, observers=observers, parallel=parallel)


def _check_resumable(run_dir: Path, fall_back: bool, force: bool) -> None:
    if not (run_dir / "last.npz").exists() and not (fall_back and kept_checkpoints(run_dir)):
        raise ConfigError(f"--resume: {run_dir} has no last.npz to resume from")
    summary = read_summary(run_dir)
    if summary.get("status", "finished") == "finished" and (run_dir / "summary.json").exists() and not force:
        raise ConfigError(f"the run in {run_dir} already finished ({summary.get('stop_reason', 'finished')}); "
                          "pass --force to train it further (raise training.epochs), or --overwrite to start over")


def _train_locked(setup: Setup, run_dir: Path, plan: RunDirPlan, reporter: Reporter, callbacks, started: float,
                  *, resume: str | None, overwrite: bool, force: bool, group: Group | None) -> Path:
    config, data, model = setup.config, setup.data, setup.model
    if not resume:
        if overwrite:
            clear_run(run_dir)
        elif not plan.fresh_name:
            refuse_existing_run(run_dir)  # again, now that the directory is ours
    x_train, y_train = data.x["train"], data.y["train"]
    _warn_about_batches(setup, len(x_train), reporter)
    meta = {"nntrain": __version__, "model": model_meta(model, setup.layer_specs), "loss": setup.loss_spec,
            "data": data.state, "data_fingerprint": data.fingerprint or fingerprint(data.x, data.y), "config": config.resolved(),
            "monitor": setup.monitor, "mode": setup.mode}
    recorder = _recorder(setup, run_dir, meta)
    tracking = Tracking(config.output.tracking, run_dir, reporter.warn)
    stop = StopSignal()
    trainer = _trainer(setup, callbacks, reporter, recorder, stop,
                       None if group is None else DataParallel(group, model, config.engine.sync_batchnorm),
                       observers=[tracking.epoch])
    if resume:
        _resume(trainer, recorder, run_dir, meta, force, resume == "auto", reporter)
    log = read_log(run_dir / "metrics.jsonl") if resume else []
    timing = {"started": (log[0].get("time") if log else None) or now_iso()}  # of the first session
    start(group, config.engine.collective_timeout)
    try:
        if not resume:
            _start_fresh(run_dir, meta["config"], data)
        tracking.start(meta["config"], resuming=bool(resume))
        reporter.note(f"training {model.parameter_count():,} parameters on {counted(len(x_train), 'row')} "
                      f"({len(data.x['validation'])} validation, {len(data.x['test'])} test) -> {run_dir}")
        with stop_on_signals(stop):
            outcome = trainer.fit(x_train, y_train, started=started)
    except Interrupted as exc:
        tracking.end("interrupted", {})
        command = f"nntrain fit {shlex.quote(str(run_dir / 'config.yaml'))} --resume {shlex.quote(str(run_dir))}"
        raise Interrupted(f"{exc}; saved {recorder.last_path}. Continue with: {command}", exc.exit_code) from None
    except DivergenceError as exc:
        _record_end(run_dir, {"status": "diverged", "stop_reason": str(exc), "epoch": exc.epoch, "step": exc.step,
                              "epochs_run": trainer.epoch, **timing, **_times(trainer)}, tracking)
        raise
    except Exception as exc:
        reason = str(exc) if isinstance(exc, NNTrainError) else f"internal error: {type(exc).__name__}: {exc}"
        _record_end(run_dir, {"status": "failed", "stop_reason": reason, "epochs_run": trainer.epoch,
                              **timing, **_times(trainer)}, tracking)
        raise
    _finish(run_dir, setup, outcome, trainer, timing, tracking)
    return run_dir


def _warn_about_batches(setup: Setup, rows: int, reporter: Reporter) -> None:
    batch = setup.config.training.batch_size
    if rows < batch:
        reporter.warn(f"the training split has {counted(rows, 'row')}, fewer than one batch "
                      f"(training.batch_size: {batch}); "
                      "each epoch is a single step")
    if any(isinstance(layer, BatchNorm) for layer in setup.model.layers) and (batch == 1 or rows % batch == 1):
        where = "every batch has" if batch == 1 else f"the last batch of each epoch ({counted(rows, 'row')}) has"
        reporter.warn(f"{where} a single row, so batchnorm normalises it to 0 and learns nothing from it; "
                      "raise training.batch_size (or change it so the last batch has more rows)")


def _validation(setup: Setup, parallel: DataParallel | None = None) -> Callable[[], dict]:
    """The validation scores of an epoch; on MPI ranks each scores its share of the rows, and all get the same."""
    def evaluate() -> dict:
        if not setup.has_validation:
            return {}
        data = setup.data
        value, metrics, _ = evaluate_split(setup.model, setup.loss, data.x["validation"], data.y["validation"],
                                           setup.target, parallel and parallel.predict)
        return {"val_loss": value, **{f"val_{name}": v for name, v in metrics.items()}}

    return evaluate


def fingerprint(x: dict, y: dict[str, np.ndarray], piece: int = 2**20) -> str:
    """A SHA-256 of the prepared arrays of every split: a resumed run must train on the data it started with.

    Fed about `piece` bytes of rows at a time, so image splits (`ImageRows`, scaled as they are
    read) never need a float copy of the set; the digest is the same as of each whole array.
    """
    digest = hashlib.sha256()
    for name in sorted(x):
        for array in (x[name], y[name]):
            digest.update(f"{name}:{np.dtype(array.dtype)}:{tuple(array.shape)};".encode())
            rows = max(1, piece // max(1, math.prod(array.shape[1:]) * np.dtype(array.dtype).itemsize))
            for first in range(0, len(array), rows):  # a loop over chunks of rows, not over rows
                digest.update(np.ascontiguousarray(array[first:first + rows]))
    return digest.hexdigest()


def _start_fresh(run_dir: Path, resolved: dict, data) -> None:
    write_file(run_dir / "config.yaml", yaml.safe_dump(resolved, sort_keys=False).encode("utf-8"))
    if data.test_file is not None and data.test_file.stat().st_size:
        shutil.copyfile(data.test_file, run_dir / "test.csv")  # not read into memory: it may be large
    elif data.test_rows is not None and len(data.test_rows):
        path = run_dir / "test.csv"  # written through the file, so the text is never held whole
        write_file_through(path, lambda handle: data.test_rows.to_csv(handle, index=False), DataError)


def _resume(trainer: Trainer, recorder: RunRecorder, run_dir: Path, meta: dict, force: bool, fall_back: bool,
            reporter: Reporter) -> None:
    path, saved, arrays = resumable_checkpoint(run_dir, fall_back, reporter.warn)
    changes = differences(_as_now(saved.get("config", {}), saved.get("nntrain"), path), meta["config"],
                          ignore=RESUME_FREE)
    if changes and not force:
        listed = "\n".join(f"  {change}" for change in changes)
        renamed = "'gelu_tanh' -> 'gelu'" in listed
        raise ConfigError(f"the config differs from the run in {run_dir}:\n{listed}\n"
                          + ("this run was trained before nntrain 0.2, whose gelu is now called gelu_tanh: write "
                             "gelu_tanh to resume it as it was" if renamed else "resume with the original config")
                          + ", or pass --force to continue anyway")
    same_state = _contained(saved.get("data"), json.loads(json.dumps(meta["data"])))
    same_rows = saved.get("data_fingerprint", meta["data_fingerprint"]) == meta["data_fingerprint"]
    if not (same_state and same_rows) and not force:
        raise ConfigError(f"the training data differs from the data the run in {run_dir} started with "
                          f"({'its preparation state changed' if not same_state else 'the prepared rows changed'}); "
                          "resume with the original data, or pass --force to continue anyway")
    recorder.restore(trainer, path, saved, arrays)
    (run_dir / "summary.json").unlink(missing_ok=True)
    reporter.note(f"resuming {run_dir} from {path.name} at epoch {trainer.epoch + 1}, batch {trainer.batch + 1}")


def _contained(old, new) -> bool:
    """Whether `new` holds everything `old` does, with the same values (keys added since may be new)."""
    if isinstance(old, dict):
        return isinstance(new, dict) and all(key in new and _contained(value, new[key]) for key, value in old.items())
    if isinstance(old, list):
        return isinstance(new, list) and len(old) == len(new) and all(map(_contained, old, new))
    return old == new


def _as_now(resolved: dict, written_by, path: Path) -> dict:
    """A run's saved config as this version reads it: layer names that changed meaning renamed (gelu before
    0.2 is gelu_tanh) and the defaults of keys added since filled in, so neither counts as a change."""
    model = resolved.get("model", {})
    if isinstance(model, dict) and isinstance(model.get("layers"), list):
        resolved = {**resolved, "model": {**model, "layers": upgraded_layer_specs(model["layers"], written_by, path)}}
    try:
        return Config.model_validate(resolved).resolved()
    except ValueError:
        return resolved


# where a run goes, how much it prints, how long ranks wait: none changes what a resumed run computes
RESUME_FREE = frozenset({"output", "training.log_every", "engine.collective_timeout"})


def differences(old, new, ignore=frozenset(), prefix="") -> list[str]:
    """Key paths whose values differ between two plain config dicts, leaving out those in `ignore` (and below)."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in list(dict.fromkeys([*old, *new])):
            path = f"{prefix}.{key}" if prefix else str(key)
            if path not in ignore:
                found += differences(old.get(key), new.get(key), ignore, prefix=path)
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [c for i, (a, b) in enumerate(zip(old, new)) for c in differences(a, b, prefix=f"{prefix}[{i}]")]
    return [] if old == new else [f"{prefix}: {old!r} -> {new!r}"]


def _times(trainer: Trainer) -> dict:
    return {"finished": now_iso(), "seconds": round(trainer.wall_seconds(), 3),
            "train_seconds": round(trainer.train_seconds, 3)}


def _finish(run_dir: Path, setup: Setup, outcome: Outcome, trainer: Trainer, timing: dict,
            tracking: Tracking) -> None:
    data = setup.data
    final = "best.npz" if setup.config.training.restore_best and outcome.best_value is not None else "last.npz"
    summary = {"status": "finished", "stop_reason": outcome.reason, "epochs_run": outcome.epochs_run,
               "best_epoch": outcome.best_epoch, "monitor": setup.monitor, "best_value": outcome.best_value,
               "final_checkpoint": final, **timing}
    if len(data.x["test"]):
        value, metrics, _ = evaluate_split(setup.model, setup.loss, data.x["test"], data.y["test"], setup.target,
                                           trainer.parallel and trainer.parallel.predict)
        summary["test"] = {"loss": value, **metrics}
    summary.update(_times(trainer))
    _write_tracked_summary(run_dir, summary, "finished", tracking)


def _write_tracked_summary(run_dir: Path, summary: dict, status: str, tracking: Tracking) -> None:
    """Write summary.json and end the trackers, which upload it; a tracker failing at the end is noted after."""
    if tracking.trackers:
        summary["tracking"] = tracking.summary()
    write_summary(run_dir, summary)
    tracking.end(status, summary)
    if tracking.trackers and tracking.summary() != summary["tracking"]:
        summary["tracking"] = tracking.summary()
        write_summary(run_dir, summary)


def write_summary(run_dir: Path, summary: dict) -> None:
    write_file(run_dir / "summary.json", (json.dumps(summary, indent=2) + "\n").encode("utf-8"))


def _record_end(run_dir: Path, summary: dict, tracking: Tracking) -> None:
    """Best effort: a run that diverged or failed says so in summary.json (unless the disk is what failed)."""
    try:
        _write_tracked_summary(run_dir, summary, summary["status"], tracking)
    except NNTrainError:
        pass
