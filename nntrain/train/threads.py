"""How many threads BLAS (the matrix products) may use: `engine.threads`, or cores ÷ ranks under MPI.

BLAS libraries read their thread count once, when NumPy loads them, so a count chosen from the
config must be set through threadpoolctl, which talks to the loaded library. N ranks of one machine
each starting a thread per core would run N × cores threads on the cores: the default splits them.
"""

import os
from contextlib import contextmanager, nullcontext

from nntrain.extras import require


def default_threads(ranks_on_this_machine: int) -> int | None:
    """BLAS threads per rank when the config leaves it open: the machine's cores shared out; None for one process."""
    if ranks_on_this_machine <= 1:
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // ranks_on_this_machine)


@contextmanager
def blas_threads(count: int | None, asked: bool):
    """Limit BLAS to `count` threads while inside (no limit for None).

    `asked`: the config set `engine.threads`, which then needs threadpoolctl (exit 2 with the
    install line without it); a default limit is skipped quietly when it is missing.
    """
    if count is None:
        yield
        return
    if asked:
        threadpoolctl = require("threadpoolctl", "threads", "engine.threads", "threadpoolctl")
    else:
        try:
            import threadpoolctl
        except ImportError:
            threadpoolctl = None
    with threadpoolctl.threadpool_limits(limits=count, user_api="blas") if threadpoolctl else nullcontext():
        yield
