"""Numba ``gru_forward`` / ``gru_backward``: the GRU over a packed batch, step by step.

The loop over time and what a step does are described in ``recurrent.py``; the plan of the
steps is ``packed_steps.py``, the activations ``recurrent_activations.py``. A GRU step has
two recurrent products, so two Numba passes: the update and reset gates
(:func:`_gru_gates`), then, after the product of ``r * h[t-1]`` with the candidate weight,
the candidate and the output (:func:`_gru_output`); backward likewise in two halves.
"""

import numpy as np
from numba import njit, prange

from ..registry import register
from .gemm import gemm
from .packed_steps import _Steps
from .recurrent_activations import _OPTIONS, _activate, _codes, _derivative


@njit(**_OPTIONS)
def _gru_gates(x, bias, product, zero, rows, prev_rows, first, count, gate_act, h, gates,
               reset_h):
    """Update and reset gates of one step (in place in the packed ``gates`` row), and
    ``r * h[t-1]`` (contiguous, for the BLAS product with the candidate weight)."""
    for k in prange(count):
        _gru_gate_units(x, bias, product, zero, rows, prev_rows, first, k, gate_act, h, gates,
                        reset_h, 0, h.shape[1])


@njit(error_model="numpy", fastmath={"contract"}, cache=True)
def _gru_gate_units(x, bias, product, zero, rows, prev_rows, first, k, gate_act, h, gates,
                    reset_h, lo, hi):
    """:func:`_gru_gates` for running sequence k and the hidden units ``lo .. hi`` only: a
    unit's gates depend on no other unit, so threads can share a step's units
    (``csr_gru_steps.py``)."""
    hidden = h.shape[1]
    row, prev = rows[first + k], prev_rows[first + k]
    z_rec = product[k] if prev >= 0 else zero
    h_prev = h[prev] if prev >= 0 else zero        # zero: 2H >= H zeros
    x_row, z, out = x[row], gates[row], reset_h[k]
    for gate in range(2):
        for j in range(gate * hidden + lo, gate * hidden + hi):
            z[j] = x_row[j] + bias[j] + z_rec[j]
    _activate(gate_act, z[lo:hi])
    _activate(gate_act, z[hidden + lo:hidden + hi])
    for j in range(lo, hi):
        out[j] = z[hidden + j] * h_prev[j]


@njit(**_OPTIONS)
def _gru_output(x, bias, product, zero, rows, prev_rows, first, count, act, h, gates,
                h_steps):
    """Candidate and output of one step (``product``: ``(r * h[t-1]) @ w_state``)."""
    for k in prange(count):
        _gru_output_units(x, bias, product, zero, rows, prev_rows, first, k, act, h, gates,
                          h_steps, 0, h.shape[1])


@njit(error_model="numpy", fastmath={"contract"}, cache=True)
def _gru_output_units(x, bias, product, zero, rows, prev_rows, first, k, act, h, gates,
                      h_steps, lo, hi):
    """:func:`_gru_output` for running sequence k and the hidden units ``lo .. hi`` only."""
    hidden = h.shape[1]
    row, prev = rows[first + k], prev_rows[first + k]
    z_rec = product[k] if prev >= 0 else zero
    h_prev = h[prev] if prev >= 0 else zero
    x_row, gate, h_out, h_step = x[row], gates[row], h[row], h_steps[first + k]
    m = gate[2 * hidden:]
    for j in range(lo, hi):
        m[j] = x_row[2 * hidden + j] + bias[2 * hidden + j] + z_rec[j]
    _activate(act, m[lo:hi])
    for j in range(lo, hi):
        u = gate[j]
        h_out[j] = h_step[j] = h_prev[j] - u * h_prev[j] + u * m[j]


def _gru_weights(w):
    """``(w_gate (H, 2H), w_state (H, H))``: views of the weight's memory (Paddle's
    layout, see the reference)."""
    hidden = w.shape[0]
    flat = w.reshape(-1)
    return (flat[:2 * hidden * hidden].reshape(hidden, 2 * hidden),
            flat[2 * hidden * hidden:].reshape(hidden, hidden))


@register("gru_forward", backend="cpu")
def gru_forward(x, w, bias, starts, reverse, act, gate_act):
    """See the reference: ``h, gates``."""
    x, w, bias = (np.ascontiguousarray(a) for a in (x, w, bias))
    hidden = w.shape[0]
    w_gate, w_state = _gru_weights(w)
    plan = _Steps(starts, reverse, hidden)
    h = np.empty((x.shape[0], hidden), dtype=x.dtype)
    gates, h_steps = np.empty_like(x), np.empty_like(h)
    product = np.empty((plan.widest, 2 * hidden), dtype=x.dtype)
    reset_h, product_state = np.empty((2, plan.widest, hidden), dtype=x.dtype)
    zero = np.zeros(2 * hidden, dtype=x.dtype)
    act_code, gate_code = _codes(act, gate_act)
    for t in range(plan.count):
        first, count = plan.span(t)
        if t:
            before = int(plan.step_starts[t - 1])
            gemm(h_steps[before:before + count], w_gate, product[:count])
        with plan.serial:
            _gru_gates(x, bias, product, zero, plan.rows, plan.prev_rows, first, count,
                       gate_code, h, gates, reset_h)
        if t:
            gemm(reset_h[:count], w_state, product_state[:count])
        with plan.serial:
            _gru_output(x, bias, product_state, zero[:hidden], plan.rows, plan.prev_rows,
                        first, count, act_code, h, gates, h_steps)
    return h, gates


