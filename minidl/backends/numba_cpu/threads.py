"""When a Numba kernel should not wake Numba's other threads.

The ``cpu`` backend lets Numba's OpenMP workers sleep as soon as a parallel loop ends
(``numba_cpu/__init__.py``: spinning workers would take the cores OpenBLAS's GEMMs need).
The price is paid at the next parallel loop: waking a sleeping worker (on a virtual
machine, an idle virtual CPU) costs ~0.1-0.2 ms, more than a small loop's whole work. So
each kernel gives a size below which it runs on the calling thread alone. Memory-bound
passes such as batch norm + ReLU at inference keep one thread up to ~2 M values (one core
nearly saturates the memory bandwidth); a batch-1 CSR product up to ~0.5 M nonzeros.

Where the workers spin after a loop instead (``GOMP_SPINCOUNT`` set, as for a process
serving pruned networks, see ``__init__.py``), a worker that ran a loop less than the spin
ago takes the next one at once (a loop start then costs ~10 us), so only loops below
``SPINNING_SERIAL_BELOW`` stay on one thread.
"""

import os

from numba import get_num_threads, set_num_threads

#: the serial threshold of every kernel when the workers spin (a loop start costs ~10 us)
SPINNING_SERIAL_BELOW = 1 << 14


def workers_spin(environ=None, tuned=None):
    """Whether Numba's OpenMP workers spin after a parallel loop, from the environment
    libgomp read: ``GOMP_SPINCOUNT`` decides when set (0: no spin); else
    ``OMP_WAIT_POLICY=ACTIVE`` spins and ``PASSIVE`` does not; with neither, the cpu
    backend's tuning (``MINIDL_CPU_TUNING``, default on) made them passive, and without it
    libgomp's default spins."""
    environ = os.environ if environ is None else environ
    if tuned is None:
        tuned = environ.get("MINIDL_CPU_TUNING", "1") != "0"
    count = environ.get("GOMP_SPINCOUNT", "").strip().lower()
    if count:
        return count not in ("0", "0k", "0m", "0g", "0t")
    policy = environ.get("OMP_WAIT_POLICY", "").strip().upper()
    if policy:
        return policy == "ACTIVE"
    return not tuned


def _spinning_omp():
    try:
        import numba
        return numba.threading_layer() == "omp" and workers_spin()
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
