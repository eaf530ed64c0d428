"""Numba ``lstm_forward_csr`` / ``gru_forward_csr``: pruned recurrent layers at inference.

Same signatures and results as the references (``backends/numpy_ref/sparse_recurrent.py``).
The loop over time is the dense kernels' (``recurrent.py``: one step for every running
sequence, the gates in one Numba pass per step); only the recurrent product changes. Where
the dense forward calls BLAS, ``h[t-1] @ w``, this one multiplies with the CSR rows of
``w.T``:

* one sequence (batch 1, the case pruning is for): one sparse dot product per gate column
  (:func:`_csr_dot`, eight nonzeros at a time: the weights of a step stay in cache, so
  loads, not bytes, bound it). The whole loop over time then runs in ONE Numba call, its
  threads sharing each step's products and gates (``csr_steps.py`` for the LSTM,
  ``csr_gru_steps.py`` for the GRU);
* several: per step, each nonzero multiply-adds the running sequences' values of its
  column (``sparse_runs.csr_times_batch`` over ``h[t-1]``: the weights are read once for
  the batch), then the product is transposed back; the gate pass as in the dense kernel.

The CSR arrays are checked once per call, not per step.
"""

import numpy as np
from numba import njit

from ..registry import register
from .csr_gru_steps import _gru_one_sequence_parallel
from .csr_steps import (_chunk_bounds, _csr_dot, _lstm_one_sequence,
                        _lstm_one_sequence_parallel, _sharing_threads, _unit_bounds)
from .gru import _gru_gates, _gru_output
from .lstm import _lstm_step
from .packed_steps import _Steps
from .recurrent_activations import _codes
from .sparse import SERIAL_BELOW, SERIAL_DOT_BELOW, _checked, _rows_dot
from .sparse_runs import csr_times_batch
from .threads import one_thread_below


@njit(cache=True)
def _gru_one_sequence(x, bias, gate_indptr, gate_indices, gate_values, state_indptr,
                      state_indices, state_values, product, product_state, reset_h, zero,
                      rows, prev_rows, act, gate_act, h, gates, h_steps):
    """Every step of a batch of one sequence: gate product, gates, candidate product,
    output."""
    hidden = h.shape[1]
    for t in range(rows.shape[0]):
        if t:
            _csr_dot(gate_indptr, gate_indices, gate_values, h_steps[t - 1], product[0], 0,
                     product.shape[1])
        _gru_gates(x, bias, product, zero, rows, prev_rows, t, 1, gate_act, h, gates, reset_h)
        if t:
            _csr_dot(state_indptr, state_indices, state_values, reset_h[0], product_state[0],
                     0, product_state.shape[1])
        _gru_output(x, bias, product_state, zero[:hidden], rows, prev_rows, t, 1, act, h,
                    gates, h_steps)


class _Csr:
    """CSR arrays as the sparse kernels take them, and ``out[:n] = h @ w`` with them."""

    def __init__(self, indptr, indices, values, rows, what):
        self.indptr, self.indices, self.values, self.no_bias = _checked(indptr, indices,
                                                                        values, None, what)
        if len(self.indptr) - 1 != rows:
            raise ValueError(f"{what}: the CSR weight has {len(self.indptr) - 1} rows, "
                             f"expected {rows} (one per gate column)")
        self.rows = rows

    def arrays(self):
        """``(indptr, indices, values)`` as the one-sequence loops take them."""
        return self.indptr, self.indices, self.values

    def product(self, h, out):
        """``out[:n] = h @ w`` for ``h: (n, H)`` float32 (``w.T`` is the CSR)."""
        n = h.shape[0]
        nnz = int(self.indptr[-1])
        with one_thread_below(nnz * n, SERIAL_DOT_BELOW if n == 1 else SERIAL_BELOW):
            if n == 1:
                _rows_dot(self.indptr, self.indices, self.values, h[0], self.no_bias, False,
                          out[0])
                return
            out[:n] = csr_times_batch(self.indptr, self.indices, self.values,
                                      np.ascontiguousarray(h), self.no_bias, False).T


def _float32(*arrays):
    return (np.ascontiguousarray(a, dtype=np.float32) for a in arrays)


