"""Numba ``lstm_forward`` / ``lstm_backward`` / ``gru_forward`` / ``gru_backward``.

Same signatures, equations and outputs as the references (``backends/numpy_ref/recurrent.py``,
which loop over one sequence and one row at a time). Here the loop runs over TIME, once per
timestep of the longest sequence, and each step handles every sequence still running at
once, as PyTorch's ``PackedSequence`` does::

    lengths 5, 2, 4  ->  sorted by length: sequences 0, 2, 1
    step      0  1  2  3  4
    running   3  3  2  2  1        (a prefix of the sorted sequences: the set only shrinks)

The packed batch is never padded or copied into a time-major tensor. A plan made once per
call (:func:`_plan`) lists, step after step, the packed row each running sequence reads at
that step; within a step the running sequences keep their sorted order, so the first ``n``
entries of one step and of the step before are the same sequences. Per step:

* the recurrent product ``h[t-1] @ w`` is one BLAS call from Python (``gemm.py``, cut
  across Numba's threads; a Numba loop over the same 64 x 512 x 2048 product took 15x
  longer) over the running sequences'
  previous outputs, kept contiguous in a time-major copy of ``h`` (``h_steps``);
* one Numba pass over the running sequences adds the input row and the bias, applies the
  gates and writes the results straight into the packed output rows (and ``h_steps``).

Backward runs the steps in reverse. The gradient reaching ``h[t-1]`` is one BLAS product of
the step's gate gradients with ``w.T``; the weight gradient is ONE large product at the end,
``h_prev.T @ dz`` over every step at once (the gate gradients are also kept time-major for
it). A pass runs on one thread below :data:`SERIAL_BELOW` values per step (``threads.py``).

Activations. Numba has no vectorised ``exp``/``tanh`` (its scalar ``tanh`` cost ~35 ns, the
whole LSTM step ~8 ms at 64 x 512, six times the BLAS product), so in float32 ``tanh`` is a
rational function, ``x * P(x^2) / Q(x^2)`` on ``|x| <= 9`` (beyond, float32 ``tanh`` is +-1),
fitted here (minimax, relative error 3.4e-7 in float32 arithmetic) and vectorised by LLVM;
``sigmoid(x) = (1 + tanh(x / 2)) / 2`` after Paddle's clip to ``[-40, 13]`` (absolute error
1.8e-7). Float64 uses the exact ``tanh`` and ``exp``. A pass applies each activation to a
whole block of a row at once (:func:`_activate`), choosing the function once per block.
"""

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from ..registry import register
from .gemm import gemm
from .threads import one_thread_below

#: activation kernel name -> code the Numba passes take (:func:`_activate` branches once per
#: run of values, so every branch is a plain loop)
_CODES = {"linear": 0, "sigmoid": 1, "tanh": 2, "relu": 3}
_SIGMOID, _TANH, _RELU = _CODES["sigmoid"], _CODES["tanh"], _CODES["relu"]
#: Paddle's sigmoid input range (as the reference activation kernel)
SIGMOID_LOW, SIGMOID_HIGH = -40.0, 13.0
#: below this many values per step (running sequences x H) the passes run on the calling
#: thread alone: at 64 x 512 a step's pass takes ~0.4 ms on one thread, and waking the other
#: cost more than it saved (50 steps: 20 ms on one thread, 26 ms on two)
SERIAL_BELOW = 1 << 17
#: the float32 tanh: |x| beyond which it is +-1, and the coefficients of P and Q (in x^2)
TANH_CLAMP = 9.0
TANH_P = (0.999999979, 0.133810355, 3.49560044e-03, 2.06093095e-05, 1.33550271e-08)
TANH_Q = (1.0, 0.467143511, 2.58770276e-02, 3.28565599e-04, 7.77669694e-07)
#: Numba options of every pass: no ZeroDivisionError check (it keeps LLVM from vectorising
#: the float32 tanh's division) and fused multiply-adds allowed, nothing else (NaN and
#: infinity keep their IEEE meaning)
_OPTIONS = dict(parallel=True, cache=True, error_model="numpy", fastmath={"contract"})


