"""Timing forwards on a shared machine: fastest runs, quiet before sparse blocks, cold caches.

* :func:`fastest_time` -- the fastest of a few runs: other work on the machine only ever
  adds time, so the run that was not interrupted says what the forward costs.
* :func:`measure` -- a layer's dense and sparse forward, each timed as a block.
* :func:`measure_network` -- whole forwards under several settings, each as a block.
* :class:`CacheFlusher` -- evicts the caches before a run, for models that outgrow them.

Why blocks and quiet: threads of another pool that still spin after a dense run share the
cores with the next kernel and slow it up to ~2x. On the ``cpu`` backend every product
runs on Numba's threads, whose workers spin for about a millisecond; NumPy's own
OpenBLAS (the ``numpy`` backend) spins for ~0.1 s after a threaded call. So a sparse block
is timed only after :data:`QUIET_S` without a large dense run (:func:`quiet` knows when
the last one ended), and never alternated with dense runs.
"""

import glob
import time

import numpy as np

#: seconds of timing per forward and block (at least 3 runs each, at most 25)
MEASURE_BUDGET_S = 0.03
#: rounds of :func:`measure` (sparse block, dense block): a disturbance must hit both
MEASURE_ROUNDS = 2
#: seconds of quiet before a sparse block: longer than Numba's workers spin after a loop
#: (``backends/numba_cpu/runtime.py``; NumPy's OpenBLAS spins longer, but on the numpy
#: backend sparse and dense are both reference code, and only their order matters)
QUIET_S = 0.01
#: a dense run shorter than this is too small for OpenBLAS to start its threads: no spin
#: follows it
SPIN_FREE_S = 50e-6
#: used when the last-level cache size cannot be read from /sys
DEFAULT_CACHE_BYTES = 32 << 20
#: rounds of :func:`measure_network`; each runs every setting once untimed, then
#: NETWORK_RUNS timed
NETWORK_ROUNDS = 2
NETWORK_RUNS = 2

#: perf_counter() when the last large dense block timed here ended
_last_dense = {"end": float("-inf")}


def quiet(seconds=None):
    """Sleep until ``seconds`` (default :data:`QUIET_S`) have passed since the last large
    dense block this module timed; returns the seconds slept."""
    seconds = QUIET_S if seconds is None else seconds
    wait = _last_dense["end"] + seconds - time.perf_counter()
    if wait > 0:
        time.sleep(wait)
    return max(wait, 0.0)


def note_dense_run(seconds):
    """Record that a dense run of ``seconds`` just ended (large ones make BLAS spin)."""
    if seconds >= SPIN_FREE_S:
        _last_dense["end"] = time.perf_counter()


def fastest_time(step, before=None, budget=None):
    """(fastest seconds, last result) of ``step`` over at least 3 runs within ``budget``
    (default :data:`MEASURE_BUDGET_S`); ``before`` runs untimed before each run."""
    budget = MEASURE_BUDGET_S if budget is None else budget
    times, result = [], None
    began = time.perf_counter()
    while len(times) < 3 or (len(times) < 25 and time.perf_counter() - began < budget):
        if before is not None:
            before()
        start = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - start)
    return min(times), result


def measure(dense, sparse, before=None):
    """(dense seconds, sparse seconds, dense result, sparse result) of two forwards.

    One untimed sparse run (it may load the Numba kernels), then :data:`MEASURE_ROUNDS`
    rounds of :func:`quiet`, a block of sparse runs and a block of dense runs, each block
    on half the budget; each forward keeps its fastest run. (With one round, a burst of
    other work on the machine during one block flipped verdicts: a 64x64 3x3 conv at 0.5
    sparsity measured sparse 1.07 against dense 0.87 ms, then ran 0.52 against 0.89.)
    ``before`` runs untimed before every timed run.
    """
    sparse()
    sparse_s = dense_s = float("inf")
    budget = MEASURE_BUDGET_S / MEASURE_ROUNDS
    for _ in range(MEASURE_ROUNDS):
        quiet()
        seconds, sparse_out = fastest_time(sparse, before, budget)
        sparse_s = min(sparse_s, seconds)
        seconds, dense_out = fastest_time(dense, before, budget)
        dense_s = min(dense_s, seconds)
        note_dense_run(seconds)
    return dense_s, sparse_s, dense_out, sparse_out


def measure_network(forwards):
    """{setting: fastest seconds} of whole forwards, ``forwards``: {setting: callable}.

    ``NETWORK_ROUNDS`` rounds; in each, every setting runs as a block after
    :data:`QUIET_S` of quiet: once untimed (it loads what is new), then ``NETWORK_RUNS``
    timed runs.
    """
    best = {setting: float("inf") for setting in forwards}
    for _ in range(NETWORK_ROUNDS):
        for setting, forward in forwards.items():
            time.sleep(QUIET_S)
            forward()
            for _ in range(NETWORK_RUNS):
                start = time.perf_counter()
                forward()
                best[setting] = min(best[setting], time.perf_counter() - start)
    return best


def last_level_cache_bytes():
    """The size of the CPU's last-level cache (Linux sysfs), else ``DEFAULT_CACHE_BYTES``."""
    sizes = []
    for index in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*/size"):
        try:
            with open(index) as f:
                text = f.read().strip().upper()
            scale = {"K": 1 << 10, "M": 1 << 20}.get(text[-1:], 1)
            sizes.append(int(text.rstrip("KM")) * scale)
        except (OSError, ValueError):
            continue
    return max(sizes, default=DEFAULT_CACHE_BYTES)


class CacheFlusher:
    """Callable evicting the caches (by reading a buffer twice the last-level cache)."""

    def __init__(self, cache_bytes=None):
        cache_bytes = last_level_cache_bytes() if cache_bytes is None else cache_bytes
        self.buffer = np.ones(2 * cache_bytes // 4, dtype=np.float32)

    def __call__(self):
        self.buffer.sum()
