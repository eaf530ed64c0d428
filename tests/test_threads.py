"""``numba_cpu/threads.py``: when a kernel runs on one thread, and how the workers' wait
policy is read from the environment libgomp saw."""

import pytest

from conftest import BACKENDS_PRESENT

pytestmark = pytest.mark.skipif("cpu" not in BACKENDS_PRESENT, reason="Numba is not installed")


@pytest.mark.parametrize("environ, chosen, spin", [
    ({}, False, True),                                   # libgomp's default spins
    ({"GOMP_SPINCOUNT": "10000"}, True, True),           # the count wins over the policy
    ({"GOMP_SPINCOUNT": "0", "OMP_WAIT_POLICY": "active"}, True, False),
    ({"GOMP_SPINCOUNT": "infinite"}, True, True),
    ({"OMP_WAIT_POLICY": "ACTIVE"}, True, True),
    ({"OMP_WAIT_POLICY": "passive"}, True, False),
])
def test_spins_follow_what_libgomp_reads(environ, chosen, spin):
    from minidl.backends.numba_cpu.runtime import spins_by_environment
    assert spins_by_environment(environ) == (chosen, spin)


@pytest.mark.parametrize("environ, size", [
    ({}, 2), ({"OMP_NUM_THREADS": "1"}, 1), ({"OMP_NUM_THREADS": "8"}, 2),
    ({"OMP_NUM_THREADS": "1,1"}, 1), ({"OMP_NUM_THREADS": "many"}, 2),
    ({"OMP_NUM_THREADS": "0"}, 2)])
def test_omp_num_threads_bounds_the_pool(environ, size):
    from minidl.backends.numba_cpu.runtime import pool_size
    assert pool_size(environ, 2) == size


def test_the_backend_started_one_pool():
    """Loading the cpu backend (tuning on, as in the tests) started Numba's workers spinning,
    put SciPy's BLAS on one thread, and left the environment as it found it."""
    import os

    import minidl.backends.numba_cpu  # noqa: F401
    from threadpoolctl import ThreadpoolController

    from minidl.backends.numba_cpu import threads
    from minidl.backends.numba_cpu.runtime import STARTED
    if os.environ.get("MINIDL_CPU_TUNING", "1") == "0":   # the process is left alone
        assert not STARTED.started
        return
    assert STARTED.started
    assert threads.WORKERS_SPIN is STARTED.workers_spin
    assert "GOMP_SPINCOUNT" not in os.environ or os.environ["GOMP_SPINCOUNT"] != "10000"
    scipy_blas = [lib for lib in ThreadpoolController().lib_controllers
                  if lib.user_api == "blas" and "scipy" in os.path.basename(
                      os.path.dirname(lib.filepath))]
    assert scipy_blas and all(lib.num_threads == 1 for lib in scipy_blas)


@pytest.mark.parametrize("spinning, work, serial", [
    (False, 1000, True), (False, 50_000, True), (False, 200_000, False),
    (True, 1000, True), (True, 50_000, False), (True, 200_000, False)])
def test_one_thread_below_uses_the_small_threshold_when_workers_spin(monkeypatch, spinning,
                                                                     work, serial):
    from minidl.backends.numba_cpu import threads
    monkeypatch.setattr(threads, "WORKERS_SPIN", spinning)
    calls = []
    # as on a 2-core machine
    monkeypatch.setattr(threads, "_count_functions", lambda: (lambda: 2, calls.append))
    with threads.one_thread_below(work, 100_000) as context:
        assert context.serial is serial
    assert calls == ([1, 2] if serial else [])


def test_one_thread_below_sets_numbas_thread_count_and_restores_it():
    """Through the threading layer's own functions: Numba's public getter sees the change."""
    import numba
    from minidl.backends.numba_cpu import threads
    before = numba.get_num_threads()
    assert threads.thread_count() == before
    with threads.one_thread_below(1, 100):
        assert numba.get_num_threads() == 1
        assert threads.thread_count() == 1
    assert numba.get_num_threads() == before
    with threads.one_thread_below(200, 100):      # above the threshold: left alone
        assert numba.get_num_threads() == before
