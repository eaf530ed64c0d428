"""One thread runtime for the ``cpu`` backend: Numba's OpenMP threads do all parallel work.

Decision: BLAS products run inside Numba's pool (``gemm.py``: SciPy's BLAS on one thread
per part), whose workers spin ~1 ms after each parallel loop. Against OpenBLAS's threads
plus sleeping Numba workers (2-core VM, same runs): MobileNet v1 forward at batch 1 14-22
ms (was 19-28), pruned VGG-16 'auto' at batch 1 6.2 ms (8.7), a 4096x4096 CSR product at
0.99 0.12 ms (0.23); the cost: large dense products, where one BLAS call per thread does
less than OpenBLAS's own threading (VGG-CIFAR conv stack 252-299 ms, was 232-247).

Why ~1 ms of spin (:data:`SPIN_COUNT`): a worker that falls asleep is woken on the core of
the thread that wakes it, and the two then share one core until the scheduler parts them.
With 10,000 spins (~0.15 ms) a 0.46 ms sparse convolution took ~1.9 ms in 80 % of its
blocks on a 2-core Xeon VM; with 100,000, in 0-1 %. Pinning the threads to cores cures it
too, but libgomp pins the caller's thread as well, and every thread or process it starts.

:func:`start` is called once, when the backend loads, unless ``MINIDL_CPU_TUNING=0``:

* it starts Numba's threading layer with ``GOMP_SPINCOUNT`` = :data:`SPIN_COUNT` (unless
  the user chose ``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY``); the variable is removed again,
  so libraries loaded later (PyTorch's own OpenMP) see the environment as it was;
* it puts SciPy's BLAS -- the one ``gemm.py`` calls -- on one thread (``threadpoolctl``).
  NumPy's own BLAS keeps its threads for the user's products; minidl's hot products no
  longer use it.

``NUMBA_NUM_THREADS`` sets the pool's size, and so does ``OMP_NUM_THREADS`` when it is
smaller (:func:`start` applies it: Numba itself reads only its own variable); every kernel
cuts its work by that count.
"""

import os

#: spins of an idle worker before it sleeps (libgomp counts its pause loop; ~1.2 ms on the
#: Xeon VM, where 10,000 were ~0.15 ms)
SPIN_COUNT = 100_000


class _Started:
    """What :func:`start` settled (read by ``threads.py``): whether it ran, and whether
    the workers spin."""
    started = False
    workers_spin = False


STARTED = _Started()


def spins_by_environment(environ):
    """``(chosen, spins)``: whether the environment decides how libgomp's idle workers
    wait, and whether they spin (``GOMP_SPINCOUNT`` wins over ``OMP_WAIT_POLICY``;
    with neither, libgomp spins)."""
    count = environ.get("GOMP_SPINCOUNT", "").strip().lower()
    if count:
        return True, count not in ("0", "0k", "0m", "0g", "0t")
    policy = environ.get("OMP_WAIT_POLICY", "").strip().upper()
    if policy:
        return True, policy == "ACTIVE"
    return False, True


def start(environ=None):
    """Start Numba's threads (spinning briefly) and put SciPy's BLAS on one thread."""
    import numba

    environ = os.environ if environ is None else environ
    chosen, spins = spins_by_environment(environ)
    if not chosen:
        environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
    try:
        numba.get_num_threads()          # loads and starts the threading layer
    finally:
        if not chosen:
            del environ["GOMP_SPINCOUNT"]
    STARTED.workers_spin = numba.threading_layer() == "omp" and spins
    numba.set_num_threads(pool_size(environ, numba.config.NUMBA_NUM_THREADS))
    STARTED.started = True
    _one_thread_scipy_blas()


def pool_size(environ, numba_threads):
    """Numba's thread count, bounded by ``OMP_NUM_THREADS`` where that is a smaller positive
    integer (``OMP_NUM_THREADS=1 mpiexec -n 4 ...``: one thread per rank)."""
    try:
        bound = int(environ.get("OMP_NUM_THREADS", "").split(",")[0])
    except ValueError:
        return numba_threads
    return min(numba_threads, bound) if bound >= 1 else numba_threads


def _one_thread_scipy_blas():
    """SciPy's BLAS on one thread: ``gemm.py`` calls it from every thread of Numba's pool,
    and OpenBLAS's own threads would oversubscribe the cores. Where SciPy shares NumPy's
    BLAS (one library file), that library is limited too."""
    import scipy.linalg  # noqa: F401  (loads SciPy's BLAS)
    from threadpoolctl import ThreadpoolController

    scipy_dir = os.path.dirname(os.path.dirname(os.path.abspath(scipy.linalg.__file__)))
    scipy_dirs = (scipy_dir + os.sep, scipy_dir + ".libs" + os.sep)   # the wheel's copy
    blas = [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]
    ours = [lib for lib in blas if os.path.abspath(lib.filepath).startswith(scipy_dirs)]
    for lib in ours or blas:
        lib.set_num_threads(1)
