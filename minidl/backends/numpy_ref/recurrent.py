"""Reference kernels of the fused recurrent layers: ``lstmemory`` and ``grumemory``.

Both layers read a batch of sequences as packed rows (``minidl/core/sequence.py``): ``x`` holds
every timestep of every sequence, sequence i is ``x[starts[i]:starts[i + 1]]``, and the
output ``h`` has one row per input row. Each sequence starts from ``h = 0`` (and ``c = 0``);
``reverse=True`` runs each sequence from its last row to its first.

The input is already projected (the ``fc`` or ``mixed`` layer before the recurrent layer
multiplied by the input weights), so a row of ``x`` holds the gates' input parts; the
recurrent weight ``w`` multiplies the previous output from the right, ``h_prev @ w``.

LSTM (Paddle's ``LstmLayer``, ``hl_lstm_ops.cuh``), hidden size H::

    x row  (4H): [ candidate | input gate | forget gate | output gate ]
    w   (H, 4H): the same four blocks of columns
    bias   (7H): [ 4H added to x's row | checkI | checkF | checkO ]   (peepholes, H each)

    z = x[t] + bias[:4H] + h[t-1] @ w
    a = act(z_a)                                      candidate
    i = gate_act(z_i + c[t-1] * checkI)               input gate sees the OLD cell
    f = gate_act(z_f + c[t-1] * checkF)               forget gate sees the OLD cell
    c[t] = a * i + c[t-1] * f
    o = gate_act(z_o + c[t] * checkO)                 output gate sees the NEW cell
    h[t] = o * state_act(c[t])

GRU (Paddle's ``GatedRecurrentLayer``, ``hl_gru_ops.cuh``), hidden size H::

    x row  (3H): [ update gate | reset gate | candidate ]
    bias   (3H): added to x's row
    w   (H, 3H): Paddle's dims; its memory holds TWO matrices one after the other --
                 w_gate (H, 2H) (update and reset columns), then w_state (H, H) --
                 NOT the columns of one H x 3H matrix (see :func:`gru_weight_views`)

    z = x[t] + bias
    u = gate_act(z_u + h[t-1] @ w_gate[:, :H])
    r = gate_act(z_r + h[t-1] @ w_gate[:, H:])
    m = act(z_m + (r * h[t-1]) @ w_state)            candidate, from the reset previous output
    h[t] = (1 - u) * h[t-1] + u * m

Activations: Paddle's recurrent kernels offer ``tanh``, ``sigmoid``, ``relu`` and ``linear``
(:data:`RECURRENT_ACTIVATIONS`, the kernel names of ``backends/numpy_ref/activation.py``),
and each derivative is written through the activation's output.

The kernels below loop over the sequences, and inside a sequence over its timesteps, in the
order the recurrence runs: the plainest statement of the equations, one row at a time. Each
forward returns what its backward needs (the activated gates, the cells); each backward runs
the same loops the other way (backpropagation through time) and returns the gradients of
``x``, ``w`` and ``bias``.
"""

from ...core.xp import get_array_module
from ..registry import register
from .activation import (act_relu, act_relu_grad, act_sigmoid, act_sigmoid_grad, act_tanh,
                         act_tanh_grad)

#: activation kernel name -> (forward, derivative written through the output y)
_ACTIVATIONS = {
    "tanh": (act_tanh, lambda y, gy: act_tanh_grad(None, y, gy)),
    "sigmoid": (act_sigmoid, lambda y, gy: act_sigmoid_grad(None, y, gy)),
    "relu": (act_relu, lambda y, gy: act_relu_grad(None, y, gy)),
    "linear": (lambda x: x, lambda y, gy: gy),
}
#: the activations a recurrent layer accepts for act / gate_act / state_act (Paddle's hppl)
RECURRENT_ACTIVATIONS = tuple(_ACTIVATIONS)


def activate(name, x):
    """``name``'s activation of ``x`` (one of :data:`RECURRENT_ACTIVATIONS`)."""
    return _ACTIVATIONS[name][0](x)


def activation_grad(name, y, gy):
    """``gy * act'``, with the derivative written through the output ``y = act(x)``."""
    return _ACTIVATIONS[name][1](y, gy)


def timesteps(starts, i, reverse):
    """The rows of sequence ``i`` in the order the recurrence visits them."""
    rows = range(int(starts[i]), int(starts[i + 1]))
    return rows[::-1] if reverse else rows


def gru_weight_views(w):
    """``(w_gate (H, 2H), w_state (H, H))``: views of the GRU weight's memory.

    Paddle stores the GRU weight as one block of ``3 * H * H`` numbers with dims
    ``[H, 3H]``, but its kernels read the first ``2 * H * H`` as the row-major ``(H, 2H)``
    gate weight and the last ``H * H`` as the row-major ``(H, H)`` candidate weight. So
    ``w_gate`` is NOT ``w[:, :2H]``: a tarball's values are only reproduced this way.
    """
    hidden = w.shape[0]
    flat = w.reshape(-1)
    return (flat[:2 * hidden * hidden].reshape(hidden, 2 * hidden),
            flat[2 * hidden * hidden:].reshape(hidden, hidden))


