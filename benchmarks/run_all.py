"""Every benchmark case in one run, then each performance target with its measured value and whether it is met.

    make bench                                  # installs the bench extra, then runs this
    .venv/bin/python benchmarks/run_all.py [--repeats 5] [--quick]

Runs the cases of mlp.py, cnn.py (the CNN and LeNet-5), conv_speed.py, images.py, cli.py and sweep_overhead.py
in turn (each also runs on its own) and prints their tables, then the summary: every target of issue 19 with
its measured value and met / NOT MET. `--quick` is a smoke run: one repeat and smaller inputs, so its
figures say little.
"""

import argparse
import importlib.util
import math
import statistics
import sys

import cli
import cnn
import conv_speed
import images
import mlp
import sweep_overhead
from common import machine, print_table


def summary(mlp_times: dict, cnn_times: dict, lenet_times: dict, image_ratios: dict, cli_results: dict,
            rows: int) -> list[tuple]:
    """(target, measured, met?) for each target; a peer that did not run counts as not met."""
    startup, predict = cli_results["startup"], cli_results["predict"]
    size, peak = cli_results["memory"]
    mlp_torch = mlp_times["nntrain"] / mlp_times.get("PyTorch (CPU)", math.nan)
    mlp_sklearn = mlp_times["nntrain"] / mlp_times.get("scikit-learn", math.nan)
    matmul_share = mlp_times["matmuls only"] / mlp_times["nntrain"]
    cnn_torch = cnn_times["nntrain"] / cnn_times.get("PyTorch (CPU)", math.nan)
    lenet_torch = lenet_times["nntrain"] / lenet_times.get("PyTorch (CPU)", math.nan)
    help_share = startup[cli.HELP] / startup[cli.IMPORTS]
    throughput = predict[cli.READ_CSV] / predict[cli.PREDICT]
    checks = [
        ("MLP epoch: nntrain / PyTorch CPU <= 0.50", f"{mlp_torch:.2f}", mlp_torch <= 0.5),
        ("MLP epoch: nntrain / scikit-learn <= 0.40", f"{mlp_sklearn:.2f}", mlp_sklearn <= 0.4),
        ("MLP epoch: matrix products' share of nntrain's epoch >= 70%", f"{matmul_share:.0%}", matmul_share >= 0.7),
        ("CNN epoch: nntrain / PyTorch CPU <= 1.00", f"{cnn_torch:.2f}", cnn_torch <= 1),
        ("LeNet-5 epoch: nntrain / PyTorch CPU <= 1.00", f"{lenet_torch:.2f}", lenet_torch <= 1),
        (f"`nntrain predict` {rows:,} rows >= 60% of read_csv throughput", f"{throughput:.0%}", throughput >= 0.6),
        *((f"image folder {case}: decode-and-load rate / Pillow >= 0.9 (today's loader, no image cache)",
           f"{ratio:.2f}", ratio >= 0.9) for case, ratio in image_ratios.items()),
        ("`nntrain fit` peak memory <= 2.5·S + 150 MB",
         f"{peak / 2**20:.0f} MB (budget {cli.memory_budget(size) / 2**20:.0f} MB)", peak <= cli.memory_budget(size)),
        ("`nntrain --help` <= 0.40 x `import numpy, pandas`", f"{help_share:.2f} x ({startup[cli.HELP]:.3f} s)",
         help_share <= 0.4),
    ]
    return [("target", "measured", "met?"), *((target, value, "met" if met else "NOT MET") for target, value, met in checks)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per case; medians are reported")
    parser.add_argument("--quick", action="store_true", help="smoke run: one repeat, smaller CLI inputs")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # tables appear as each case ends, also through a pipe
    repeats = 1 if args.quick else args.repeats
    batches, rows, memory_rows, files = (5, 100_000, 200_000, 500) if args.quick else (20, 1_000_000, 2_000_000, 10_000)

    print(machine())
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
    print_table("Targets" + (" (quick run: indicative only)" if args.quick else ""),
                summary(mlp_times, cnn_times, lenet_times, images.ratios(image_times), cli_results, rows))


if __name__ == "__main__":
    main()
