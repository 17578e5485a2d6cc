"""Data-parallel training on MPI: every rank holds the whole model and takes its rows of each global batch.

Every rank reads the same data and draws the same shuffled order, so each global batch is the same
everywhere; rank r computes the gradient of rows [r·n/N, (r+1)·n/N) of it, with its loss gradient
scaled by its share of the batch's rows (or of their class weights), so that one Allreduce (sum) of
the flat gradient buffer yields exactly the gradient one process computes on the whole batch. The
optimizer step is then the same on every rank, and parameters stay identical (checked every epoch).

Dropout draws the global batch's mask on every rank and keeps its rows, so the masks, and the
generator's state a checkpoint saves, do not depend on the number of ranks. Batchnorm uses each
rank's rows for its statistics (running statistics are averaged across ranks every epoch), unless
`engine.sync_batchnorm` has it reduce them over every rank's rows (see `nn.layers.BatchNorm`).

mpi4py is imported only here, and only when the job runs under an MPI launcher.
"""

import hashlib
import math
import os
import sys
import threading
import time
from contextlib import contextmanager
from functools import cache

import numpy as np

from nntrain.errors import DivergenceError, Interrupted, NNTrainError
from nntrain.extras import require
from nntrain.nn.layers import BatchNorm

# set by every MPI launcher we know of (MPICH's hydra and srun with PMI, Open MPI, PMIx launchers)
LAUNCHER_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK")
SIGNAL_CODES = (130, 143)  # SIGINT, SIGTERM: each has a slot in the per-step reduction


def launched_by_mpi() -> bool:
    """Whether this process is one rank of a job an MPI launcher started."""
    return any(name in os.environ for name in LAUNCHER_VARIABLES)


class Drift(NNTrainError):
    """The ranks' parameters differ: a bug, since every rank takes the same optimizer steps."""


AGREED = (Interrupted, DivergenceError, Drift)  # errors every rank meets at the same step


class Quiet(NNTrainError):
    """An error another rank reports: this rank exits with the same code without a message."""

    def __init__(self, exit_code: int):
        super().__init__("")
        self.exit_code = exit_code


