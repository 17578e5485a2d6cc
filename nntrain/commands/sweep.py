"""`nntrain sweep`: tune a config with Optuna, trial by trial; `nntrain sweep status`: the trials, best first."""

import json
import sys

from nntrain.commands.display import Display, Table, human_duration
from nntrain.errors import ConfigError
from nntrain.words import counted


def sweep(path: str, display: Display, *, trials: int | None, timeout: str | None, workers: int,
          storage: str | None, study: str | None, worker: bool, child_flags: list[str]) -> None:
    """Run a sweep in this process, or in `workers` processes of this same command; sum it up on stderr."""
    if workers < 1:
        raise ConfigError(f"--workers: must be 1 or more, got {workers}")
    if trials is not None and trials < 1:
        raise ConfigError(f"--trials: must be 1 or more, got {trials}")
    from nntrain.sweep.plan import plan_sweep

    plan = plan_sweep(path, trials=trials, timeout=timeout, storage=storage, study=study)
    from nntrain.sweep.study import shown_url
    from nntrain.sweep.worker import BestFile, create_study, run_workers, work

    created = create_study(plan)
    if not worker:
        for note in plan.notes:
            display.note(note)
        budget = " and ".join(part for part in (plan.trials and counted(plan.trials, "trial"),
                                                 plan.timeout and f"{human_duration(plan.timeout)} per worker") if part)
        display.note(f"sweep {plan.study!r}: {budget}, {'minimising' if plan.mode == 'min' else 'maximising'} "
                     f"{plan.metric}; storage {shown_url(plan.storage)}; trials in {plan.dir}/")
    if workers == 1:
        work(plan, created, display.note, display.warn, _trial_progress(display))
    else:
        command = [sys.executable, "-m", "nntrain", "sweep", "run", path, "--worker", "--storage", plan.storage,
                   "--study", plan.study, *child_flags]
        command += ["--trials", str(plan.trials)] if plan.trials else []
        command += ["--timeout", str(plan.timeout)] if plan.timeout else []
        run_workers(command, workers, display.note)
        BestFile(plan).write(created)
    if not worker:
        display.info(_summary(created, plan))


def _trial_progress(display: Display):
    """One line per epoch of each trial with --verbose; nothing otherwise (each trial gets one line)."""
    from nntrain.train.progress import PlainReporter, Reporter

    return PlainReporter() if display.verbose and not display.quiet else Reporter()


def _summary(study, plan) -> Table:
    from nntrain.sweep.study import describe
    from nntrain.sweep.worker import params_text

    trials = [describe(t) for t in study.get_trials(deepcopy=False)]
    counts = {state: sum(t["state"] == state for t in trials) for state in ("complete", "pruned", "failed", "skipped")}
    skipped = counts.pop("skipped")
    table = Table(["", ""], title=f"sweep {plan.study}", header=False)
    table.add("trials", f"{len(trials) - skipped}: " + ", ".join(f"{n} {state}" for state, n in counts.items())
              + (f" ({skipped} more asked for when the budget was full, skipped)" if skipped else ""))
    try:
        best = study.best_trial
    except ValueError:
        table.add("best", "no trial completed")
        return table
    table.add("best", f"trial {best.number}: {plan.metric} {best.value:.6g}")
    table.add("values", params_text(best.params))
    best_file = plan.dir / "best.yaml"
    table.add("config", f"{best_file} (retrain: nntrain fit {best_file})")
    table.add("trials", f"nntrain sweep status {plan.dir}")
    return table


def status(source: str, display: Display, study: str | None = None, as_json: bool = False) -> list[dict]:
    from nntrain.sweep.study import best_first, describe, find_study

    found = find_study(source, study)
    rows = [describe(trial) for trial in best_first(found)]
    if as_json:
        sys.stdout.write(json.dumps(rows) + "\n")
    elif rows:
        display.result(_status_table(rows, found.user_attrs.get("metric", "value"), found.study_name))
    else:
        display.note(f"study {found.study_name!r} has no trials yet")
    return rows


def _status_table(rows: list[dict], metric: str, name: str) -> Table:
    from nntrain.sweep.worker import short_value

    keys = list(dict.fromkeys(key for row in rows for key in row["params"]))
    table = Table(["trial", "state", metric, *keys, "epochs", "time", "note"], title=f"study {name}",
                  right=(0, 2, *range(3, 3 + len(keys)), 3 + len(keys), 4 + len(keys)))
    for row in rows:
        value = f"{row['value']:.6g}" if row["value"] is not None else "-"
        params = [short_value(row["params"][key]) if key in row["params"] else "-" for key in keys]
        epochs = row["epochs"] if row["epochs"] is not None else "-"
        table.add(row["number"], row["state"], value, *params, epochs, human_duration(row["seconds"]), row["reason"])
    return table
