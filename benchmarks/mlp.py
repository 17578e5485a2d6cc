"""One training epoch of a 784-256-128-10 MLP (ReLU, Adam, batch 128, 60,000 float32 samples):
nntrain's training loop against PyTorch on CPU and scikit-learn's MLPClassifier, plus the time
the same matrix products take alone (the floor for any implementation).

    python benchmarks/mlp.py [--repeats 5]
"""

import argparse
import warnings

import numpy as np

import common
from common import alternate, machine, peer, print_table

SAMPLES, FEATURES, HIDDEN, CLASSES, BATCH = 60_000, 784, (256, 128), 10, 128
TITLE = "MLP epoch (784-256-128-10, Adam, batch 128, 60,000 samples, float32)"


def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((SAMPLES, FEATURES)).astype(np.float32), rng.integers(0, CLASSES, SAMPLES)


def nntrain_epoch(x, y):
    specs = [{"type": "dense", "units": units, "activation": "relu"} for units in HIDDEN]
    return common.nntrain_epoch(specs + [{"type": "dense", "units": CLASSES}], x, y, BATCH)


def torch_epoch(torch, x, y):
    torch.set_num_threads(len(__import__("os").sched_getaffinity(0)))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    layers, width = [], FEATURES
    for units in HIDDEN:
        layers += [torch.nn.Linear(width, units), torch.nn.ReLU()]
        width = units
    model = torch.nn.Sequential(*layers, torch.nn.Linear(width, CLASSES))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def run():
        order = torch.randperm(SAMPLES)
        for start in range(0, SAMPLES, BATCH):
            rows = order[start:start + BATCH]
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(xt[rows]), yt[rows]).backward()
            optimizer.step()
    return run


def sklearn_epoch(x, y):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    def run():
        model = MLPClassifier(hidden_layer_sizes=HIDDEN, solver="adam", batch_size=BATCH, max_iter=1,
                              learning_rate_init=1e-3, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x, y)
    return run


def matmuls_only(x):
    """The epoch's matrix products alone: 3 forward, 3 weight gradients, 2 input gradients per batch."""
    rng = np.random.default_rng(0)
    sizes = [FEATURES, *HIDDEN, CLASSES]
    weights = [rng.standard_normal((a, b)).astype(np.float32) for a, b in zip(sizes[:-1], sizes[1:])]
    batch = x[:BATCH]
    outs = [np.empty((BATCH, b), np.float32) for b in sizes[1:]]
    grads = [np.empty_like(w) for w in weights]
    inputs = [np.empty((BATCH, a), np.float32) for a in sizes[:-1]]

    def run():
        for _ in range(0, SAMPLES, BATCH):
            activation = batch
            for w, out in zip(weights, outs):
                np.matmul(activation, w, out=out)
                activation = out
            g = outs[-1]
            for index in range(len(weights) - 1, -1, -1):
                layer_input = batch if index == 0 else outs[index - 1]
                np.matmul(layer_input.T, g, out=grads[index])
                if index:
                    np.matmul(g, weights[index].T, out=inputs[index])
                    g = inputs[index]
    return run


def measure(repeats: int) -> dict[str, float]:
    x, y = data()
    contenders = {"nntrain": nntrain_epoch(x, y), "matmuls only": matmuls_only(x)}
    torch = peer("torch")
    if torch:
        contenders["PyTorch (CPU)"] = torch_epoch(torch, x, y)
    if peer("sklearn"):
        contenders["scikit-learn"] = sklearn_epoch(x, y)
    return alternate(contenders, repeats)


def report(times: dict[str, float]) -> list[tuple]:
    rows = [("contender", "epoch (s)", "nntrain / contender")]
    for name, seconds in times.items():
        rows.append((name, f"{seconds:.3f}", f"{times['nntrain'] / seconds:.2f}"))
    rows.append(("matmul share of the nntrain epoch", f"{times['matmuls only'] / times['nntrain']:.0%}", ""))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(machine())
    print_table(TITLE, report(measure(args.repeats)))