# --- activations: literal codes, float32 and float64 versions -------------------------------

def _tanh(v):
    """tanh of a float32 or float64 scalar (Numba only)."""
    raise NotImplementedError


@overload(_tanh)
def _tanh_typed(v):
    if v != types.float32:
        return lambda v: np.tanh(v)
    f = np.float32
    low, high = f(-TANH_CLAMP), f(TANH_CLAMP)
    p0, p1, p2, p3, p4 = (f(c) for c in TANH_P)
    q0, q1, q2, q3, q4 = (f(c) for c in TANH_Q)
    minus_one, one = f(-1), f(1)

    def rational(v):
        above = low if v < low else v           # NaN fails both tests and stays NaN
        x = high if above > high else above
        s = x * x
        p = (((p4 * s + p3) * s + p2) * s + p1) * s + p0
        q = (((q4 * s + q3) * s + q2) * s + q1) * s + q0
        y = x * p / q
        y_above = minus_one if y < minus_one else y     # the fit overshoots 1 by 2e-7
        return one if y_above > one else y_above
    return rational


def _sigmoid(v):
    """Paddle's sigmoid of a float32 or float64 scalar (Numba only)."""
    raise NotImplementedError


@overload(_sigmoid)
def _sigmoid_typed(v):
    f = np.float32 if v == types.float32 else np.float64
    half, low, high = f(0.5), f(SIGMOID_LOW), f(SIGMOID_HIGH)

    def sigmoid(v):
        above = low if v < low else v           # NaN fails both tests and stays NaN
        x = high if above > high else above
        return half * _tanh(half * x) + half
    return sigmoid


def _relu(v):
    """max(v, 0), NaN kept (Numba only)."""
    raise NotImplementedError


@overload(_relu)
def _relu_typed(v):
    zero = (np.float32 if v == types.float32 else np.float64)(0)
    return lambda v: zero if v < zero else v


@njit(error_model="numpy", fastmath={"contract"}, cache=True)
def _activate(code, values):
    """``values = act(values)`` in place for activation ``code``: the choice is made once
    per call, so each branch is a plain loop LLVM vectorises."""
    if code == _SIGMOID:
        for j in range(values.shape[0]):
            values[j] = _sigmoid(values[j])
    elif code == _TANH:
        for j in range(values.shape[0]):
            values[j] = _tanh(values[j])
    elif code == _RELU:
        for j in range(values.shape[0]):
            values[j] = _relu(values[j])


@njit(error_model="numpy", fastmath={"contract"}, cache=True)
def _derivative(code, y, out):
    """``out = act'`` of activation ``code``, written through its output ``y``."""
    one = _one(y)
    if code == _SIGMOID:
        for j in range(y.shape[0]):
            out[j] = y[j] * (one - y[j])
    elif code == _TANH:
        for j in range(y.shape[0]):
            out[j] = one - y[j] * y[j]
    elif code == _RELU:
        for j in range(y.shape[0]):
            out[j] = _relu_step(y[j])
    else:
        for j in range(y.shape[0]):
            out[j] = one


def _one(values):
    """1 in the dtype of the array ``values`` (Numba only)."""
    raise NotImplementedError


@overload(_one)
def _one_typed(values):
    one = (np.float32 if values.dtype == types.float32 else np.float64)(1)
    return lambda values: one


def _relu_step(y):
    """1 where ``y > 0``, else 0 (Numba only)."""
    raise NotImplementedError


@overload(_relu_step)
def _relu_step_typed(y):
    f = np.float32 if y == types.float32 else np.float64
    zero, one = f(0), f(1)
    return lambda y: one if y > zero else zero


# --- the plan: which packed row each running sequence reads at each step ------------------

