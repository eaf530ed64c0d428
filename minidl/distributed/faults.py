"""What a rank does when something goes wrong, so that the job ends instead of hanging.

Without help, an exception in one rank leaves the others blocked in the next collective
for ever: the failed rank's interpreter exits through ``MPI_Finalize``, which waits for
them, while they wait for it. So, in an MPI job of more than one rank:

* an uncaught exception prints its traceback, then a line naming the rank, then calls
  ``MPI_Abort``, which ends every rank of the job with a non-zero status;
* a crash in native code (segmentation fault) prints the Python stack (``faulthandler``)
  before the launcher reports the signal;
* a rank that is killed (``kill -9``, out of memory) is reported by the launcher, which
  ends the others (MPICH's Hydra prints "BAD TERMINATION ... Killed (signal 9)", Open MPI
  "mpirun noticed that process rank N ... exited on signal 9");
* a rank that hangs is caught by the deadline on every collective: a :class:`Watchdog`
  thread aborts the job when one collective has waited too long.

``quiet=True`` also sends the standard output of every rank but the main one to
``os.devnull``, so that a script's ``print`` calls print once per job, not once per rank
(``paddle.init(print_all_ranks=True)`` keeps them all). Standard error is left alone.
"""

import faulthandler
import os
import sys
import threading
import time
from contextlib import contextmanager


def install_fault_handlers(comm, quiet=True):
    previous = sys.excepthook

    def abort_on_uncaught(kind, value, traceback):
        previous(kind, value, traceback)
        comm.abort(f"uncaught {kind.__name__}; aborting all {comm.size} ranks")

    sys.excepthook = abort_on_uncaught
    faulthandler.enable()
    if quiet and not comm.is_main:
        sys.stdout = open(os.devnull, "w")   # kept open for the life of the process


class Watchdog:
    """Calls ``on_timeout(what)`` from its own thread when the code in ``guard(what)`` has
    run longer than ``timeout`` seconds (mpi4py lets go of the GIL inside MPI calls, so
    the thread runs while the main one waits in a collective)."""

    def __init__(self, timeout, on_timeout):
        self.timeout = timeout
        self.on_timeout = on_timeout
        self._guarded = None     # (what, start time) while a collective runs
        self._thread = None

    @contextmanager
    def guard(self, what):
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="minidl-mpi-watchdog",
                                            daemon=True)
            self._thread.start()
        self._guarded = (what, time.monotonic())
        try:
            yield
        finally:
            self._guarded = None

    def _watch(self):
        while True:
            time.sleep(min(1.0, self.timeout / 8))
            guarded = self._guarded    # one read: the main thread may replace it meanwhile
            if guarded is not None and time.monotonic() - guarded[1] > self.timeout:
                self.on_timeout(guarded[0])
                return
