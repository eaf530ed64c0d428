r"""One sequence through a pruned GRU, its threads sharing each step inside ONE parallel loop.

The LSTM's cooperative loop (``csr_steps.py``) with the GRU's four phases per step: the
product with the gate weight, the update and reset gates, the product of ``r * h[t-1]``
with the candidate weight, then the candidate and the output::

    step t:  [gate product chunks] -> [gate parts] -> [candidate product chunks]
             -> [output parts: h[t]]
    step t+1: [gate product chunks] ... (they wait until h[t] exists)

Each phase waits until every item of the phase before it is done; a thread claims the
next item of the whole run, so it only ever waits for items claimed before its own, by
threads that are running them. A phase never overwrites what an earlier phase of the
same step still reads: the gate products of step t+1 start after every output part of
step t, which came after everything else of step t.
"""

import numpy as np
from numba import njit, prange

from .atomics import fetch_add
from .csr_steps import _claim, _csr_dot, _wait_until
from .gru import _gru_gate_units, _gru_output_units

# Counters of the loop (entries of its int64 ``state``): items claimed (entry 0, as
# ``csr_steps._claim`` counts them), then the items of each phase completed
_GATE_PRODUCTS, _GATES, _STATE_PRODUCTS, _OUTPUTS = range(1, 5)


@njit(cache=True)
def _gru_one_sequence_share(state, gate_bounds, state_bounds, units, x, bias, gate_indptr,
                            gate_indices, gate_values, state_indptr, state_indices,
                            state_values, product, product_state, reset_h, zero, rows,
                            prev_rows, act, gate_act, h, gates, h_steps):
    """One thread's part of the steps t >= 1: ``len(gate_bounds) - 1`` chunks of the gate
    product, ``len(units) - 1`` parts of the gates, ``len(state_bounds) - 1`` chunks of the
    candidate product and as many output parts as gate parts, in that order per step."""
    hidden = h.shape[1]
    gate_chunks, state_chunks = gate_bounds.shape[0] - 1, state_bounds.shape[0] - 1
    parts = units.shape[0] - 1
    items = gate_chunks + parts + state_chunks + parts
    while True:
        t, item = _claim(state, items)
        if t >= rows.shape[0]:
            return
        if item < gate_chunks:
            _wait_until(state, _OUTPUTS, parts * t)          # h[t-1] exists
            _csr_dot(gate_indptr, gate_indices, gate_values, h_steps[t - 1], product[0],
                     gate_bounds[item], gate_bounds[item + 1])
            fetch_add(state, _GATE_PRODUCTS, 1)
            continue
        item -= gate_chunks
        if item < parts:
            _wait_until(state, _GATE_PRODUCTS, gate_chunks * t)
            _gru_gate_units(x, bias, product, zero, rows, prev_rows, t, 0, gate_act, h,
                            gates, reset_h, units[item], units[item + 1])
            fetch_add(state, _GATES, 1)
            continue
        item -= parts
        if item < state_chunks:
            _wait_until(state, _GATES, parts * t)            # r * h[t-1] exists
            _csr_dot(state_indptr, state_indices, state_values, reset_h[0],
                     product_state[0], state_bounds[item], state_bounds[item + 1])
            fetch_add(state, _STATE_PRODUCTS, 1)
            continue
        item -= state_chunks
        _wait_until(state, _STATE_PRODUCTS, state_chunks * t)
        _gru_output_units(x, bias, product_state, zero[:hidden], rows, prev_rows, t, 0, act,
                          h, gates, h_steps, units[item], units[item + 1])
        fetch_add(state, _OUTPUTS, 1)


@njit(parallel=True, cache=True)
def _gru_one_sequence_parallel(threads, gate_bounds, state_bounds, units, x, bias,
                               gate_indptr, gate_indices, gate_values, state_indptr,
                               state_indices, state_values, product, product_state, reset_h,
                               zero, rows, prev_rows, act, gate_act, h, gates, h_steps):
    """Every step of a batch of one sequence (``sparse_recurrent._gru_one_sequence``) with
    ``threads`` threads sharing each step; step 0 (no products) first, on this thread."""
    hidden = h.shape[1]
    _gru_gate_units(x, bias, product, zero, rows, prev_rows, 0, 0, gate_act, h, gates,
                    reset_h, 0, hidden)
    _gru_output_units(x, bias, product_state, zero[:hidden], rows, prev_rows, 0, 0, act, h,
                      gates, h_steps, 0, hidden)
    state = np.zeros(5, dtype=np.int64)
    state[_OUTPUTS] = units.shape[0] - 1        # step 0's output parts: all done
    for _ in prange(threads):
        _gru_one_sequence_share(state, gate_bounds, state_bounds, units, x, bias,
                                gate_indptr, gate_indices, gate_values, state_indptr,
                                state_indices, state_values, product, product_state,
                                reset_h, zero, rows, prev_rows, act, gate_act, h, gates,
                                h_steps)
