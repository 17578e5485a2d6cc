"""One training epoch of two small CNNs on 28x28x1 images (10,000 float32 samples, batch 64, Adam):
nntrain's training loop against PyTorch on CPU.

  CNN      conv 3x3 16 (same, ReLU) → maxpool 2 → conv 3x3 32 (same, ReLU) → maxpool 2 → flatten → dense 10
  LeNet-5  conv 5x5 6 (same, ReLU) → maxpool 2 → conv 5x5 16 (valid, ReLU) → maxpool 2 → dense 120-84-10

    python benchmarks/cnn.py [--repeats 5]
"""

import argparse
import os

import numpy as np

import common
from common import alternate, machine, peer, print_table

SAMPLES, SIZE, CLASSES, BATCH = 10_000, 28, 10, 64
TITLE = "CNN epoch (2 conv 3x3 + max-pooling, 28x28x1, batch 64, 10,000 samples, float32)"
LENET_TITLE = "LeNet-5 epoch (conv 6@5x5, pool, conv 16@5x5, pool, dense 120-84-10; 28x28x1, batch 64, 10,000 samples)"
CNN = [{"type": "conv2d", "filters": 16, "kernel": 3, "padding": "same", "activation": "relu"},
       {"type": "maxpool2d", "size": 2},
       {"type": "conv2d", "filters": 32, "kernel": 3, "padding": "same", "activation": "relu"},
       {"type": "maxpool2d", "size": 2},
       {"type": "flatten"},
       {"type": "dense", "units": CLASSES}]
LENET = [{"type": "conv2d", "filters": 6, "kernel": 5, "padding": "same", "activation": "relu"},
         {"type": "maxpool2d", "size": 2},
         {"type": "conv2d", "filters": 16, "kernel": 5, "activation": "relu"},
         {"type": "maxpool2d", "size": 2},
         {"type": "flatten"},
         {"type": "dense", "units": 120, "activation": "relu"},
         {"type": "dense", "units": 84, "activation": "relu"},
         {"type": "dense", "units": CLASSES}]


def data():
    rng = np.random.default_rng(0)
    return rng.random((SAMPLES, SIZE, SIZE, 1), dtype=np.float32), rng.integers(0, CLASSES, SAMPLES)


def torch_cnn(nn):
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 7 * 7, CLASSES))


def torch_lenet(nn):
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, CLASSES))


NETWORKS = {"cnn": (CNN, torch_cnn), "lenet": (LENET, torch_lenet)}  # nntrain specs and the same net in PyTorch


def torch_epoch(torch, x, y, network):
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # PyTorch wants NCHW
    yt = torch.from_numpy(y)
    model = network(torch.nn)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def run():
        order = torch.randperm(SAMPLES)
        for start in range(0, SAMPLES, BATCH):
            rows = order[start:start + BATCH]
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(xt[rows]), yt[rows]).backward()
            optimizer.step()
    return run


def measure(repeats: int, network: str = "cnn") -> dict[str, float]:
    """Median epoch seconds of nntrain and PyTorch on one of NETWORKS."""
    specs, torch_network = NETWORKS[network]
    x, y = data()
    contenders = {"nntrain": common.nntrain_epoch(specs, x, y, BATCH)}
    torch = peer("torch")
    if torch:
        contenders["PyTorch (CPU)"] = torch_epoch(torch, x, y, torch_network)
    return alternate(contenders, repeats)


def report(times: dict[str, float]) -> list[tuple]:
    rows = [("contender", "epoch (s)", "samples/s", "nntrain / contender")]
    for name, seconds in times.items():
        rows.append((name, f"{seconds:.3f}", f"{SAMPLES / seconds:,.0f}", f"{times['nntrain'] / seconds:.2f}"))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(machine())
    print_table(TITLE, report(measure(args.repeats)))
    print_table(LENET_TITLE, report(measure(args.repeats, "lenet")))