def gru_weight_join(g_gate, g_state):
    """The inverse of :func:`gru_weight_views`: one ``(H, 3H)`` array in Paddle's layout."""
    xp = get_array_module(g_gate)
    hidden = g_gate.shape[0]
    return xp.concatenate([g_gate.reshape(-1), g_state.reshape(-1)]).reshape(hidden,
                                                                           3 * hidden)


# --- LSTM ------------------------------------------------------------------------------------

@register("lstm_forward")
def lstm_forward(x, w, bias, starts, reverse, act, gate_act, state_act):
    """The LSTM over every sequence (equations in the module docstring).

    Notation: ``x: (R, 4H)``, ``w: (H, 4H)``, ``bias: (7H,)``, ``starts: (S + 1,)``;
    ``act``, ``gate_act``, ``state_act``: names from :data:`RECURRENT_ACTIVATIONS`.
    Returns ``h: (R, H)``, ``cell: (R, H)`` (c), ``gates: (R, 4H)`` (the activated
    ``[a | i | f | o]``) and ``cell_act: (R, H)`` (``state_act(c)``).
    """
    xp = get_array_module(x)
    hidden = w.shape[0]
    b, check_i, check_f, check_o = (bias[:4 * hidden], bias[4 * hidden:5 * hidden],
                                    bias[5 * hidden:6 * hidden], bias[6 * hidden:])
    h = xp.zeros((x.shape[0], hidden), dtype=x.dtype)
    cell, cell_act = xp.zeros_like(h), xp.zeros_like(h)
    gates = xp.zeros_like(x)
    for i in range(len(starts) - 1):
        h_prev = xp.zeros(hidden, dtype=x.dtype)          # every sequence starts from 0
        c_prev = xp.zeros(hidden, dtype=x.dtype)
        for t in timesteps(starts, i, reverse):
            z = x[t] + b + h_prev @ w
            z_a, z_i, z_f, z_o = (z[k * hidden:(k + 1) * hidden] for k in range(4))
            a = activate(act, z_a)
            in_gate = activate(gate_act, z_i + c_prev * check_i)
            forget = activate(gate_act, z_f + c_prev * check_f)
            c = a * in_gate + c_prev * forget
            out_gate = activate(gate_act, z_o + c * check_o)
            s = activate(state_act, c)
            h[t] = out_gate * s
            cell[t], cell_act[t] = c, s
            gates[t] = xp.concatenate([a, in_gate, forget, out_gate])
            h_prev, c_prev = h[t], c
    return h, cell, gates, cell_act


@register("lstm_backward")
def lstm_backward(gh, w, bias, starts, reverse, act, gate_act, state_act, h, cell, gates,
                  cell_act):
    """Gradients of :func:`lstm_forward` from ``gh: (R, H)`` (d loss / d h) and what the
    forward returned. Returns ``gx: (R, 4H)``, ``gw: (H, 4H)``, ``gbias: (7H,)``.

    Each sequence is walked backwards through the order the forward visited it; the
    gradients reaching ``h[t-1]`` and ``c[t-1]`` from step t are carried to step t-1::

        dh  = gh[t] + dz[t+1] @ w.T
        dz_o = gate_act'(o) * dh * s                      s = state_act(c[t])
        dc  = dc[t+1 -> t] + state_act'(s) * dh * o + dz_o * checkO
        dz_a = act'(a) * dc * i        dz_i = gate_act'(i) * dc * a
        dz_f = gate_act'(f) * dc * c[t-1]
        dc[t -> t-1] = dz_i * checkI + dz_f * checkF + dc * f
        gx[t] = dz = [dz_a | dz_i | dz_f | dz_o];  gw += outer(h[t-1], dz)
        gbias[:4H] += dz;  gcheckI += dz_i * c[t-1];  gcheckF += dz_f * c[t-1]
        gcheckO += dz_o * c[t]
    """
    xp = get_array_module(gh)
    hidden = w.shape[0]
    check_i, check_f, check_o = (bias[4 * hidden:5 * hidden], bias[5 * hidden:6 * hidden],
                                 bias[6 * hidden:])
    gx = xp.zeros_like(gates)
    gw = xp.zeros_like(w)
    gbias = xp.zeros_like(bias)
    for i in range(len(starts) - 1):
        order = list(timesteps(starts, i, reverse))
        dh_next = xp.zeros(hidden, dtype=gh.dtype)        # d loss / d h[t], through w
        dc_next = xp.zeros(hidden, dtype=gh.dtype)        # d loss / d c[t], through c[t+1]
        for step in range(len(order) - 1, -1, -1):
            t = order[step]
            has_prev = step > 0
            c_prev = cell[order[step - 1]] if has_prev else xp.zeros(hidden, dtype=gh.dtype)
            a, in_gate, forget, out_gate = (gates[t, k * hidden:(k + 1) * hidden]
                                            for k in range(4))
            s = cell_act[t]
            dh = gh[t] + dh_next
            dz_o = activation_grad(gate_act, out_gate, dh * s)
            dc = dc_next + activation_grad(state_act, s, dh * out_gate) + dz_o * check_o
            dz_a = activation_grad(act, a, dc * in_gate)
            dz_i = activation_grad(gate_act, in_gate, dc * a)
            dz_f = activation_grad(gate_act, forget, dc * c_prev)
            dz = xp.concatenate([dz_a, dz_i, dz_f, dz_o])
            gx[t] = dz
            gbias[:4 * hidden] += dz
            gbias[4 * hidden:5 * hidden] += dz_i * c_prev
            gbias[5 * hidden:6 * hidden] += dz_f * c_prev
            gbias[6 * hidden:] += dz_o * cell[t]
            if has_prev:
                gw += xp.outer(h[order[step - 1]], dz)
            dh_next = dz @ w.T
            dc_next = dz_i * check_i + dz_f * check_f + dc * forget
    return gx, gw, gbias


