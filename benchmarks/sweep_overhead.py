"""Per-trial overhead of `nntrain sweep` against a short trial's training time, in-process and as a subprocess:

  in-process   what `nntrain sweep` does: each trial trained by nntrain.fit inside the worker process
  subprocess   one `nntrain fit` process per trial, the isolation the sweep does not pay for

A short trial: an MLP 64-32 on 20,000 rows x 10 features, 10 epochs of batch 64 (about half a second of
training). A trial's
overhead is everything but its epochs: its marginal wall time in a sweep minus its training
time (summary.json's `train_seconds`). The marginal time is the difference between sweeps of
MANY and FEW trials divided by the difference, so process start-up and the sweep's up-front
checks cancel, while the storage I/O (SQLite: ask, a report per epoch, attributes, tell), the
config, data preparation and the run directory's files stay in. For a subprocess it is the
wall time of a whole `nntrain fit` process (start-up, imports, data, files) minus its epochs,
before any storage I/O, which a subprocess trial would pay on top.

    python benchmarks/sweep_overhead.py [--repeats 3]
"""

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from common import alternate, machine, print_table

BIN = Path(sys.executable).parent
ROWS, FEATURES, EPOCHS = 20_000, 10, 10
FEW, MANY = 2, 12
IN_PROCESS, SUBPROCESS = "in-process (nntrain sweep)", "subprocess (nntrain fit per trial)"
TITLE = f"Sweep: per-trial overhead against a short trial ({ROWS:,} rows x {FEATURES}, MLP 64-32, {EPOCHS} epochs)"


def make_base(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((ROWS, FEATURES)).astype(np.float32)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(FEATURES)])
    frame["y"] = np.where(x[:, 0] + x[:, 1] > 0, "a", "b")
    frame.to_csv(folder / "data.csv", index=False, float_format="%.6g")
    base = folder / "base.yaml"
    base.write_text(f"""
data: {{train: {folder / 'data.csv'}, target: y, pipeline: [{{type: normalize}}]}}
model: {{layers: [{{type: dense, units: 64, activation: relu}}, {{type: dense, units: 32, activation: relu}}]}}
training: {{epochs: {EPOCHS}, batch_size: 64}}
""")
    return base


class Cases:
    """Each call of a contender works in a fresh directory, so every sweep starts a new study."""

    def __init__(self, folder: Path, base: Path):
        self.folder, self.base = folder, base
        self.count = itertools.count()
        self.sweeps: dict[int, list[float]] = {FEW: [], MANY: []}
        self.fits: list[float] = []
        self.train: list[float] = []  # train_seconds of every trial and fit

    def sweep(self, trials: int):
        def run():
            folder = self.folder / f"sweep-{next(self.count)}"
            sweep = self.folder / f"{folder.name}.sweep.yaml"
            sweep.write_text(f"base: {self.base}\ndir: {folder}\ntrials: {trials}\nsampler: {{type: random}}\n"
                             "pruner: none\nspace:\n  optimizer.lr: {type: float, low: 1.0e-3, high: 1.0e-2, "
                             "log: true}\n")
            subprocess.run([BIN / "nntrain", "sweep", sweep, "-q"], check=True)
            self.train += [_summary(path)["train_seconds"] for path in folder.glob("trial-*")]
        return run

    def fit(self):
        run_dir = self.folder / f"fit-{next(self.count)}"
        subprocess.run([BIN / "nntrain", "fit", self.base, "-q", "--set", f"output.dir={run_dir}"], check=True)
        self.train.append(_summary(run_dir)["train_seconds"])


def _summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def measure(repeats: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cases = Cases(Path(tmp), make_base(Path(tmp)))
        times = alternate({f"sweep of {FEW}": cases.sweep(FEW), f"sweep of {MANY}": cases.sweep(MANY),
                           "nntrain fit": cases.fit}, repeats)
    train = statistics.median(cases.train)
    marginal = (times[f"sweep of {MANY}"] - times[f"sweep of {FEW}"]) / (MANY - FEW)
    return {"train": train, IN_PROCESS: marginal - train, SUBPROCESS: times["nntrain fit"] - train, **times}


def report(results: dict) -> list[tuple]:
    train = results["train"]
    return [("per trial", "seconds", "/ training time"),
            ("training (the epochs alone)", f"{train:.3f}", "1.00"),
            *((f"overhead, {name}", f"{results[name]:.3f}", f"{results[name] / train:.2f}")
              for name in (IN_PROCESS, SUBPROCESS)),
            (f"whole sweep of {FEW} / of {MANY} trials", f"{results[f'sweep of {FEW}']:.2f} / "
                                                         f"{results[f'sweep of {MANY}']:.2f}", "")]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per case; medians are reported")
    args = parser.parse_args()
    print(machine())
    print_table(TITLE, report(measure(args.repeats)))
