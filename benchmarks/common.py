"""Shared benchmark helpers: alternating timed runs, medians, machine description, tables.

Machines are noisy, so each case runs its contenders in the same process, in
alternating order, after a warm-up, and reports medians and ratios between them.
"""

import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np


def alternate(contenders: dict[str, Callable[[], float | None]], repeats: int, warmup: int = 1) -> dict[str, float]:
    """Median seconds per contender. A contender returns its own measured seconds (a float), or anything else
    (None, its result) to be timed whole."""
    times = {name: [] for name in contenders}
    for round_ in range(warmup + repeats):
        order = list(contenders)
        order = order[round_ % len(order):] + order[:round_ % len(order)]
        for name in order:
            started = time.perf_counter()
            measured = contenders[name]()
            if round_ >= warmup:
                times[name].append(measured if isinstance(measured, float) else time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def machine() -> str:
    """Cores, CPU, NumPy and its BLAS, as the numbers depend on them."""
    parts = [f"{len(os.sched_getaffinity(0))} cores", platform.processor() or platform.machine(),
             f"numpy {np.__version__}"]
    try:
        from threadpoolctl import threadpool_info

        blas = [f"{i['internal_api']} {i.get('version', '')} {i.get('architecture', '')}".strip()
                for i in threadpool_info() if i["user_api"] == "blas"]
        parts.append("BLAS: " + ", ".join(dict.fromkeys(blas)))
    except ImportError:
        parts.append("BLAS: unknown (pip install threadpoolctl)")
    return "; ".join(parts)


def print_table(title: str, rows: list[tuple]) -> None:
    """Rows of (label, value, ...) as aligned text."""
    print(f"\n{title}")
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  " + "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))


def peer(module: str):
    """Import an optional peer package, or None with a note if it is not installed."""
    try:
        return __import__(module)
    except ImportError:
        print(f"  ({module} not installed: pip install -e '.[bench]')")
        return None


def nntrain_epoch(specs: list[dict], x: np.ndarray, y: np.ndarray, batch: int) -> Callable[[], None]:
    """One epoch of nntrain's own training loop (Adam, cross-entropy, shuffled batches) on `specs`."""
    from nntrain.nn.losses import LOSSES
    from nntrain.nn.model import build_model
    from nntrain.optim.optimizers import OPTIMIZERS
    from nntrain.optim.schedules import SCHEDULES
    from nntrain.train.loop import Settings, Trainer
    from nntrain.train.stopping import Divergence

    model = build_model(specs, x.shape[1:], np.float32, np.random.default_rng(1))
    optimizer = OPTIMIZERS["adam"]()
    optimizer.bind(model.flat_params.size, np.float32, model.decay_mask)
    trainer = Trainer(model, LOSSES["cross_entropy"](), optimizer, SCHEDULES["constant"](1e-3, 1, 1),
                      Settings(epochs=1, batch_size=batch, shuffle=True, monitor="loss", mode="min", restore_best=False),
                      rules=[], divergence=Divergence(),
                      evaluate=dict, shuffle_rng=np.random.default_rng(2))

    def run():
        trainer.epoch = 0
        trainer.fit(x, y)
    run.trainer = trainer  # for the test that keeps this script in step with the engine
    return run
