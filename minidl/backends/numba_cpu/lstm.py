"""Numba ``lstm_forward`` / ``lstm_backward``: the LSTM over a packed batch, step by step.

The loop over time and what a step does are described in ``recurrent.py``; the plan of the
steps is ``packed_steps.py``, the activations ``recurrent_activations.py``. A step's gates
are one Numba pass over the running sequences (:func:`_lstm_step`, each sequence through
:func:`_lstm_entry`); :func:`_lstm_units` computes a range of hidden units only, so that the
batch-1 sparse kernels (``csr_steps.py``) can share one step's units among threads.
"""

import numpy as np
from numba import njit, prange

from ..registry import register
from .gemm import gemm
from .packed_steps import _Steps
from .recurrent_activations import _OPTIONS, _activate, _codes, _derivative


@njit(**_OPTIONS)
def _lstm_step(x, bias, product, zero, rows, prev_rows, first, count, act, gate_act,
               state_act, h, cell, gates, cell_act, h_steps):
    """One step for ``count`` running sequences (entries ``first .. first + count``).
    ``product[k]`` holds ``h[t-1] @ w``; at a sequence's first step ``zero`` stands for it
    and for ``c[t-1]``. The gates are computed in place in the packed ``gates`` row."""
    for k in prange(count):
        _lstm_entry(x, bias, product, zero, rows, prev_rows, first, k, act, gate_act,
                    state_act, h, cell, gates, cell_act, h_steps)


@njit(error_model="numpy", fastmath={"contract"}, cache=True)
def _lstm_entry(x, bias, product, zero, rows, prev_rows, first, k, act, gate_act, state_act,
                h, cell, gates, cell_act, h_steps):
    """:func:`_lstm_step` for running sequence k alone, on the calling thread."""
    _lstm_units(x, bias, product, zero, rows, prev_rows, first, k, act, gate_act, state_act,
                h, cell, gates, cell_act, h_steps, 0, h.shape[1])


@njit(error_model="numpy", fastmath={"contract"}, cache=True)
def _lstm_units(x, bias, product, zero, rows, prev_rows, first, k, act, gate_act, state_act,
                h, cell, gates, cell_act, h_steps, lo, hi):
    """:func:`_lstm_entry` for the hidden units ``lo .. hi`` only: a unit's four gates,
    peepholes and cell depend on no other unit, so threads can share a step's units."""
    hidden = h.shape[1]
    check_i, check_f = bias[4 * hidden:5 * hidden], bias[5 * hidden:6 * hidden]
    check_o = bias[6 * hidden:]
    row, prev = rows[first + k], prev_rows[first + k]
    z_rec = product[k] if prev >= 0 else zero
    c_prev = cell[prev] if prev >= 0 else zero      # zero: 4H >= H zeros
    z, c_out, s_out = gates[row], cell[row], cell_act[row]
    x_row, h_out, h_step = x[row], h[row], h_steps[first + k]
    for gate in range(4):
        for j in range(gate * hidden + lo, gate * hidden + hi):
            z[j] = x_row[j] + bias[j] + z_rec[j]
    for j in range(lo, hi):       # input and forget gates see the old cell
        z[hidden + j] += c_prev[j] * check_i[j]
        z[2 * hidden + j] += c_prev[j] * check_f[j]
    _activate(act, z[lo:hi])
    _activate(gate_act, z[hidden + lo:hidden + hi])
    _activate(gate_act, z[2 * hidden + lo:2 * hidden + hi])
    for j in range(lo, hi):       # the new cell; the output gate sees it
        c = z[j] * z[hidden + j] + c_prev[j] * z[2 * hidden + j]
        c_out[j] = s_out[j] = c
        z[3 * hidden + j] += c * check_o[j]
    _activate(gate_act, z[3 * hidden + lo:3 * hidden + hi])
    _activate(state_act, s_out[lo:hi])
    for j in range(lo, hi):
        h_out[j] = h_step[j] = z[3 * hidden + j] * s_out[j]


@register("lstm_forward", backend="cpu")
def lstm_forward(x, w, bias, starts, reverse, act, gate_act, state_act):
    """See the reference: ``h, cell, gates, cell_act``."""
    x, w, bias = (np.ascontiguousarray(a) for a in (x, w, bias))
    hidden = w.shape[0]
    plan = _Steps(starts, reverse, hidden)
    h = np.empty((x.shape[0], hidden), dtype=x.dtype)
    cell, cell_act, gates, h_steps = (np.empty_like(h), np.empty_like(h), np.empty_like(x),
                                      np.empty_like(h))
    product = np.empty((plan.widest, 4 * hidden), dtype=x.dtype)
    zero = np.zeros(4 * hidden, dtype=x.dtype)
    codes = _codes(act, gate_act, state_act)
    for t in range(plan.count):
        first, count = plan.span(t)
        if t:
            before = int(plan.step_starts[t - 1])
            gemm(h_steps[before:before + count], w, product[:count])
        with plan.serial:
            _lstm_step(x, bias, product, zero, plan.rows, plan.prev_rows, first, count,
                       *codes, h, cell, gates, cell_act, h_steps)
    return h, cell, gates, cell_act


