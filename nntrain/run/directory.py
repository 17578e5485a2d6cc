"""Run directories: which one a run uses, whether it can be written, and a lock while a run uses it.

`plan_run_dir` is the one place that decides the directory; `fit` and `check` both call
it, so `check` says ok exactly when `fit` would start. A running fit holds an OS-level
lock (`fcntl.flock` on `.lock`): a second fit into the same directory is refused naming
the process, and a lock left by a killed process is released by the kernel, never stale.
"""

import errno
import fcntl
import json
import itertools
import os
import re
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from nntrain.errors import ConfigError
from nntrain.train.recorder import kept_checkpoints

RUN_FILES = ("config.yaml", "metrics.jsonl", "metrics.csv", "best.npz", "last.npz", "test.csv", "summary.json",
             "curves.png")
RECORD_FILES = ("metrics.jsonl", "best.npz", "last.npz", "summary.json")  # a run that trained leaves one of these
RUNS_ROOT = Path("runs")
LOCK_NAME = ".lock"
CHECKER_GRACE = 2.0  # seconds to wait out `runs` or `check` looking at the lock, which holds it for an instant


@dataclass(frozen=True)
class RunDirPlan:
    """Where a run goes: `path`, and whether `fit` makes it (a new timestamped directory)."""

    path: Path
    fresh_name: bool  # a runs/<config>-<date>-<time> name still to be claimed


def plan_run_dir(output_dir: str | None, config_path: str | None, resume: str | None) -> RunDirPlan:
    """The directory a fit would use: --resume DIR, else output.dir, else runs/<config>-<date>-<time>."""
    if resume and resume != "auto":
        return RunDirPlan(Path(resume), False)
    if output_dir:
        return RunDirPlan(Path(output_dir), False)
    if resume:
        return RunDirPlan(newest_run_dir(config_path), False)
    return RunDirPlan(RUNS_ROOT, True)


def check_run_dir(plan: RunDirPlan, *, resume: bool, overwrite: bool) -> None:
    """Refuse a directory `fit` could not use, without changing anything on disk.

    A directory that does not exist yet is probed by creating (and removing) a temporary
    directory in its nearest existing parent, so file systems that refuse writes (read-only
    mounts, /proc) are caught here and not after the data is prepared.
    """
    path = plan.path
    if path.is_dir() and (holder := lock_holder(path)):
        raise _in_use(path, holder)
    if resume:
        if not path.is_dir():
            raise ConfigError(f"--resume: {path} has no last.npz to resume from (the directory does not exist)")
        return
    if path.exists() and not path.is_dir():
        raise ConfigError(f"output.dir: {path} is a file, not a directory; choose another output.dir")
    existing = next(parent for parent in [path, *path.parents] if parent.exists())
    if not existing.is_dir():
        raise ConfigError(f"output.dir: cannot create {path}: {existing} is a file; choose another output.dir")
    _probe(existing, path)
    if not plan.fresh_name and not overwrite and path.is_dir():
        refuse_existing_run(path)


def _probe(folder: Path, wanted: Path) -> None:
    try:
        tempfile.TemporaryDirectory(dir=folder, prefix=".nntrain-probe-").cleanup()
    except OSError as exc:
        raise ConfigError(f"output.dir: cannot write to {folder} (for {wanted}): {exc.strerror or exc}; "
                          "choose another output.dir") from None


def create_run_dir(plan: RunDirPlan, config_path: str | None) -> Path:
    """Make the planned directory (claiming a fresh timestamped name atomically) and return it."""
    if plan.fresh_name:
        return new_run_dir(config_path or "run")
    try:
        plan.path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"output.dir: cannot create {plan.path}: {exc.strerror or exc}") from None
    return plan.path


def new_run_dir(config_path: str) -> Path:
    """Create runs/<config name>-<date>-<time> for a config without output.dir.

    Created atomically, with a -2, -3... suffix when runs of one config start in the same
    second, so parallel runs never share a directory.
    """
    base = f"{Path(config_path).stem}-{datetime.now():%Y%m%d-%H%M%S}"
    try:
        RUNS_ROOT.mkdir(parents=True, exist_ok=True)
        for attempt in itertools.count(1):
            candidate = RUNS_ROOT / (base if attempt == 1 else f"{base}-{attempt}")
            try:
                candidate.mkdir()
                return candidate
            except FileExistsError:
                continue
    except OSError as exc:
        raise ConfigError(f"cannot create a run directory in {RUNS_ROOT}/: {exc.strerror or exc}; "
                          "set output.dir") from None


