"""Training speed of the LeNet-5 of cnn.py on 28x28x1 inputs: forward + loss + backward, float32, batch 64.

    .venv/bin/python benchmarks/conv_speed.py [--batches 20] [--repeats 7] [--layers]

Prints the median samples per second over the repeats (each repeat times
`--batches` training steps after a warm-up), and with `--layers` the median
time of each layer's forward and backward pass. No optimizer step: this
measures the engine, not the update. BLAS threads matter on small machines;
compare with OPENBLAS_NUM_THREADS=1.
"""

import argparse
import statistics
import time

import numpy as np

from cnn import LENET
from nntrain.nn.losses import LOSSES
from nntrain.nn.model import build_model

BATCH = 64


def setup():
    """The LeNet model, its loss, and 8 batches of random inputs and labels."""
    rng = np.random.default_rng(0)
    model = build_model(LENET, (28, 28, 1), np.float32, rng)
    x = rng.standard_normal((8, BATCH, 28, 28, 1)).astype(np.float32)
    return model, LOSSES["cross_entropy"](), x, rng.integers(0, 10, (8, BATCH))


def training_step(model, loss, x, y) -> None:
    _, grad = loss.value_and_grad(model.forward(x, training=True), y)
    model.backward(grad)


def samples_per_second(model, loss, x, y, batches: int, repeats: int) -> list[float]:
    for _ in range(3):
        training_step(model, loss, x[0], y[0])
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(batches):
            training_step(model, loss, x[i % len(x)], y[i % len(y)])
        rates.append(batches * BATCH / (time.perf_counter() - start))
    return rates


def layer_times(model, loss, x, y, repeats: int) -> list[tuple[str, float, float]]:
    """Median milliseconds of each layer's forward and backward pass over `repeats` steps."""
    forward = {name: [] for name in model.names}
    backward = {name: [] for name in model.names}
    for step in range(repeats + 3):
        out = x[step % len(x)]
        for name, layer in zip(model.names, model.layers):
            start = time.perf_counter()
            out = layer.forward(out, training=True)
            forward[name].append(time.perf_counter() - start)
        _, grad = loss.value_and_grad(out, y[step % len(y)])
        for name, layer in zip(reversed(model.names), reversed(model.layers)):
            start = time.perf_counter()
            grad = layer.backward(grad)
            backward[name].append(time.perf_counter() - start)
    return [(name, 1e3 * statistics.median(forward[name][3:]), 1e3 * statistics.median(backward[name][3:]))
            for name in model.names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20, help="training steps per timed repeat")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats; the median is reported")
    parser.add_argument("--layers", action="store_true", help="also time each layer's forward and backward")
    args = parser.parse_args()

    model, loss, x, y = setup()
    rates = samples_per_second(model, loss, x, y, args.batches, args.repeats)
    print(f"LeNet 28x28x1, batch {BATCH}, float32, forward+backward: "
          f"median {statistics.median(rates):,.0f} samples/s "
          f"(min {min(rates):,.0f}, max {max(rates):,.0f}; {args.repeats} x {args.batches} steps)")
    if args.layers:
        rows = layer_times(model, loss, x, y, max(args.repeats * 3, 10))
        total = sum(f + b for _, f, b in rows)
        print(f"{'layer':<12}{'forward ms':>12}{'backward ms':>13}{'share':>8}")
        for name, f, b in rows:
            print(f"{name:<12}{f:>12.3f}{b:>13.3f}{(f + b) / total:>8.0%}")


if __name__ == "__main__":
    main()
