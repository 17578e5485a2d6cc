"""`nntrain fit`: validate everything, prepare the data, train, and leave a complete run directory."""

import json
from pathlib import Path

import yaml

from nntrain import __version__
from nntrain.commands.build import make_optimizer, make_rules, make_schedule
from nntrain.commands.display import Display, human_duration
from nntrain.commands.runs import (RUN_FILES, ensure_writable, evaluate_split, new_run_dir, newest_run_dir,
                                   refuse_existing_run)
from nntrain.commands.session import build_session
from nntrain.config import Config, load_config
from nntrain.data.augment import Augmenter
from nntrain.data.tabular import TrainingData
from nntrain.errors import CheckpointError, ConfigError, Interrupted
from nntrain.seeds import rng_for
from nntrain.train.checkpoint import load_checkpoint
from nntrain.train.interrupts import stop_on_signals
from nntrain.train.loop import Outcome, Settings, StopSignal, Trainer
from nntrain.train.recorder import RunRecorder, kept_checkpoints, now_iso, read_log
from nntrain.train.saved import load_arrays, load_optimizer, model_meta, split_flat


def fit(config_path: str, overrides: list[str], display: Display, *, overwrite: bool = False,
        resume: str | None = None, force: bool = False) -> Path:
    """Train the run a config describes; returns the run directory."""
    config, _ = load_config(config_path, overrides)
    if resume and resume != "auto":
        run_dir = Path(resume)
    elif config.output.dir:
        run_dir = Path(config.output.dir)
    else:
        run_dir = newest_run_dir(config_path) if resume else new_run_dir(config_path)
    created = not resume and (not config.output.dir or not run_dir.exists())
    try:
        return _fit(config, config_path, run_dir, display, overwrite, resume, force)
    except BaseException:
        if created and run_dir.is_dir() and not any(run_dir.iterdir()):
            run_dir.rmdir()  # a run that failed before writing anything leaves no empty folder behind
        raise