@njit(**_OPTIONS)
def _lstm_step_back(gh, bias, zero, dh_carry, dc_carry, slope, rows, prev_rows, first, count,
                    act, gate_act, state_act, cell, gates, cell_act, gx, dz_steps, peepholes):
    """One backward step. ``dh_carry[k]`` holds what reaches ``h[t]`` from step t+1 (through
    ``w``), ``dc_carry[k]`` what reaches ``c[t]``; ``dc_carry[k]`` is replaced by what
    reaches ``c[t-1]``. ``peepholes[k]`` sums sequence k's checkI / checkF / checkO grads;
    ``slope[k]`` is scratch (state_act' of the step)."""
    hidden = gh.shape[1]
    check_i, check_f = bias[4 * hidden:5 * hidden], bias[5 * hidden:6 * hidden]
    check_o = bias[6 * hidden:]
    for k in prange(count):
        row, prev = rows[first + k], prev_rows[first + k]
        c_prev = cell[prev] if prev >= 0 else zero
        gate, c_row, s_row, gh_row = gates[row], cell[row], cell_act[row], gh[row]
        dh_in, dc_in, peep, ds = dh_carry[k], dc_carry[k], peepholes[k], slope[k]
        gx_row, dz = gx[row], dz_steps[first + k]
        _derivative(act, gate[:hidden], dz[:hidden])            # act' then gate_act'
        _derivative(gate_act, gate[hidden:], dz[hidden:])
        _derivative(state_act, s_row, ds)
        for j in range(hidden):
            j1, j2, j3 = hidden + j, 2 * hidden + j, 3 * hidden + j
            dh = gh_row[j] + dh_in[j]
            dz_o = dz[j3] * dh * s_row[j]
            dc = dc_in[j] + ds[j] * dh * gate[j3] + dz_o * check_o[j]
            dz_a = dz[j] * dc * gate[j1]
            dz_i = dz[j1] * dc * gate[j]
            dz_f = dz[j2] * dc * c_prev[j]
            dc_in[j] = dz_i * check_i[j] + dz_f * check_f[j] + dc * gate[j2]
            peep[j] += dz_i * c_prev[j]
            peep[j1] += dz_f * c_prev[j]
            peep[j2] += dz_o * c_row[j]
            gx_row[j] = dz[j] = dz_a
            gx_row[j1] = dz[j1] = dz_i
            gx_row[j2] = dz[j2] = dz_f
            gx_row[j3] = dz[j3] = dz_o


@register("lstm_backward", backend="cpu")
def lstm_backward(gh, w, bias, starts, reverse, act, gate_act, state_act, h, cell, gates,
                  cell_act):
    """See the reference: ``gx, gw, gbias``."""
    gh, w, bias, h, cell, gates, cell_act = (np.ascontiguousarray(a) for a in
                                             (gh, w, bias, h, cell, gates, cell_act))
    hidden = w.shape[0]
    plan = _Steps(starts, reverse, hidden)
    gx, dz_steps = np.empty_like(gates), np.empty_like(gates)
    # zero rows stand for "nothing reaches this sequence from a later step": going backwards
    # a sequence joins the running set at its last step, and the set only grows
    dh_carry = np.zeros((plan.widest, hidden), dtype=gh.dtype)
    dc_carry = np.zeros_like(dh_carry)
    slope = np.empty_like(dh_carry)
    peepholes = np.zeros((plan.widest, 3 * hidden), dtype=gh.dtype)
    zero = np.zeros(hidden, dtype=gh.dtype)
    codes = _codes(act, gate_act, state_act)
    w_t = w.T
    for t in range(plan.count - 1, -1, -1):
        first, count = plan.span(t)
        if t + 1 < plan.count:
            later, later_count = plan.span(t + 1)
            gemm(dz_steps[later:later + later_count], w_t, dh_carry[:later_count])
        with plan.serial:
            _lstm_step_back(gh, bias, zero, dh_carry, dc_carry, slope, plan.rows,
                            plan.prev_rows, first, count, *codes, cell, gates, cell_act, gx,
                            dz_steps, peepholes)
    # entries from plan.widest on are the steps t >= 1, those with a previous output
    gw = gemm(h[plan.prev_rows[plan.widest:]].T, dz_steps[plan.widest:])
    gbias = np.concatenate([dz_steps.sum(axis=0), peepholes.sum(axis=0)])
    return gx, gw, gbias
