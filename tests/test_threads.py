"""``numba_cpu/threads.py``: when a kernel runs on one thread, and how the workers' wait
policy is read from the environment libgomp saw."""

import pytest

from conftest import BACKENDS_PRESENT

pytestmark = pytest.mark.skipif("cpu" not in BACKENDS_PRESENT, reason="Numba is not installed")


@pytest.mark.parametrize("environ, tuned, spin", [
    ({}, True, False),                                   # minidl's default: PASSIVE
    ({}, False, True),                                   # libgomp's default spins
    ({"GOMP_SPINCOUNT": "10000"}, True, True),           # the count wins over the policy
    ({"GOMP_SPINCOUNT": "0", "OMP_WAIT_POLICY": "active"}, True, False),
    ({"GOMP_SPINCOUNT": "infinite"}, True, True),
    ({"OMP_WAIT_POLICY": "ACTIVE"}, True, True),
    ({"OMP_WAIT_POLICY": "passive"}, False, False),
    ({"MINIDL_CPU_TUNING": "0"}, None, True),            # tuning read from the environment
])
def test_workers_spin_follows_what_libgomp_reads(environ, tuned, spin):
    from minidl.backends.numba_cpu.threads import workers_spin
    assert workers_spin(environ, tuned) is spin


@pytest.mark.parametrize("spinning, work, serial", [
    (False, 1000, True), (False, 50_000, True), (False, 200_000, False),
    (True, 1000, True), (True, 50_000, False), (True, 200_000, False)])
def test_one_thread_below_uses_the_small_threshold_when_workers_spin(monkeypatch, spinning,
                                                                     work, serial):
    from minidl.backends.numba_cpu import threads
    monkeypatch.setattr(threads, "WORKERS_SPIN", spinning)
    calls = []
    monkeypatch.setattr(threads, "set_num_threads", calls.append)
    monkeypatch.setattr(threads, "get_num_threads", lambda: 2)  # as on a 2-core machine
    with threads.one_thread_below(work, 100_000) as context:
        assert context.serial is serial
    assert calls == ([1, 2] if serial else [])