def _fit(config: Config, config_path: str, run_dir: Path, display: Display, overwrite: bool,
         resume: str | None, force: bool) -> Path:
    _check_run_dir(run_dir, overwrite, resume, force)
    resolved = config.resolved()

    session = build_session(config)
    data, model = session.data, session.model
    for note in data.notes:
        display.note(note)
    optimizer = make_optimizer(config)
    optimizer.bind(model.flat_params.size, model.dtype, model.decay_mask)
    x_train, y_train = data.x["train"], data.y["train"]
    if len(x_train) < config.training.batch_size:
        display.warn(f"the training split has {len(x_train)} rows, fewer than one batch (training.batch_size: "
                     f"{config.training.batch_size}); each epoch is a single step")
    steps_per_epoch = -(-len(x_train) // config.training.batch_size)
    rules, divergence = make_rules(config, session.monitor)

    def evaluate() -> dict:
        if not session.has_validation:
            return {}
        value, metrics, _ = evaluate_split(model, session.loss, data.x["validation"], data.y["validation"],
                                           session.target)
        return {"val_loss": value, **{f"val_{name}": v for name, v in metrics.items()}}

    meta = {"nntrain": __version__, "model": model_meta(model, session.layer_specs), "loss": session.loss_spec,
            "data": data.state, "config": resolved, "monitor": session.monitor, "mode": session.mode}
    settings = Settings(config.training.epochs, config.training.batch_size, config.training.shuffle,
                        session.monitor, session.mode, config.training.restore_best,
                        config.optimizer.clip_norm, config.optimizer.clip_value)
    recorder = RunRecorder(run_dir, meta, config.training.checkpoint.every, config.training.checkpoint.keep)
    stop = StopSignal()
    columns = _shown_columns(session.task, session.monitor, session.has_validation)
    augment = Augmenter(**config.data.augment.model_dump())
    trainer = Trainer(model, session.loss, optimizer,
                      make_schedule(config, steps_per_epoch, session.monitor, session.mode), settings,
                      rules=rules, divergence=divergence, evaluate=evaluate,
                      shuffle_rng=rng_for(config.seed, "shuffle"), class_weight=session.class_weight,
                      augment=augment if augment.active else None, augment_rng=rng_for(config.seed, "augment"),
                      reporter=display.reporter(columns), recorder=recorder, stop=stop)
    if resume:
        _resume(trainer, recorder, run_dir, resolved, data.state, force, resume == "auto", display)
    else:
        _start_fresh(run_dir, resolved, data, overwrite)
    display.note(f"training {model.parameter_count():,} parameters on {len(x_train)} rows "
                 f"({len(data.x['validation'])} validation, {len(data.x['test'])} test) -> {run_dir}")

    log = read_log(run_dir / "metrics.jsonl") if resume else []
    started_at = (log[0].get("time") if log else None) or now_iso()  # of the first session
    try:
        with stop_on_signals(stop):
            outcome = trainer.fit(x_train, y_train)
    except Interrupted as exc:
        raise Interrupted(f"{exc}; saved {recorder.last_path}. Continue with: "
                          f"nntrain fit {config_path} --resume {run_dir}", exc.exit_code) from None
    _finish(run_dir, config, data, model, session.loss, outcome, session.monitor,
            {"started": started_at, "finished": now_iso(), "seconds": round(trainer.elapsed, 3)},
            display)
    return run_dir


def _shown_columns(task: str, monitor: str, has_validation: bool) -> list[str]:
    """Per-epoch values worth a glance: losses, the task's headline metric, the monitor, the rate."""
    headline = {"classification": "val_accuracy", "multilabel": "val_accuracy", "regression": "val_r2"}[task]
    columns = ["loss"] + (["val_loss", headline] if has_validation else []) + [monitor, "lr"]
    return list(dict.fromkeys(columns))


def _check_run_dir(run_dir: Path, overwrite: bool, resume: str | None, force: bool) -> None:
    if resume:
        if not (run_dir / "last.npz").exists() and not (resume == "auto" and kept_checkpoints(run_dir)):
            raise ConfigError(f"--resume: {run_dir} has no last.npz to resume from"
                              + ("" if run_dir.exists() else " (the directory does not exist)"))
        summary = run_dir / "summary.json"
        if summary.exists() and not force:
            reason = json.loads(summary.read_text(encoding="utf-8")).get("stop_reason", "finished")
            raise ConfigError(f"the run in {run_dir} already finished ({reason}); pass --force to train it "
                              "further (raise training.epochs), or --overwrite to start over")
        return
    ensure_writable(run_dir)
    if not overwrite:
        refuse_existing_run(run_dir)


def _start_fresh(run_dir: Path, resolved: dict, data: TrainingData, overwrite: bool) -> None:
    if overwrite:
        for path in [run_dir / name for name in RUN_FILES] + kept_checkpoints(run_dir):
            path.unlink(missing_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(resolved, sort_keys=False), encoding="utf-8")
    if len(data.test_rows):
        data.test_rows.to_csv(run_dir / "test.csv", index=False)


def _resume(trainer: Trainer, recorder: RunRecorder, run_dir: Path, resolved: dict, data_state: dict,
            force: bool, fall_back: bool, display: Display) -> None:
    path, meta, arrays = _resumable_checkpoint(run_dir, fall_back, display)
    changes = _differences(meta.get("config", {}), resolved, ignore={"output"})
    if changes and not force:
        listed = "\n".join(f"  {change}" for change in changes)
        raise ConfigError(f"the config differs from the run in {run_dir}:\n{listed}\n"
                          "resume with the original config, or pass --force to continue anyway")
    if meta.get("data") != json.loads(json.dumps(data_state)) and not force:
        raise ConfigError(f"the training data differs from the data the run in {run_dir} started with; "
                          "pass --force to continue anyway")
    model = trainer.model
    load_arrays(split_flat(model, model.flat_params), arrays, "params", path)
    load_arrays(model.buffers, arrays, "buffers", path)
    load_optimizer(model, trainer.optimizer, arrays, path)
    try:
        trainer.load_state(meta["training"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: its training state is incomplete ({exc})") from None
    trainer.best_params[...] = model.flat_params
    if (run_dir / "best.npz").exists():
        _, best_arrays = load_checkpoint(run_dir / "best.npz")
        load_arrays(split_flat(model, trainer.best_params), best_arrays, "params", run_dir / "best.npz")
        load_arrays(trainer.best_buffers, best_arrays, "buffers", run_dir / "best.npz")
    recorder.truncate_logs(trainer.epoch)
    (run_dir / "summary.json").unlink(missing_ok=True)
    display.note(f"resuming {run_dir} from {path.name} at epoch {trainer.epoch + 1}, batch {trainer.batch + 1}")


def _resumable_checkpoint(run_dir: Path, fall_back: bool, display: Display):
    """last.npz, or with --resume auto the newest kept checkpoint that loads, if last.npz is damaged."""
    candidates = [run_dir / "last.npz"] + (kept_checkpoints(run_dir) if fall_back else [])
    candidates = [path for path in candidates if path.exists()]
    for index, path in enumerate(candidates):
        try:
            meta, arrays = load_checkpoint(path)
            if "training" not in meta:
                raise CheckpointError(f"{path} holds no training state to resume from")
            return path, meta, arrays
        except CheckpointError as exc:
            if index + 1 == len(candidates):
                raise
            display.warn(f"{exc}; falling back to {candidates[index + 1].name}")
    raise CheckpointError(f"no checkpoint to resume from in {run_dir}")


def _differences(old, new, ignore=frozenset(), prefix="") -> list[str]:
    """Key paths whose values differ between two plain config dicts."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in list(dict.fromkeys([*old, *new])):
            if key in ignore and not prefix:
                continue
            path = f"{prefix}.{key}" if prefix else str(key)
            found += _differences(old.get(key), new.get(key), prefix=path)
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [c for i, (a, b) in enumerate(zip(old, new)) for c in _differences(a, b, prefix=f"{prefix}[{i}]")]
    return [] if old == new else [f"{prefix}: {old!r} -> {new!r}"]


def _finish(run_dir: Path, config: Config, data: TrainingData, model, loss, outcome: Outcome, monitor: str,
            timing: dict, display: Display) -> None:
    final = "best.npz" if config.training.restore_best and outcome.best_value is not None else "last.npz"
    summary = {"stop_reason": outcome.reason, "epochs_run": outcome.epochs_run, "best_epoch": outcome.best_epoch,
               "monitor": monitor, "best_value": outcome.best_value, "final_checkpoint": final,
               **timing}
    if len(data.x["test"]):
        value, metrics, _ = evaluate_split(model, loss, data.x["test"], data.y["test"], data.state["target"])
        summary["test"] = {"loss": value, **metrics}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    _show_summary(summary, run_dir, display)


def _show_summary(summary: dict, run_dir: Path, display: Display) -> None:
    from rich.table import Table

    table = Table(title=f"run {run_dir}", show_header=False, title_justify="left")
    table.add_row("stopped", summary["stop_reason"])
    table.add_row("epochs", str(summary["epochs_run"]))
    history = [row.get(summary["monitor"]) for row in read_log(run_dir / "metrics.jsonl")]
    if len(history) > 1 and None not in history:
        table.add_row(summary["monitor"], sparkline(history))
    if summary["best_value"] is not None:
        table.add_row("best epoch", f"{summary['best_epoch']} ({summary['monitor']} {summary['best_value']:.4g})")
    for name, value in summary.get("test", {}).items():
        table.add_row(f"test {name}", f"{value:.4f}")
    table.add_row("model", str(run_dir / summary["final_checkpoint"]))
    table.add_row("time", human_duration(summary["seconds"]))
    display.show(table)


def sparkline(values: list[float], width: int = 40) -> str:
    """A one-line chart of values, e.g. '█▆▄▃▂▂▁▁', with at most `width` characters (later values win)."""
    blocks = "▁▂▃▄▅▆▇█"
    if len(values) > width:
        step = len(values) / width
        values = [values[min(len(values) - 1, int((i + 1) * step) - 1)] for i in range(width)]
    low, high = min(values), max(values)
    span = high - low or 1.0
    return "".join(blocks[round((v - low) / span * (len(blocks) - 1))] for v in values) + \
        f"  {values[0]:.4g} → {values[-1]:.4g}"