@njit(**_OPTIONS)
def _gru_back_output(gh, zero, dh_carry, rows, prev_rows, first, count, act, gate_act, h,
                     gates, dz_gates, dz_cand, dh_prev):
    """First half of a backward step: the update gate's and the candidate's gradients, and
    the part of the gradient reaching ``h[t-1]`` directly, ``dh * (1 - u)``."""
    hidden = gh.shape[1]
    for k in prange(count):
        row, prev = rows[first + k], prev_rows[first + k]
        h_prev = h[prev] if prev >= 0 else zero
        gate, gh_row, dh_in, dh_out = gates[row], gh[row], dh_carry[k], dh_prev[k]
        dz_g, dz_m = dz_gates[first + k], dz_cand[first + k]
        _derivative(gate_act, gate[:hidden], dz_g[:hidden])
        _derivative(act, gate[2 * hidden:], dz_m)
        for j in range(hidden):
            u, m = gate[j], gate[2 * hidden + j]
            dh = gh_row[j] + dh_in[j]
            dz_g[j] = dz_g[j] * dh * (m - h_prev[j])
            dz_m[j] = dz_m[j] * dh * u
            dh_out[j] = dh - dh * u


@njit(**_OPTIONS)
def _gru_back_reset(d_reset_h, zero, rows, prev_rows, first, count, gate_act, h, gates,
                    dz_gates, dz_cand, dh_prev, reset_h_steps, gx):
    """Second half: the reset gate's gradient from ``d(r * h[t-1])``, the packed ``gx``
    rows, and ``r * h[t-1]`` kept for the candidate weight's gradient."""
    hidden = gx.shape[1] // 3
    for k in prange(count):
        row, prev = rows[first + k], prev_rows[first + k]
        h_prev = h[prev] if prev >= 0 else zero
        gate, d_rh, dh_out = gates[row], d_reset_h[k], dh_prev[k]
        dz_g, dz_m, rh, gx_row = (dz_gates[first + k], dz_cand[first + k],
                                  reset_h_steps[first + k], gx[row])
        _derivative(gate_act, gate[hidden:2 * hidden], dz_g[hidden:])
        for j in range(hidden):
            r = gate[hidden + j]
            dz_g[hidden + j] = dz_g[hidden + j] * d_rh[j] * h_prev[j]
            dh_out[j] += d_rh[j] * r
            rh[j] = r * h_prev[j]
        for j in range(2 * hidden):
            gx_row[j] = dz_g[j]
        for j in range(hidden):
            gx_row[2 * hidden + j] = dz_m[j]


@register("gru_backward", backend="cpu")
def gru_backward(gh, w, starts, reverse, act, gate_act, h, gates):
    """See the reference: ``gx, gw, gbias``."""
    gh, w, h, gates = (np.ascontiguousarray(a) for a in (gh, w, h, gates))
    hidden = w.shape[0]
    w_gate, w_state = _gru_weights(w)
    plan = _Steps(starts, reverse, hidden)
    total = gh.shape[0]
    gx = np.empty_like(gates)
    dz_gates = np.empty((total, 2 * hidden), dtype=gh.dtype)
    dz_cand, reset_h_steps = np.empty((2, total, hidden), dtype=gh.dtype)
    # what reaches h[t] from step t+1: zero for a sequence at its last step (see ``lstm_backward``)
    dh_carry = np.zeros((plan.widest, hidden), dtype=gh.dtype)
    dh_prev, d_reset_h = np.empty((2, plan.widest, hidden), dtype=gh.dtype)
    zero = np.zeros(hidden, dtype=gh.dtype)
    act_code, gate_code = _codes(act, gate_act)
    w_gate_t, w_state_t = w_gate.T, w_state.T
    for t in range(plan.count - 1, -1, -1):
        first, count = plan.span(t)
        step = slice(first, first + count)
        with plan.serial:
            _gru_back_output(gh, zero, dh_carry, plan.rows, plan.prev_rows, first, count,
                             act_code, gate_code, h, gates, dz_gates, dz_cand, dh_prev)
        gemm(dz_cand[step], w_state_t, d_reset_h[:count])
        with plan.serial:
            _gru_back_reset(d_reset_h, zero, plan.rows, plan.prev_rows, first, count,
                            gate_code, h, gates, dz_gates, dz_cand, dh_prev, reset_h_steps, gx)
        if t:   # what reaches h[t-1]: dh (1 - u) + d(r h) r + dz_gates @ w_gate.T
            gemm(dz_gates[step], w_gate_t, dh_carry[:count])
            dh_carry[:count] += dh_prev[:count]
    later = slice(plan.widest, total)          # the steps t >= 1
    g_gate = gemm(h[plan.prev_rows[later]].T, dz_gates[later])
    g_state = gemm(reset_h_steps[later].T, dz_cand[later])
    gw = np.concatenate([g_gate.reshape(-1), g_state.reshape(-1)]).reshape(hidden, 3 * hidden)
    return gx, gw, gx.sum(axis=0)