def newest_run_dir(config_path: str | None) -> Path:
    """The latest runs/<config name>-<date>-<time>[-N] directory, for `--resume auto` without output.dir."""
    stem = Path(config_path or "run").stem
    pattern = re.compile(rf"{re.escape(stem)}-(\d{{8}}-\d{{6}})(?:-(\d+))?")
    found = [(match[1], int(match[2] or 1), path) for path in (RUNS_ROOT.iterdir() if RUNS_ROOT.is_dir() else ())
             if path.is_dir() and (match := pattern.fullmatch(path.name))]
    if not found:
        raise ConfigError(f"--resume auto: no earlier run of {config_path} in {RUNS_ROOT}/ "
                          f"(looked for {stem}-<date>-<time>); pass the run directory instead")
    return max(found)[2]


def refuse_existing_run(run_dir: Path) -> None:
    """A fresh run must not mix its files with an earlier run's (one that never trained, leaving only its
    config.yaml or test.csv, is simply replaced)."""
    found = [name for name in RECORD_FILES if (run_dir / name).exists()]
    if found:
        resumable = "pass --resume auto to continue it, " if (run_dir / "last.npz").exists() else ""
        raise ConfigError(f"{run_dir} already holds a run ({', '.join(found)}); {resumable}pass --overwrite to "
                          "replace it, or set output.dir (e.g. --set output.dir=runs/other)")


def clear_run(run_dir: Path) -> None:
    """Remove an earlier run's files (for --overwrite), leaving anything else in the folder alone."""
    for path in [run_dir / name for name in RUN_FILES] + kept_checkpoints(run_dir):
        path.unlink(missing_ok=True)


class RunLock:
    """An exclusive lock on a run directory for as long as a fit uses it (released when the process dies)."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_NAME
        self._handle = None

    def acquire(self) -> "RunLock":
        while True:
            handle = self._open_locked()
            try:  # the holder before us may have removed the file after we opened it: lock the file that is there
                if os.fstat(handle.fileno()).st_ino == os.stat(self.path).st_ino:
                    break
            except FileNotFoundError:
                pass
            handle.close()
        handle.seek(0)
        handle.truncate()
        handle.write(f"nntrain fit (process {os.getpid()}, started {datetime.now().astimezone():%Y-%m-%d %H:%M:%S})")
        handle.flush()
        self._handle = handle
        return self

    def _open_locked(self):
        try:
            handle = open(self.path, "a+", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"output.dir: cannot write to {self.path.parent}: {exc.strerror or exc}") from None
        deadline = time.monotonic() + CHECKER_GRACE
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return handle
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    handle.close()
                    raise ConfigError(f"cannot lock {self.path}: {exc.strerror or exc}") from None
                handle.seek(0)
                holder = handle.read().strip()
                if _alive(holder) or time.monotonic() > deadline:  # a fit holds it, not a passing `runs`/`check`
                    handle.close()
                    raise _in_use(self.path.parent, holder or "another process") from None
                time.sleep(0.01)

    def release(self) -> None:
        """Remove the lock file, then drop the lock (a killed process leaves the file, but never the lock)."""
        if self._handle is not None:
            self.path.unlink(missing_ok=True)
            self._handle.close()
            self._handle = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _in_use(run_dir: Path, holder: str) -> ConfigError:
    return ConfigError(f"{run_dir} is in use by {holder}; wait for that run to finish, or choose another output.dir "
                       "(e.g. --set output.dir=runs/other)")


def _alive(holder: str) -> bool:
    """Whether the process a lock file names (`... (process 1234, ...)`) is running."""
    match = re.search(r"process (\d+)", holder)
    if not match:
        return False
    try:
        os.kill(int(match[1]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_holder(run_dir: Path) -> str | None:
    """Who is using the run directory right now (as its lock file says), or None if nobody is."""
    path = Path(run_dir) / LOCK_NAME
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return handle.read().strip() or "another process"
    except OSError:
        return None
    return None


def read_summary(run_dir: Path) -> dict:
    """summary.json as a dict, or {} when it is missing or unreadable."""
    try:
        summary = json.loads((Path(run_dir) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return summary if isinstance(summary, dict) else {}