@register("lstm_forward_csr", backend="cpu")
def lstm_forward_csr(x, indptr, indices, values, bias, starts, reverse, act, gate_act,
                     state_act):
    """See the reference: ``h``."""
    x, bias = _float32(x, bias)
    hidden = x.shape[1] // 4
    w = _Csr(indptr, indices, values, 4 * hidden, "lstm_forward_csr")
    plan = _Steps(starts, reverse, hidden)
    h = np.empty((x.shape[0], hidden), dtype=np.float32)
    cell, cell_act, gates, h_steps = (np.empty_like(h), np.empty_like(h), np.empty_like(x),
                                      np.empty_like(h))
    product = np.empty((plan.widest, 4 * hidden), dtype=np.float32)
    zero = np.zeros(4 * hidden, dtype=np.float32)
    codes = _codes(act, gate_act, state_act)
    if plan.widest == 1:        # one sequence: the whole loop in one call
        threads = _sharing_threads(int(w.indptr[-1]), plan.count)
        if threads > 1:
            _lstm_one_sequence_parallel(threads, _chunk_bounds(w, threads),
                                        _unit_bounds(hidden, threads), x, bias,
                                        *w.arrays(), product, zero,
                                        plan.rows, plan.prev_rows, *codes, h, cell, gates,
                                        cell_act, h_steps)
            return h
        with one_thread_below(0, 1):
            _lstm_one_sequence(x, bias, *w.arrays(), product, zero,
                               plan.rows, plan.prev_rows, *codes, h, cell, gates, cell_act,
                               h_steps)
        return h
    for t in range(plan.count):
        first, count = plan.span(t)
        if t:
            before = int(plan.step_starts[t - 1])
            w.product(h_steps[before:before + count], product)
        with plan.serial:
            _lstm_step(x, bias, product, zero, plan.rows, plan.prev_rows, first, count,
                       *codes, h, cell, gates, cell_act, h_steps)
    return h


@register("gru_forward_csr", backend="cpu")
def gru_forward_csr(x, gate_indptr, gate_indices, gate_values, state_indptr, state_indices,
                    state_values, bias, starts, reverse, act, gate_act):
    """See the reference: ``h``."""
    x, bias = _float32(x, bias)
    hidden = x.shape[1] // 3
    w_gate = _Csr(gate_indptr, gate_indices, gate_values, 2 * hidden,
                  "gru_forward_csr (gate weight)")
    w_state = _Csr(state_indptr, state_indices, state_values, hidden,
                   "gru_forward_csr (candidate weight)")
    plan = _Steps(starts, reverse, hidden)
    h = np.empty((x.shape[0], hidden), dtype=np.float32)
    gates, h_steps = np.empty_like(x), np.empty_like(h)
    product = np.empty((plan.widest, 2 * hidden), dtype=np.float32)
    reset_h, product_state = np.empty((2, plan.widest, hidden), dtype=np.float32)
    zero = np.zeros(2 * hidden, dtype=np.float32)
    act_code, gate_code = _codes(act, gate_act)
    if plan.widest == 1:        # one sequence: the whole loop in one call
        threads = _sharing_threads(int(w_gate.indptr[-1]) + int(w_state.indptr[-1]),
                                   plan.count)
        if threads > 1:
            _gru_one_sequence_parallel(
                threads, _chunk_bounds(w_gate, threads), _chunk_bounds(w_state, threads),
                _unit_bounds(hidden, threads), x, bias, *w_gate.arrays(), *w_state.arrays(),
                product, product_state, reset_h, zero, plan.rows, plan.prev_rows, act_code,
                gate_code, h, gates, h_steps)
            return h
        with one_thread_below(0, 1):
            _gru_one_sequence(x, bias, *w_gate.arrays(), *w_state.arrays(), product,
                              product_state, reset_h, zero, plan.rows, plan.prev_rows,
                              act_code, gate_code, h, gates, h_steps)
        return h
    for t in range(plan.count):
        first, count = plan.span(t)
        if t:
            before = int(plan.step_starts[t - 1])
            w_gate.product(h_steps[before:before + count], product)
        with plan.serial:
            _gru_gates(x, bias, product, zero, plan.rows, plan.prev_rows, first, count,
                       gate_code, h, gates, reset_h)
        if t:
            w_state.product(reset_h[:count], product_state)
        with plan.serial:
            _gru_output(x, bias, product_state, zero[:hidden], plan.rows, plan.prev_rows,
                        first, count, act_code, h, gates, h_steps)
    return h
