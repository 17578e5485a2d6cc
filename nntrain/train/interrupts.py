"""Turn SIGINT and SIGTERM into a request to stop after the current batch.

The first Ctrl-C (or a SIGTERM) lets the loop finish its batch, save `last` and
exit 130 (143 for SIGTERM); a second Ctrl-C exits at once without saving. Outside the main
thread (a sweep running trials in threads) signals stay with the main thread's handlers.
"""

import os
import signal
import sys
import threading
from contextlib import contextmanager

from nntrain.train.loop import StopSignal


@contextmanager
def stop_on_signals(stop: StopSignal, quiet: bool = False):
    """Handle SIGINT and SIGTERM while training; `quiet` for ranks of an MPI job other than rank 0."""
    def request(signum, frame):
        if stop.exit_code is not None and signum == signal.SIGINT:
            sys.stderr.write("\nsecond interrupt: exiting now without saving\n")
            sys.stderr.flush()
            os._exit(130)
        stop.exit_code = 128 + signum
        if quiet:
            return
        sys.stderr.write("\nstopping after this batch to save a resumable checkpoint "
                         "(press Ctrl-C again to quit at once)\n")
        sys.stderr.flush()

    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield stop
        return
    previous = {sig: signal.signal(sig, request) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
