"""Peak memory of `cat huge.csv | nntrain predict RUN -`: flat, whatever the size of the input.

Writes a CSV of about SIZE bytes (10 decimal features, an ID and a class label) into a temporary
folder, trains a small classifier on its first rows, then pipes the file through `cat` into
`nntrain predict RUN - --keep id --proba` as a child process and reads its output as it comes.
Reports the child's peak resident memory (from os.wait4, which getrusage fills in for it), the
rows in and out (which must be equal) and the throughput.

    python benchmarks/predict_memory.py [--size 2GB] [--quick]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from common import machine, print_table

BIN = Path(sys.executable).parent
FEATURES = 10
BLOCK_ROWS = 200_000  # rows formatted once and written again and again, until the file has its size
UNITS = {"KB": 2**10, "MB": 2**20, "GB": 2**30}


def size_bytes(text: str) -> int:
    for unit, factor in UNITS.items():
        if text.upper().endswith(unit):
            return int(float(text[:-len(unit)]) * factor)
    return int(text)


def write_csv(path: Path, size: int) -> int:
    """A CSV of about `size` bytes (whole blocks of BLOCK_ROWS rows, at least one); returns its data rows."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BLOCK_ROWS, FEATURES)).astype(np.float32)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(FEATURES)])
    frame.insert(0, "id", [f"r{i:07d}" for i in range(BLOCK_ROWS)])
    frame["label"] = np.where(x[:, 0] + x[:, 1] > 0, "up", "down")
    block = frame.to_csv(index=False, float_format="%.6g").encode()
    header, body = block.split(b"\n", 1)
    rows = 0
    with open(path, "wb") as out:
        out.write(header + b"\n")
        while rows == 0 or out.tell() + len(body) <= size:
            out.write(body)
            rows += BLOCK_ROWS
    frame.head(5000).to_csv(path.parent / "train.csv", index=False, float_format="%.6g")
    return rows


def train(folder: Path) -> Path:
    (folder / "c.yaml").write_text(f"""
seed: 0
data: {{train: {folder / 'train.csv'}, target: label, pipeline: [{{type: drop, columns: [id]}}, {{type: normalize}}]}}
model: {{layers: [{{type: dense, units: 64, activation: relu}}, {{type: dense, units: 32, activation: relu}}]}}
training: {{epochs: 2, batch_size: 128}}
output: {{dir: {folder / 'run'}}}
""")
    subprocess.run([str(BIN / "nntrain"), "fit", str(folder / "c.yaml"), "-q"], check=True)
    return folder / "run"


def predict_piped(run: Path, data: Path) -> dict:
    """`cat data | nntrain predict run - --keep id --proba`: the child's peak RSS, output rows, seconds, and
    how long until its first output arrived."""
    started = time.perf_counter()
    cat = subprocess.Popen(["cat", str(data)], stdout=subprocess.PIPE)
    child = subprocess.Popen([str(BIN / "nntrain"), "predict", str(run), "-", "--keep", "id", "--proba", "-q"],
                             stdin=cat.stdout, stdout=subprocess.PIPE)
    cat.stdout.close()  # the child holds the pipe now
    lines, first = 0, None
    while block := child.stdout.read1(1 << 20):
        first = first or time.perf_counter() - started
        lines += block.count(b"\n")
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    cat.wait()
    if child.returncode:
        raise SystemExit(f"nntrain predict exited {child.returncode}")
    return {"peak": usage.ru_maxrss * 1024, "rows_out": lines - 1, "seconds": time.perf_counter() - started,
            "first": first}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", action="append", help="CSV size, e.g. 200MB or 2GB (repeatable; default 2GB)")
    parser.add_argument("--quick", action="store_true", help="20 MB and 100 MB only")
    args = parser.parse_args()
    sizes = ["20MB", "100MB"] if args.quick else args.size or ["2GB"]
    print(machine())
    rows = [("CSV", "rows in", "rows out", "peak RSS", "first output", "seconds", "rows/s")]
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            data = folder / "data.csv"
            rows_in = write_csv(data, size_bytes(size))
            measured = predict_piped(train(folder), data)
            rows.append((f"{data.stat().st_size / 2**20:,.0f} MB", f"{rows_in:,}", f"{measured['rows_out']:,}",
                         f"{measured['peak'] / 2**20:,.0f} MB", f"{measured['first']:.1f} s",
                         f"{measured['seconds']:.1f}", f"{rows_in / measured['seconds']:,.0f}"))
            if measured["rows_out"] != rows_in:
                print(f"  rows out {measured['rows_out']} != rows in {rows_in}")
    print_table("cat data.csv | nntrain predict run - --keep id --proba", rows)


if __name__ == "__main__":
    main()
