"""The communication share of data-parallel training: one Allreduce of the flat gradient buffer of the
`make bench` MLP (784-256-128-10) against one training step, on N ranks of this machine (mpiexec).

    python benchmarks/allreduce.py [--ranks 1 2] [--steps 60] [--threads T]

Each rank times, with the global batch of 128 split across the ranks, its forward + backward on
its rows, the Allreduce (in place, sum) of the gradient buffer, and Adam's step; rank 0 prints the
medians. Needs the mpi extra (pip install 'nntrain[mpi]').
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

FEATURES, HIDDEN, CLASSES, BATCH = 784, (256, 128), 10, 128


def worker(steps: int, threads: int | None) -> None:
    from mpi4py import MPI

    from nntrain.train.threads import blas_threads, default_threads

    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    with blas_threads(threads or default_threads(size), asked=False):  # as nntrain fit does: cores ÷ ranks
        _time_steps(comm, MPI, rank, size, steps)


def _time_steps(comm, MPI, rank: int, size: int, steps: int) -> None:
    from nntrain.nn.losses import CrossEntropy
    from nntrain.nn.model import build_model
    from nntrain.optim.optimizers import OPTIMIZERS

    specs = [{"type": "dense", "units": units, "activation": "relu"} for units in HIDDEN]
    model = build_model(specs + [{"type": "dense", "units": CLASSES}], (FEATURES,), "float32",
                        np.random.default_rng(0))
    optimizer, loss = OPTIMIZERS["adam"](), CrossEntropy()
    optimizer.bind(model.flat_params.size, model.dtype, model.decay_mask)
    rng = np.random.default_rng(rank)
    rows = BATCH * (rank + 1) // size - BATCH * rank // size
    x = rng.standard_normal((rows, FEATURES)).astype(np.float32)
    y = rng.integers(0, CLASSES, rows)
    compute, reduce, step = [], [], []
    for _ in range(steps):
        comm.Barrier()
        t0 = time.perf_counter()
        _, grad = loss.value_and_grad(model.forward(x, training=True), y)
        model.backward(grad)
        t1 = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, model.flat_grads, op=MPI.SUM)
        t2 = time.perf_counter()
        optimizer.step(model.flat_params, model.flat_grads, 1e-3)
        t3 = time.perf_counter()
        compute.append(t1 - t0), reduce.append(t2 - t1), step.append(t3 - t0)
    skip = steps // 6  # warm-up
    medians = np.array([np.median(values[skip:]) for values in (compute, reduce, step)])
    slowest = np.empty_like(medians)
    comm.Reduce(medians, slowest, op=MPI.MAX)
    if rank == 0:
        print(f"{size}\t{model.flat_grads.nbytes}\t" + "\t".join(f"{value:.6f}" for value in slowest), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--threads", type=int, help="BLAS threads per rank (default: as nntrain fit chooses)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        return worker(options.steps, options.threads)
    mpiexec = Path(sys.executable).parent / "mpiexec"
    threads = ["--threads", str(options.threads)] if options.threads else []
    print("ranks | gradient buffer | forward+backward | Allreduce | whole step | Allreduce share")
    for ranks in options.ranks:
        line = subprocess.run([str(mpiexec), "-n", str(ranks), sys.executable, __file__, "--worker",
                               "--steps", str(options.steps), *threads],
                              capture_output=True, text=True, check=True).stdout
        size, nbytes, compute, reduce, step = line.split()
        print(f"{size} | {int(nbytes) / 1e6:.2f} MB | {float(compute) * 1e3:.2f} ms | {float(reduce) * 1e3:.3f} ms"
              f" | {float(step) * 1e3:.2f} ms | {float(reduce) / float(step):.0%}")


if __name__ == "__main__":
    main()
