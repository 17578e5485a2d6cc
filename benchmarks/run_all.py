"""Every benchmark case in one run, then each performance target with its measured value and whether it is met.

    make bench                                  # installs the bench extra, then runs this
    .venv/bin/python benchmarks/run_all.py [--repeats 5] [--runs 3] [--quick]

Runs the cases of mlp.py, cnn.py (the CNN and LeNet-5), conv_speed.py, images.py, cli.py and sweep_overhead.py
in turn (each also runs on its own) and prints their tables, then the summary: every target of issue 19 with
its measured value and met / NOT MET; with `--runs 3`, the whole set runs three times and each target is
judged on the median of the three runs (as issue 19 asks). `--quick` is a smoke run: one repeat and smaller inputs, so its
figures say little.
"""

import argparse
import importlib.util
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import NamedTuple

import cli
import cnn
import conv_speed
import images
import mlp
import sweep_overhead
from common import machine, print_table


class Target(NamedTuple):
    """One target of issue 19: its wording, the measured value, how the value is shown, and whether a value meets it."""

    name: str
    value: float
    shown: Callable[[float], str]
    met: Callable[[float], bool]


def targets(mlp_times: dict, cnn_times: dict, lenet_times: dict, image_ratios: dict, cli_results: dict,
            rows: int) -> list[Target]:
    """Every target with its value from one run; a peer that did not run gives NaN, which meets nothing."""
    startup, predict = cli_results["startup"], cli_results["predict"]
    size, peak = cli_results["memory"]
    budget = cli.memory_budget(size)
    at_most = lambda limit: lambda value: value <= limit  # noqa: E731
    at_least = lambda limit: lambda value: value >= limit  # noqa: E731
    ratio, share = "{:.2f}".format, "{:.0%}".format
    return [
        Target("MLP epoch: nntrain / PyTorch CPU <= 0.50",
               mlp_times["nntrain"] / mlp_times.get("PyTorch (CPU)", math.nan), ratio, at_most(0.5)),
        Target("MLP epoch: nntrain / scikit-learn <= 0.40",
               mlp_times["nntrain"] / mlp_times.get("scikit-learn", math.nan), ratio, at_most(0.4)),
        Target("MLP epoch: matrix products' share of nntrain's epoch >= 70%",
               mlp_times["matmuls only"] / mlp_times["nntrain"], share, at_least(0.7)),
        Target("CNN epoch: nntrain / PyTorch CPU <= 1.00",
               cnn_times["nntrain"] / cnn_times.get("PyTorch (CPU)", math.nan), ratio, at_most(1)),
        Target("LeNet-5 epoch: nntrain / PyTorch CPU <= 1.00",
               lenet_times["nntrain"] / lenet_times.get("PyTorch (CPU)", math.nan), ratio, at_most(1)),
        Target(f"`nntrain predict` {rows:,} rows >= 60% of read_csv throughput",
               predict[cli.READ_CSV] / predict[cli.PREDICT], share, at_least(0.6)),
        *(Target(f"image folder {case}: decode-and-load rate / Pillow >= 0.9 (today's loader, no image cache)",
                 value, ratio, at_least(0.9)) for case, value in image_ratios.items()),
        Target(f"`nntrain fit` peak memory <= 2.5·S + 150 MB (budget {budget / 2**20:.0f} MB)", peak,
               lambda value: f"{value / 2**20:.0f} MB", at_most(budget)),
        Target("`nntrain --help` <= 0.40 x `import numpy, pandas`", startup[cli.HELP] / startup[cli.IMPORTS],
               lambda value: f"{value:.2f} x", at_most(0.4)),
    ]


def summary(runs: list[list[Target]]) -> list[tuple]:
    """The table of targets: each run's value, their median, and whether the median meets the target."""
    labels = [f"run {index}" for index in range(1, len(runs) + 1)] if len(runs) > 1 else ["measured"]
    rows = [("target", *labels, *(["median"] if len(runs) > 1 else []), "met?")]
    for measured in zip(*runs):
        first, values = measured[0], [target.value for target in measured]
        middle = statistics.median(values)
        rows.append((first.name, *map(first.shown, values), *([first.shown(middle)] if len(runs) > 1 else []),
                     "met" if first.met(middle) else "NOT MET"))
    return rows


def one_run(repeats: int, quick: bool) -> list[Target]:
    """Every case once, printing its table as it ends; returns the targets' values."""
    batches, rows, memory_rows, files = (5, 100_000, 200_000, 500) if quick else (20, 1_000_000, 2_000_000, 10_000)
    mlp_times = mlp.measure(repeats)
    print_table(mlp.TITLE, mlp.report(mlp_times))
    cnn_times = cnn.measure(repeats)
    print_table(cnn.TITLE, cnn.report(cnn_times))
    lenet_times = cnn.measure(repeats, "lenet")
    print_table(cnn.LENET_TITLE, cnn.report(lenet_times))
    rates = conv_speed.samples_per_second(*conv_speed.setup(), batches, repeats)
    print_table(f"LeNet conv, forward + backward (28x28x1, batch {conv_speed.BATCH}, float32, {repeats} x {batches} steps)",
                [("median samples/s", f"{statistics.median(rates):,.0f}"),
                 ("min, max", f"{min(rates):,.0f}, {max(rates):,.0f}")])
    image_times = images.measure(files, repeats)
    print_table(f"image-folder decode and load ({files:,} PNGs per case)", images.report(image_times, files))
    cli_results = cli.measure(rows, memory_rows, repeats)
    cli.print_report(cli_results, rows)
    if importlib.util.find_spec("optuna"):
        print_table(sweep_overhead.TITLE, sweep_overhead.report(sweep_overhead.measure(repeats)))
    else:
        print("\n(sweep overhead skipped: optuna is not installed: pip install -e '.[bench]')")
    return targets(mlp_times, cnn_times, lenet_times, images.ratios(image_times), cli_results, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per case; medians are reported")
    parser.add_argument("--runs", type=int, default=1,
                        help="whole runs one after another; the targets are judged on the median of the runs")
    parser.add_argument("--quick", action="store_true", help="smoke run: one repeat, smaller CLI inputs")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # tables appear as each case ends, also through a pipe
    repeats = 1 if args.quick else args.repeats

    print(machine())
    runs = []
    for index in range(1, args.runs + 1):
        if args.runs > 1:
            print(f"\n== run {index} of {args.runs} ({time.strftime('%H:%M:%S')}, load average "
                  f"{os.getloadavg()[0]:.2f}) ==")
        runs.append(one_run(repeats, args.quick))
    title = "Targets" + (f" (median of {args.runs} runs)" if args.runs > 1 else "")
    print_table(title + (" (quick run: indicative only)" if args.quick else ""), summary(runs))


if __name__ == "__main__":
    main()
