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


def _count_functions():
    """``(get, set)`` for the calling thread's Numba thread count.

    ``numba.get_num_threads`` and ``set_num_threads`` take a lock and check their argument
    on every call, ~1-1.5 us each: a serial kernel call made three of them, more than a
    small kernel's work. Once its threading layer runs, Numba holds the layer's own
    functions (ctypes, ~0.1-0.4 us) as module globals; those are used where present."""
    if not _COUNT:
        get_num_threads()   # starts the threading layer if nothing has yet
        from numba.np.ufunc import parallel
        raw = [getattr(parallel, name, None) for name in ("_get_num_threads",
                                                           "_set_num_threads")]
        _COUNT.extend(raw if all(callable(f) for f in raw)
                      else (get_num_threads, set_num_threads))
    return _COUNT


_COUNT = []


def thread_count():
    """Numba's thread count for the calling thread (see :func:`_count_functions`)."""
    return _count_functions()[0]()


def serial(work, threshold):
    """Whether a kernel of ``work`` (threshold: its size below which it runs alone) runs
    on the calling thread alone."""
    return work < (min(threshold, SPINNING_SERIAL_BELOW) if WORKERS_SPIN else threshold)


class one_thread_below:
    """Context: run the block on one thread if ``work < threshold``, else on Numba's
    thread count. (A class, not a generator: it is entered around every kernel call, and
    when nothing is to be done it costs a comparison instead of ~10 us; going to one
    thread and back costs ~1 us.)"""

    __slots__ = ("serial", "threads")

    def __init__(self, work, threshold):
        self.serial = serial(work, threshold)

    def __enter__(self):
        if self.serial:
            get, set_count = _count_functions()
            self.threads = get()
            set_count(1)
        return self

    def __exit__(self, *exc_info):
        if self.serial:
            _count_functions()[1](self.threads)
        return False
