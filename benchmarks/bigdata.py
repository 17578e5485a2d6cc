"""Tables bigger than memory: `nntrain prepare` and `nntrain fit` under a `data.memory_limit` far below the table.

For each size, a CSV of 20 float columns and a 3-class label is generated; then, each in a child
process whose peak RSS comes from `os.wait4` (getrusage of that child, started by a small launcher):
  prepare     `nntrain prepare` (its streaming passes), rows/s over all passes
  fit_mmap    `nntrain fit` with data.memory_limit 64MB: reuses the preparation, one epoch from the prepared files
and, on the smallest size only, the floors and the in-memory path:
  read_csv    pandas.read_csv of the whole file, rows/s
  fit_ram     `nntrain fit` with the table in memory, one epoch

    python benchmarks/bigdata.py                 # about 0.5 GB and 5 GB (minutes, and 5 GB of disk)
    python benchmarks/bigdata.py --quick         # about 50 MB and 250 MB
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from common import machine, print_table

BIN = Path(sys.executable).parent
FEATURES = 20


def write_csv(path: Path, size: int, chunk: int = 200_000) -> int:
    """A CSV of about `size` bytes (values with 4 decimals, written by pyarrow: pandas' to_csv would take most of
    the benchmark's time); returns its rows."""
    import pyarrow as pa
    import pyarrow.csv

    rng = np.random.default_rng(0)
    centers = rng.normal(0, 2, (3, FEATURES))
    rows = 0
    with open(path, "wb") as handle:
        writer = None
        while handle.tell() < size:
            labels = rng.integers(0, 3, chunk)
            x = np.round(centers[labels] + rng.normal(0, 1, (chunk, FEATURES)), 4)
            table = pa.table({**{f"f{i}": x[:, i] for i in range(FEATURES)},
                              "label": np.array(["a", "b", "c"])[labels]})
            writer = writer or pyarrow.csv.CSVWriter(handle, table.schema)
            writer.write_table(table)
            rows += chunk
        writer.close()
    return rows


# Linux keeps a process's peak RSS across exec, so a child forked from this process (which holds the generated
# chunks, pandas and pyarrow) would report at least this process's size: each child is started by a small
# launcher, whose own ~10 MB is the floor, and which reports the child's getrusage (wait4).
LAUNCHER = """
import os, subprocess, sys, time
started = time.perf_counter()
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(process.pid, 0)
print(os.waitstatus_to_exitcode(status), time.perf_counter() - started, usage.ru_maxrss * 1024)
"""


def child(*args) -> tuple[float, int]:
    """Seconds and peak RSS in bytes of a child process (its own getrusage, via wait4 in the launcher)."""
    launched = subprocess.run([sys.executable, "-c", LAUNCHER, *map(str, args)], capture_output=True, text=True)
    code, seconds, peak = launched.stdout.split()
    if int(code) != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{launched.stderr}")
    return float(seconds), int(peak)


def config(folder: Path, train: Path, limit: str) -> Path:
    path = folder / f"c-{limit}.yaml"
    path.write_text(f"""
data: {{train: {train}, target: label, memory_limit: {limit}, pipeline: [{{type: normalize}}]}}
model: {{layers: [{{type: dense, units: 32, activation: relu}}]}}
training: {{epochs: 1, batch_size: 256}}
output: {{dir: {folder / ('run-' + limit)}}}
""")
    return path


def measure(folder: Path, size: int, floors: bool) -> dict:
    data = folder / "big.csv"
    rows = write_csv(data, size)
    result = {"bytes": data.stat().st_size, "rows": rows}
    streaming = config(folder, data, "64MB")
    result["prepare"] = child(BIN / "nntrain", "prepare", streaming, "-o", folder / "big.prepared", "-q")
    result["fit_mmap"] = child(BIN / "nntrain", "fit", streaming, "-q")
    if floors:
        result["read_csv"] = child(sys.executable, "-c", f"import pandas; pandas.read_csv({str(data)!r})")
        result["fit_ram"] = child(BIN / "nntrain", "fit", config(folder, data, "1000GB"), "-q")
    data.unlink()
    return result


def report(results: list[dict]) -> list[tuple]:
    """Each step's seconds, rows/s, peak RSS, and rows/s against the smallest size's read_csv and in-memory fit."""
    floors = {step: results[0]["rows"] / results[0][step][0] for step in ("read_csv", "fit_ram") if step in results[0]}
    rows = [("size", "rows", "step", "seconds", "rows/s", "× read_csv", "× fit in RAM", "peak RSS")]
    for result in results:
        size = f"{result['bytes'] / 1e9:.2f} GB"
        for step in ("prepare", "fit_mmap", "read_csv", "fit_ram"):
            if step in result:
                seconds, peak = result[step]
                rate = result["rows"] / seconds
                ratios = [f"{rate / floors[floor]:.2f}" if floor in floors else "" for floor in ("read_csv", "fit_ram")]
                rows.append((size, f"{result['rows']:,}", step, f"{seconds:.1f}", f"{rate:,.0f}", *ratios,
                             f"{peak / 1e6:.0f} MB"))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 50 MB and 250 MB instead of 0.5 GB and 5 GB")
    parser.add_argument("--sizes", type=float, nargs="+", help="sizes in GB (overrides --quick)")
    args = parser.parse_args()
    sizes = args.sizes or ([0.05, 0.25] if args.quick else [0.5, 5.0])
    print(machine())
    measured = []
    for index, size in enumerate(sizes):
        with tempfile.TemporaryDirectory(dir=os.environ.get("BIGDATA_TMP")) as tmp:
            measured.append(measure(Path(tmp), int(size * 1e9), floors=index == 0))
    print_table("tables bigger than data.memory_limit (64MB), normalize pipeline, one epoch", report(measured))