class Group:
    """The ranks of one MPI job (mpi4py's COMM_WORLD), with the few collectives training needs."""

    def __init__(self, comm, mpi):
        self.comm, self.mpi = comm, mpi
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.on_this_machine = comm.Split_type(mpi.COMM_TYPE_SHARED).Get_size()  # ranks sharing its cores
        self.started = False  # True once every rank has agreed to train: later failures abort the job
        self.waiting_since: float | None = None  # when this rank began its current collective (for the watchdog)

    def shard(self, rows: int) -> slice:
        """This rank's rows of a batch of `rows`: contiguous, sizes differing by at most one."""
        return slice(rows * self.rank // self.size, rows * (self.rank + 1) // self.size)

    def sum(self, buffer: np.ndarray) -> None:
        """Replace `buffer` by its sum over every rank, in place (one Allreduce, no copy)."""
        self._reduce(buffer, self.mpi.SUM)

    def maximum(self, buffer: np.ndarray) -> None:
        """Replace `buffer` by its largest value over every rank, in place."""
        self._reduce(buffer, self.mpi.MAX)

    def gather(self, mine: np.ndarray, into: np.ndarray, counts: list[int]) -> None:
        """Fill `into` with every rank's `mine` in rank order, rank r's holding `counts[r]` values (Allgatherv)."""
        self._collective(self.comm.Allgatherv, mine, [into, counts])

    def broadcast(self, buffer: np.ndarray) -> None:
        """Replace `buffer` by rank 0's, in place (Bcast)."""
        self._collective(self.comm.Bcast, buffer, root=0)

    def agree(self, code: int) -> int:
        """Every rank's largest exit code (0 when all are well): the outcome all ranks then share."""
        value = np.array([code], dtype=np.int64)
        self.maximum(value)
        return int(value[0])

    def lowest_rank(self, failing: bool) -> int:
        """The lowest rank for which `failing` holds: the one that reports an error all ranks share."""
        value = np.array([self.rank if failing else self.size], dtype=np.int64)
        self._reduce(value, self.mpi.MIN)
        return int(value[0])

    def _reduce(self, buffer: np.ndarray, op) -> None:
        self._collective(self.comm.Allreduce, self.mpi.IN_PLACE, buffer, op=op)

    def _collective(self, operation, *args, **options) -> None:
        """Run one collective, marked as a wait the watchdog (`watch`) times."""
        self.waiting_since = time.monotonic()
        try:
            operation(*args, **options)
        finally:
            self.waiting_since = None

    def abort(self, code: int) -> None:
        """End this rank at once; the launcher then ends the others. Not MPI_Abort: its notice reaches the
        launcher by another channel than this rank's stderr and can overtake the last message on a busy host,
        while an exit closes stderr after its last byte."""
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


@cache
def join() -> Group | None:
    """This job's group of ranks when launched by MPI with more than one rank, else None (one process)."""
    if not launched_by_mpi():
        return None
    mpi = require("mpi4py.MPI", "mpi", "training under mpiexec", "mpi4py")
    group = Group(mpi.COMM_WORLD, mpi)
    return group if group.size > 1 else None


@contextmanager
def session(group: Group | None):
    """Make every rank end a command the same way, with one message.

    Before training starts, an error on any rank is agreed: all ranks exit with the largest exit
    code, and only the lowest failing rank reports it. While training, errors every rank meets at
    the same step (divergence, an agreed interrupt) are reported by rank 0 alone; any other error
    on one rank is reported by it and ends the whole job (`Group.abort`), so no rank waits for ever.
    """
    if group is None:
        yield
        return
    try:
        yield
    except Quiet:
        raise  # agreed already
    except NNTrainError as exc:
        if group.started:
            if isinstance(exc, AGREED):
                if group.rank:
                    raise Quiet(exc.exit_code) from None
                raise
            _report_and_abort(group, exc)
        code = group.agree(exc.exit_code)
        if group.lowest_rank(True) != group.rank:
            raise Quiet(code) from None
        exc.exit_code = code
        raise
    except BaseException as exc:
        if group.started:
            _report_and_abort(group, exc)
        group.agree(1)
        group.lowest_rank(True)
        raise
    else:
        if not group.started:  # a command that ended before training (nothing to do) still meets the others
            group.agree(0)
            group.lowest_rank(False)


def meet(group: Group | None) -> None:
    """A point every rank reaches before training: if another rank failed on the way, exit with its code."""
    if group is None:
        return
    code = group.agree(0)
    if code:
        group.lowest_rank(False)
        raise Quiet(code)


def start(group: Group | None, timeout: float | None = None) -> None:
    """The point every rank reaches just before training; from here on, a failing rank ends the job, and so
    does a rank that waits in one collective for more than `timeout` seconds (another rank hangs)."""
    meet(group)
    if group is not None:
        group.started = True
        if timeout is not None:
            threading.Thread(target=watch, args=(group, timeout), name="nntrain-watchdog", daemon=True).start()


def watch(group: Group, timeout: float) -> None:
    """End the job (`Group.abort`) once this rank has waited `timeout` seconds in one collective: a rank that is
    alive but stuck (deadlocked, stopped, swapping) would otherwise keep every other rank waiting for ever.
    A rank that dies is noticed by the launcher at once; this is for the ones that do not die."""
    while True:
        time.sleep(min(1.0, timeout / 4))
        since = group.waiting_since
        if since is not None and time.monotonic() - since > timeout:
            sys.stderr.write(f"nntrain: error on rank {group.rank}: waited over {timeout:g} s for the other ranks "
                             f"(engine.collective_timeout), so one of them hangs; ending all {group.size} ranks\n")
            sys.stderr.flush()
            group.abort(1)


def _report_and_abort(group: Group, exc: BaseException) -> None:
    import traceback

    if not isinstance(exc, NNTrainError) or os.environ.get("NNTRAIN_DEBUG"):
        traceback.print_exc()
    sys.stderr.write(f"nntrain: error on rank {group.rank}: {exc}; ending all {group.size} ranks\n")
    sys.stderr.flush()
    group.abort(getattr(exc, "exit_code", 1))


class ShardedNoise:
    """A stand-in for a stochastic layer's generator: draws for the whole global batch, returns this rank's rows."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.rows, self.part = 0, slice(0, 0)

    def random(self, shape, dtype=np.float64):
        return self.rng.random((self.rows, *shape[1:]), dtype=dtype)[self.part]


class DataParallel:
    """The per-step work of data-parallel training, for a Trainer: shard, gradient, one Allreduce."""

    def __init__(self, group: Group, model, sync_batchnorm: bool = False):
        self.group, self.model = group, model
        self.scalars = np.zeros(1 + len(SIGNAL_CODES), dtype=np.float64)
        self.noise = ShardedNoise(model.noise_rng) if model.noise_rng is not None else None
        for layer in model.layers:
            if layer.stochastic:
                layer.rng = self.noise
            if sync_batchnorm and isinstance(layer, BatchNorm):
                layer.reduce = group.sum

    def gradient(self, x, y, rows: np.ndarray, loss, class_weight, augment, augment_rng,
                 stop_code: int | None, buffer: np.ndarray) -> tuple[float, int | None]:
        """Fill the model's flat gradients with the global batch `rows`' gradient; its loss, and the agreed stop code.

        `stop_code` is this rank's pending signal (None if none): the reduced flags make every rank
        stop after the same step.
        """
        part = self.group.shard(len(rows))
        if augment is not None:  # augment the whole batch, as one process does, so its random draws match
            xb = augment(x.take(rows, axis=0, out=buffer[:len(rows)], mode="clip"), augment_rng)[part]
        else:
            xb = x.take(rows[part], axis=0, out=buffer[:len(rows[part])], mode="clip")  # x.take: see Trainer._gradient
        yb = y[rows[part]]
        if self.noise is not None:
            self.noise.rows, self.noise.part = len(rows), part
        outputs = self.model.forward(xb, training=True)
        if class_weight is None:
            weight, share = None, len(xb) / len(rows)
        else:
            weights = class_weight[y[rows]]
            weight = weights[part]
            share = float(weight.sum()) / float(weights.sum())
        if len(xb):
            value, grad = loss.value_and_grad(outputs, yb, weight)
            grad *= outputs.dtype.type(share)
        else:  # more ranks than rows: this rank adds nothing, but runs the layers so generators stay in step
            value, grad = 0.0, np.zeros_like(outputs)
        self.model.backward(grad)
        self.scalars[0] = value * share
        self.scalars[1:] = [stop_code == code for code in SIGNAL_CODES]
        self.group.sum(self.model.flat_grads)
        self.group.sum(self.scalars)
        agreed = next((code for code, count in zip(SIGNAL_CODES[::-1], self.scalars[:0:-1]) if count), None)
        return float(self.scalars[0]), agreed

    def predict(self, x) -> np.ndarray:
        """The model's outputs on every row of `x`, on every rank: each rank computes its contiguous share
        (`Group.shard`) and one Allgatherv joins them, so evaluating a split costs each rank 1/N of it."""
        group = self.group
        mine = np.ascontiguousarray(self.model.predict(x, rows=group.shard(len(x))))
        width = math.prod(mine.shape[1:])
        counts = [(len(x) * (r + 1) // group.size - len(x) * r // group.size) * width for r in range(group.size)]
        outputs = np.empty((len(x), *mine.shape[1:]), dtype=mine.dtype)
        group.gather(mine, outputs, counts)
        return outputs

    def rank_zero(self, value: float) -> float:
        """Rank 0's `value` on every rank (one Bcast)."""
        buffer = np.array([value], dtype=np.float64)
        self.group.broadcast(buffer)
        return float(buffer[0])

    def epoch_end(self, epoch: int) -> None:
        """Average batchnorm's running statistics over ranks, and check that parameters are still identical."""
        buffers = self.model.buffers
        for value in buffers.values():
            self.group.sum(value)
            value /= value.dtype.type(self.group.size)
        digest = int.from_bytes(hashlib.blake2b(self.model.flat_params.tobytes(), digest_size=7).digest(), "big")
        spread = np.array([digest, -digest], dtype=np.int64)
        self.group.maximum(spread)
        if spread[0] != -spread[1]:
            raise Drift(f"the parameters of the {self.group.size} ranks drifted apart in epoch {epoch}: "
                        "this is a bug in nntrain; please report it")
