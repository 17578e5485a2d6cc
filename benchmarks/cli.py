"""The command line's own costs, end to end through real processes:

  predict throughput  `nntrain predict` on a 1,000,000-row CSV, against pandas.read_csv alone (the floor)
  start-up            `nntrain --help` and `nntrain predict` on a one-row CSV, against `import numpy, pandas`
  fit memory          peak resident memory of `nntrain fit` on a float32 dataset of S bytes, against 2.5·S + 150 MB

    python benchmarks/cli.py [--rows 1000000] [--repeats 3]
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from common import alternate, machine, print_table

BIN = Path(sys.executable).parent
FEATURES = 10
PREDICT, READ_CSV = "nntrain predict", "pandas.read_csv"
HELP, PREDICT_ONE, IMPORTS = "nntrain --help", "nntrain predict (1 row)", "python -c 'import numpy, pandas'"


def nntrain(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "nntrain"), *map(str, args)], capture_output=True, text=True, check=True)


def command(*args):
    """A contender that runs a command to completion (timed whole by `alternate`)."""
    def run():
        subprocess.run([*map(str, args)], capture_output=True, check=True)
    return run


def make_run(folder: Path, rows: int, epochs: int = 1) -> tuple[Path, Path]:
    """A CSV of `rows` rows and a trained regression run on its first 5,000 rows."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, FEATURES)).astype(np.float32)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(FEATURES)])
    frame["y"] = x @ rng.standard_normal(FEATURES).astype(np.float32)
    data = folder / "data.csv"
    frame.to_csv(data, index=False, float_format="%.6g")
    frame.head(5000).to_csv(folder / "train.csv", index=False, float_format="%.6g")
    (folder / "c.yaml").write_text(f"""
data: {{train: {folder / 'train.csv'}, target: y, pipeline: [{{type: normalize}}]}}
model: {{layers: [{{type: dense, units: 64, activation: relu}}, {{type: dense, units: 32, activation: relu}}]}}
training: {{epochs: {epochs}, batch_size: 128}}
output: {{dir: {folder / 'run'}}}
""")
    nntrain("fit", folder / "c.yaml", "-q")
    return folder / "run", data


def predict_times(folder: Path, rows: int, repeats: int) -> dict[str, float]:
    """Median seconds of `nntrain predict` and of pandas.read_csv alone on a CSV of `rows` rows."""
    run, data = make_run(folder, rows)
    return alternate({
        PREDICT: command(BIN / "nntrain", "predict", run, data, "-o", folder / "out.csv"),
        READ_CSV: command(sys.executable, "-c", f"import pandas; pandas.read_csv({str(data)!r})"),
    }, repeats)


def predict_report(times: dict[str, float], rows: int) -> list[tuple]:
    rate = {name: rows / seconds for name, seconds in times.items()}
    return [("contender", "seconds", "rows/s"),
            *((name, f"{times[name]:.2f}", f"{rate[name]:,.0f}") for name in times),
            ("nntrain / read_csv throughput", f"{rate[PREDICT] / rate[READ_CSV]:.0%}", "")]


def startup_times(folder: Path, repeats: int) -> dict[str, float]:
    """Median seconds of `nntrain --help`, a one-row `nntrain predict` and `import numpy, pandas`."""
    run, _ = make_run(folder, 10)
    one_row = folder / "one.csv"
    pd.read_csv(folder / "data.csv").head(1).to_csv(one_row, index=False)
    return alternate({
        HELP: command(BIN / "nntrain", "--help"),
        PREDICT_ONE: command(BIN / "nntrain", "predict", run, one_row),
        IMPORTS: command(sys.executable, "-c", "import numpy, pandas"),
    }, repeats)


def startup_report(times: dict[str, float]) -> list[tuple]:
    return [("command", "seconds", "/ import numpy, pandas"),
            *((name, f"{seconds:.3f}", f"{seconds / times[IMPORTS]:.2f}") for name, seconds in times.items())]


def fit_memory(folder: Path, rows: int) -> tuple[int, int]:
    """Bytes S of `rows` x FEATURES float32 values, and the peak RSS in bytes of a child `nntrain fit` on them."""
    run_folder = folder / "memory"
    run_folder.mkdir()
    make_run(run_folder, 10)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((rows, FEATURES)).astype(np.float32)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(FEATURES)])
    frame["y"] = x.sum(axis=1)
    frame.to_csv(run_folder / "train.csv", index=False, float_format="%.6g")
    measured = subprocess.run(["/usr/bin/time", "-f", "%M", str(BIN / "nntrain"), "fit", run_folder / "c.yaml", "-q",
                               "--overwrite"], capture_output=True, text=True, check=True)
    return x.nbytes, int(measured.stderr.strip().splitlines()[-1]) * 1024  # kilobytes of the child's peak RSS


def memory_budget(size: int) -> int:
    return int(2.5 * size) + 150 * 2**20


def memory_report(size: int, peak: int) -> list[tuple]:
    return [("dataset S (float32)", f"{size / 2**20:.0f} MB"), ("peak RSS of fit", f"{peak / 2**20:.0f} MB"),
            ("budget 2.5·S + 150 MB", f"{memory_budget(size) / 2**20:.0f} MB"),
            ("within budget", str(peak <= memory_budget(size)))]


def measure(rows: int, memory_rows: int, repeats: int) -> dict:
    """All three measurements, each in a fresh temporary folder."""
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["predict"] = predict_times(Path(tmp), rows, repeats)
    with tempfile.TemporaryDirectory() as tmp:
        results["startup"] = startup_times(Path(tmp), max(5, repeats))
    with tempfile.TemporaryDirectory() as tmp:
        results["memory"] = fit_memory(Path(tmp), memory_rows)
    return results


def print_report(results: dict, rows: int) -> None:
    print_table(f"predict throughput ({rows:,} rows x {FEATURES} features)", predict_report(results["predict"], rows))
    print_table("start-up", startup_report(results["startup"]))
    print_table("peak memory of fit", memory_report(*results["memory"]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--memory-rows", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(machine())
    print_report(measure(args.rows, args.memory_rows, args.repeats), args.rows)
