"""When a Numba kernel should not wake Numba's other threads.

A parallel loop costs its start: ~10 us when Numba's workers are still spinning after the
last loop (the ``cpu`` backend's default, ``runtime.py``), ~0.1-0.2 ms to wake a sleeping
one (``MINIDL_CPU_TUNING=0``, ``OMP_WAIT_POLICY=PASSIVE`` or ``GOMP_SPINCOUNT=0``; on a
virtual machine an idle virtual CPU). Below some size a loop's whole work costs less than
that, so each kernel gives a size below which it runs on the calling thread alone, chosen
for sleeping workers (memory-bound passes such as batch norm + ReLU at inference keep one
thread up to ~2 M values, a batch-1 CSR product up to ~0.5 M nonzeros); with spinning
workers only loops below ``SPINNING_SERIAL_BELOW`` stay on one thread.
"""

import os

from numba import get_num_threads, set_num_threads

from .runtime import STARTED, spins_by_environment

#: the serial threshold of every kernel when the workers spin (a loop start costs ~10 us)
SPINNING_SERIAL_BELOW = 1 << 14


def _spinning_omp():
    """Whether Numba's OpenMP workers spin after a parallel loop: as ``runtime.start``
    settled it, or -- where it did not run (``MINIDL_CPU_TUNING=0``) -- as libgomp reads the
    environment (it spins unless told otherwise)."""
    if STARTED.started:
        return STARTED.workers_spin
    try:
        import numba
        return numba.threading_layer() == "omp" and spins_by_environment(os.environ)[1]
    except ValueError:  # threading layer not started yet: it starts with the first loop
        return False


#: read once, after ``__init__.py`` started Numba's threading layer
WORKERS_SPIN = _spinning_omp()


class one_thread_below:
    """Context: run the block on one thread if ``work < threshold``, else on Numba's
    thread count. (A class, not a generator: it is entered around every kernel call, and
    when nothing is to be done it costs a comparison instead of ~10 us.)"""

    __slots__ = ("serial", "threads")

    def __init__(self, work, threshold):
        self.serial = work < (min(threshold, SPINNING_SERIAL_BELOW) if WORKERS_SPIN
                              else threshold)

    def __enter__(self):
        if self.serial:
            self.threads = get_num_threads()
            if self.threads == 1:
                self.serial = False
            else:
                set_num_threads(1)
        return self

    def __exit__(self, *exc_info):
        if self.serial:
            set_num_threads(self.threads)
        return False