def _plan(starts, reverse):
    """``(rows, prev_rows, step_starts)`` of a batch, time-major.

    ``step_starts: (T + 1,)``: step t's entries are ``step_starts[t]:step_starts[t + 1]``;
    ``rows: (R,)``: the packed row of each entry; ``prev_rows: (R,)``: the row the same
    sequence read at the step before (``-1`` at its first step). Sequences are sorted by
    length, longest first (ties in batch order), so step t's running sequences are the
    first ``step_starts[t + 1] - step_starts[t]`` of that order.
    """
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.diff(starts)
    order = np.argsort(-lengths, kind="stable")
    steps = int(lengths.max()) if lengths.size else 0
    running = (lengths[order][None, :] > np.arange(steps)[:, None]).sum(axis=1)
    step_starts = np.concatenate([[0], np.cumsum(running)]).astype(np.int64)
    t = np.repeat(np.arange(steps, dtype=np.int64), running)
    sequence = order[np.arange(t.size) - step_starts[t]]
    if reverse:
        rows = starts[sequence + 1] - 1 - t
        prev_rows = rows + 1
    else:
        rows = starts[sequence] + t
        prev_rows = rows - 1
    prev_rows[t == 0] = -1
    return rows, prev_rows, step_starts


class _Steps:
    """The plan of one call and the loop over its steps (forward or backward order)."""

    def __init__(self, starts, reverse, hidden):
        self.rows, self.prev_rows, self.step_starts = _plan(starts, reverse)
        self.count = len(self.step_starts) - 1
        #: running sequences at the first step: all of them (those with any rows)
        self.widest = int(self.step_starts[1]) if self.count else 0
        self.serial = one_thread_below(self.widest * hidden, SERIAL_BELOW)

    def span(self, t):
        """``(first entry, number of running sequences)`` of step t."""
        return int(self.step_starts[t]), int(self.step_starts[t + 1] - self.step_starts[t])


def _codes(*names):
    return tuple(_CODES[name] for name in names)


# --- LSTM ------------------------------------------------------------------------------------

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


# --- GRU -------------------------------------------------------------------------------------

@njit(**_OPTIONS)
def _gru_gates(x, bias, product, zero, rows, prev_rows, first, count, gate_act, h, gates,
               reset_h):
    """Update and reset gates of one step (in place in the packed ``gates`` row), and
    ``r * h[t-1]`` (contiguous, for the BLAS product with the candidate weight)."""
    hidden = h.shape[1]
    for k in prange(count):
        row, prev = rows[first + k], prev_rows[first + k]
        z_rec = product[k] if prev >= 0 else zero
        h_prev = h[prev] if prev >= 0 else zero        # zero: 2H >= H zeros
        x_row, z, out = x[row], gates[row], reset_h[k]
        for j in range(2 * hidden):
            z[j] = x_row[j] + bias[j] + z_rec[j]
        _activate(gate_act, z[:2 * hidden])
        for j in range(hidden):
            out[j] = z[hidden + j] * h_prev[j]


@njit(**_OPTIONS)
def _gru_output(x, bias, product, zero, rows, prev_rows, first, count, act, h, gates,
                h_steps):
    """Candidate and output of one step (``product``: ``(r * h[t-1]) @ w_state``)."""
    hidden = h.shape[1]
    for k in prange(count):
        row, prev = rows[first + k], prev_rows[first + k]
        z_rec = product[k] if prev >= 0 else zero
        h_prev = h[prev] if prev >= 0 else zero
        x_row, gate, h_out, h_step = x[row], gates[row], h[row], h_steps[first + k]
        m = gate[2 * hidden:]
        for j in range(hidden):
            m[j] = x_row[2 * hidden + j] + bias[2 * hidden + j] + z_rec[j]
        _activate(act, m)
        for j in range(hidden):
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
    # what reaches h[t] from step t+1: zero for a sequence at its last step (see the LSTM)
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
