r"""One sequence through a pruned LSTM: every step's CSR product and gates in ONE Numba call.

At batch 1 a step is a sparse matrix-vector product (``h[t-1] @ w`` with the CSR rows of
``w.T``: ~0.5 ns per kept weight on one core) and a few microseconds of gates. From Python,
each call costs ~20 us, so the loop over time runs inside Numba (:func:`_lstm_one_sequence`).
A second thread halves the product, but waking Numba's sleeping workers costs ~0.1 ms -- as
much as the step. :func:`_lstm_one_sequence_parallel` therefore wakes them once per
sequence: one parallel loop around all steps, whose threads share each step's product
through atomic counters (``atomics.py``) instead of a new parallel loop per step::

    step t:   [chunk 0][chunk 1] ... [chunk 7]   claimed by whichever thread is free
                                 \________/
           the thread finishing the last chunk computes step t's gates -> h[t]
    step t+1: [chunk 0] ...   (threads wait until h[t] exists)

Measured with ``benchmarks/pruned_lstm.py`` (1024 units, 0.9 sparsity, 2 cores): see the
benchmark's README table.
"""

import numpy as np
from numba import get_num_threads, njit, prange

from .atomics import fetch_add, load_acquire, spin_pause, yield_core
from .lstm import _lstm_entry, _lstm_units
from .sparse import SERIAL_DOT_BELOW, row_dot
from .threads import SPINNING_SERIAL_BELOW, WORKERS_SPIN


@njit(fastmath={"reassoc", "contract"}, cache=True)
def _csr_dot(indptr, indices, values, x, out, first, last):
    """``out[f] = sum_j values[j] * x[indices[j]]`` over the nonzeros of CSR rows f in
    ``first .. last``, on the calling thread (``sparse._rows_dot`` without its threads,
    bias and ReLU; its fast-math flags are those ``row_dot`` needs)."""
    for f in range(first, last):
        out[f] = row_dot(indptr, indices, values, x, f)


@njit(cache=True)
def _lstm_one_sequence(x, bias, indptr, indices, values, product, zero, rows, prev_rows, act,
                       gate_act, state_act, h, cell, gates, cell_act, h_steps):
    """Every step of a batch of one sequence: the CSR product, then the gates."""
    for t in range(rows.shape[0]):
        if t:
            _csr_dot(indptr, indices, values, h_steps[t - 1], product[0], 0,
                     product.shape[1])
        _lstm_entry(x, bias, product, zero, rows, prev_rows, t, 0, act, gate_act, state_act,
                    h, cell, gates, cell_act, h_steps)


# Counters of the cooperative loop (entries of its int64 ``state``): work items claimed, the
# product chunks and the gate parts completed
_CLAIMED, _PRODUCTS, _UNITS = 0, 1, 2

#: pauses (~40 ns each) a waiting thread spins before it yields its core: a step's items
#: take microseconds, so a longer wait means the thread doing one is not running
SPINS_BEFORE_YIELD = 1000


@njit(cache=True)
def _wait_until(state, counter, value):
    spins = 0
    while load_acquire(state, counter) < value:
        if spins < SPINS_BEFORE_YIELD:
            spins += 1
            spin_pause()
        else:
            yield_core()


@njit(cache=True)
def _claim(state, items):
    """``(step, item)``: the next work item of the run, ``items`` to a step from step 1 on
    (counted in ``state[_CLAIMED]``)."""
    claim = fetch_add(state, _CLAIMED, 1)
    return 1 + claim // items, claim % items


@njit(cache=True)
def _lstm_one_sequence_share(state, bounds, units, x, bias, indptr, indices, values, product,
                             zero, rows, prev_rows, act, gate_act, state_act, h, cell, gates,
                             cell_act, h_steps):
    """One thread's part of :func:`_lstm_one_sequence` done by several threads.

    Each step t >= 1 is a list of work items: the product cut into ``len(bounds) - 1``
    chunks of CSR rows with about equal nonzeros, then the gates cut into ``len(units) - 1``
    parts of hidden units. A thread claims the next item of the whole run (``_CLAIMED``);
    a product chunk waits until every gate part of step t-1 is done (``_UNITS``: ``h[t-1]``
    exists), a gate part until every product chunk of step t is (``_PRODUCTS``). A thread
    only ever waits for items claimed before its own -- by threads that are running them --
    so one thread alone also finishes the run. Step 0 (no product) is done before.
    """
    chunks, parts = bounds.shape[0] - 1, units.shape[0] - 1
    items = chunks + parts
    while True:
        t, item = _claim(state, items)
        if t >= rows.shape[0]:
            return
        if item < chunks:
            _wait_until(state, _UNITS, parts * t)
            _csr_dot(indptr, indices, values, h_steps[t - 1], product[0], bounds[item],
                     bounds[item + 1])
            fetch_add(state, _PRODUCTS, 1)
        else:
            _wait_until(state, _PRODUCTS, chunks * t)
            part = item - chunks
            _lstm_units(x, bias, product, zero, rows, prev_rows, t, 0, act, gate_act,
                        state_act, h, cell, gates, cell_act, h_steps, units[part],
                        units[part + 1])
            fetch_add(state, _UNITS, 1)


@njit(parallel=True, cache=True)
def _lstm_one_sequence_parallel(threads, bounds, units, x, bias, indptr, indices, values,
                                product, zero, rows, prev_rows, act, gate_act, state_act, h,
                                cell, gates, cell_act, h_steps):
    """:func:`_lstm_one_sequence` with ``threads`` threads sharing each step's product and
    gates, inside ONE parallel loop: its workers are woken once per sequence, not per
    step."""
    _lstm_entry(x, bias, product, zero, rows, prev_rows, 0, 0, act, gate_act, state_act, h,
                cell, gates, cell_act, h_steps)
    state = np.zeros(3, dtype=np.int64)
    state[_UNITS] = units.shape[0] - 1
    for _ in prange(threads):
        _lstm_one_sequence_share(state, bounds, units, x, bias, indptr, indices, values,
                                 product, zero, rows, prev_rows, act, gate_act, state_act, h,
                                 cell, gates, cell_act, h_steps)


#: chunks of each step's product per thread: a thread that finishes early takes another
#: chunk instead of waiting for the slower one
CHUNKS_PER_THREAD = 4


def _sharing_threads(nonzeros, steps):
    """Threads for a one-sequence run whose steps multiply ``nonzeros`` weights: Numba's
    count when the products of the whole run outweigh starting the workers once
    (``SERIAL_DOT_BELOW`` nonzeros if they sleep, the spinning threshold of ``threads.py``
    if they spin), else 1."""
    work = nonzeros * (steps - 1)
    threshold = SPINNING_SERIAL_BELOW if WORKERS_SPIN else SERIAL_DOT_BELOW
    return get_num_threads() if steps > 2 and work >= threshold else 1


def _unit_bounds(hidden, threads):
    """Hidden-unit bounds cutting a step's gates into one part per thread, at multiples of
    16 units (whole vectors)."""
    step = -(-hidden // threads)
    step = -(-step // 16) * 16
    return np.minimum(np.arange(0, threads + 1) * step, hidden).astype(np.int64)


def _chunk_bounds(w, threads):
    """CSR row bounds cutting the nonzeros into ``threads * CHUNKS_PER_THREAD`` equal parts."""
    chunks = threads * CHUNKS_PER_THREAD
    targets = np.linspace(0, int(w.indptr[-1]), chunks + 1)
    bounds = np.searchsorted(w.indptr.astype(np.int64), targets).astype(np.int64)
    bounds[0], bounds[-1] = 0, w.rows
    return np.maximum.accumulate(bounds)