# --- GRU -------------------------------------------------------------------------------------

@register("gru_forward")
def gru_forward(x, w, bias, starts, reverse, act, gate_act):
    """The GRU over every sequence (equations in the module docstring).

    Notation: ``x: (R, 3H)``, ``w: (H, 3H)`` in Paddle's layout (:func:`gru_weight_views`),
    ``bias: (3H,)``, ``starts: (S + 1,)``. Returns ``h: (R, H)`` and ``gates: (R, 3H)``
    (the activated ``[u | r | m]``).
    """
    xp = get_array_module(x)
    hidden = w.shape[0]
    w_gate, w_state = gru_weight_views(w)
    h = xp.zeros((x.shape[0], hidden), dtype=x.dtype)
    gates = xp.zeros_like(x)
    for i in range(len(starts) - 1):
        h_prev = xp.zeros(hidden, dtype=x.dtype)
        for t in timesteps(starts, i, reverse):
            z = x[t] + bias
            z_gates = z[:2 * hidden] + h_prev @ w_gate
            update = activate(gate_act, z_gates[:hidden])
            reset = activate(gate_act, z_gates[hidden:])
            m = activate(act, z[2 * hidden:] + (reset * h_prev) @ w_state)
            h[t] = (1 - update) * h_prev + update * m
            gates[t] = xp.concatenate([update, reset, m])
            h_prev = h[t]
    return h, gates


@register("gru_backward")
def gru_backward(gh, w, starts, reverse, act, gate_act, h, gates):
    """Gradients of :func:`gru_forward` from ``gh: (R, H)`` and what the forward returned.
    Returns ``gx: (R, 3H)``, ``gw: (H, 3H)`` (Paddle's layout) and ``gbias: (3H,)``
    (``gbias`` is the sum of ``gx``'s rows: the bias is added to every row of x)::

        dh   = gh[t] + (gradient reaching h[t] from step t+1)
        dz_u = gate_act'(u) * dh * (m - h[t-1])
        dz_m = act'(m) * dh * u
        d(r * h[t-1]) = dz_m @ w_state.T;   gw_state += outer(r * h[t-1], dz_m)
        dz_r = gate_act'(r) * d(r * h[t-1]) * h[t-1]
        gw_gate += outer(h[t-1], [dz_u | dz_r])
        dh[t-1] = dh * (1 - u) + d(r * h[t-1]) * r + [dz_u | dz_r] @ w_gate.T
    """
    xp = get_array_module(gh)
    hidden = w.shape[0]
    w_gate, w_state = gru_weight_views(w)
    gx = xp.zeros_like(gates)
    g_gate, g_state = xp.zeros_like(w_gate), xp.zeros_like(w_state)
    for i in range(len(starts) - 1):
        order = list(timesteps(starts, i, reverse))
        dh_next = xp.zeros(hidden, dtype=gh.dtype)       # d loss / d h[t] from step t+1
        for step in range(len(order) - 1, -1, -1):
            t = order[step]
            h_prev = h[order[step - 1]] if step > 0 else xp.zeros(hidden, dtype=gh.dtype)
            update, reset, m = (gates[t, k * hidden:(k + 1) * hidden] for k in range(3))
            dh = gh[t] + dh_next
            dz_u = activation_grad(gate_act, update, dh * (m - h_prev))
            dz_m = activation_grad(act, m, dh * update)
            d_reset_h = dz_m @ w_state.T
            g_state += xp.outer(reset * h_prev, dz_m)
            dz_r = activation_grad(gate_act, reset, d_reset_h * h_prev)
            dz_gates = xp.concatenate([dz_u, dz_r])
            g_gate += xp.outer(h_prev, dz_gates)
            gx[t] = xp.concatenate([dz_gates, dz_m])
            dh_next = dh * (1 - update) + d_reset_h * reset + dz_gates @ w_gate.T
    return gx, gru_weight_join(g_gate, g_state), gx.sum(axis=0)
