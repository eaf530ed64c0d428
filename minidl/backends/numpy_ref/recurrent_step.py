"""Reference kernels of the one-timestep recurrent layers used inside ``recurrent_group``:
Paddle's ``gru_step`` and ``lstm_step`` (``GruStepLayer.cpp`` / ``LstmStepLayer.cpp`` with
``GruCompute`` / ``LstmCompute``), forward and backward for one step of a batch of rows.

Activations are named by their kernel suffix: ``"sigmoid"``, ``"tanh"``, ``"relu"`` or
``"linear"`` (the ones Paddle's recurrent kernels offer; the layers check it). Each is applied
with the current backend's ``act_<name>`` kernel, and its derivative is written through its
output (``act_<name>_grad(None, y, gy)``).

GRU (``H`` = size). The input row already holds the input projections ``[xz | xr | xc]``
(``(B, 3H)``, update gate, reset gate, candidate). The weight ``w`` has Paddle's dims
``(H, 3H)`` but Paddle's *memory* layout: its first ``2H*H`` numbers are the gate weight
``Ug: (H, 2H)`` and the last ``H*H`` the candidate weight ``Uc: (H, H)``, both row-major::

    [z_pre | r_pre] = [xz | xr] + b[:2H] + prev @ Ug
    z, r            = gate_act(z_pre), gate_act(r_pre)
    c               = act(xc + b[2H:] + (r * prev) @ Uc)
    out             = (1 - z) * prev + z * c

LSTM (``H`` = size). The input row holds ``[a | i | f | o]`` pre-activations (``(B, 4H)``:
candidate, input, forget and output gate, each already ``W x + U h + b``); the state is the
previous cell ``c_prev``; the bias is the three peephole vectors ``[ci | cf | co]`` (``3H``)::

    a = act(a_pre)
    i = gate_act(i_pre + c_prev * ci)
    f = gate_act(f_pre + c_prev * cf)
    c = a * i + c_prev * f
    o = gate_act(o_pre + c * co)
    h = o * state_act(c)

The outputs are ``h`` (the layer's output) and ``c`` (its ``state`` output).
"""

from ...core.xp import get_array_module
from ..registry import get_kernel, register

#: the activations a step layer accepts for act / gate_act / state_act
STEP_ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")


def _act(name, x):
    return x if name == "linear" else get_kernel(f"act_{name}")(x)


def _act_grad(name, y, gy):
    return gy if name == "linear" else get_kernel(f"act_{name}_grad")(None, y, gy)


def gru_weights(w):
    """``(Ug, Uc)``: views of Paddle's GRU weight ``w`` (dims ``(H, 3H)``), see the module
    docstring."""
    size = w.shape[0]
    flat = w.reshape(-1)
    return (flat[:2 * size * size].reshape(size, 2 * size),
            flat[2 * size * size:].reshape(size, size))


@register("gru_step_layer_forward")
def gru_step_layer_forward(x, prev, w, bias, act, gate_act):
    """One GRU step. ``x: (B, 3H)``, ``prev: (B, H)``, ``w: (H, 3H)``, ``bias: (1, 3H)`` or
    None -> ``(out, saved)``; ``saved`` is what :func:`gru_step_layer_backward` reads:
    ``(zr, c, r * prev)`` with ``zr = [z | r]``."""
    size = prev.shape[1]
    ug, uc = gru_weights(w)
    pre = x + bias if bias is not None else x.copy()
    pre[:, :2 * size] += prev @ ug
    zr = _act(gate_act, pre[:, :2 * size])         # both gates in one call
    z, r = zr[:, :size], zr[:, size:]
    reset = r * prev
    pre[:, 2 * size:] += reset @ uc
    c = _act(act, pre[:, 2 * size:])
    out = prev + z * (c - prev)
    return out, (zr, c, reset)


@register("gru_step_layer_backward")
def gru_step_layer_backward(gy, prev, w, saved, act, gate_act, weight_grad=True):
    """Gradients of one GRU step: ``(gx (B, 3H), gprev (B, H), gw (H, 3H))``; the bias
    gradient is ``gx`` summed over rows. With ``weight_grad=False`` ``gw`` is None: the caller
    sums the products ``prev.T @ gx[:, :2H]`` and ``(r * prev).T @ gx[:, 2H:]`` itself."""
    zr, c, reset = saved
    xp = get_array_module(gy)
    size = prev.shape[1]
    z, r = zr[:, :size], zr[:, size:]
    ug, uc = gru_weights(w)
    gx = xp.empty((gy.shape[0], 3 * size), dtype=gy.dtype)
    gc = gx[:, 2 * size:]
    gc[...] = _act_grad(act, c, gy * z)
    greset = gc @ uc.T
    gzr = gx[:, :2 * size]
    gzr[:, :size] = gy * (c - prev)
    gzr[:, size:] = greset * prev
    gzr[...] = _act_grad(gate_act, zr, gzr)
    gprev = gy * (1 - z) + greset * r + gzr @ ug.T
    if not weight_grad:
        return gx, gprev, None
    gw = xp.empty(w.size, dtype=gy.dtype)
    gw[:2 * size * size] = (prev.T @ gzr).reshape(-1)
    gw[2 * size * size:] = (reset.T @ gc).reshape(-1)
    return gx, gprev, gw.reshape(w.shape)


@register("lstm_step_layer_forward")
def lstm_step_layer_forward(x, prev_c, check, act, gate_act, state_act):
    """One LSTM step. ``x: (B, 4H)``, ``prev_c: (B, H)``, ``check: (1, 3H)`` peepholes or
    None -> ``(h, c, saved)`` with ``saved = (a, i, f, o, state_act(c))``."""
    size = prev_c.shape[1]
    pre = x.copy()
    if check is not None:
        check = check.reshape(-1)
        pre[:, size:2 * size] += prev_c * check[:size]
        pre[:, 2 * size:3 * size] += prev_c * check[size:2 * size]
    a = _act(act, pre[:, :size])
    i = _act(gate_act, pre[:, size:2 * size])
    f = _act(gate_act, pre[:, 2 * size:3 * size])
    c = a * i + prev_c * f
    if check is not None:
        pre[:, 3 * size:] += c * check[2 * size:]
    o = _act(gate_act, pre[:, 3 * size:])
    c_act = _act(state_act, c)
    h = o * c_act
    return h, c, (a, i, f, o, c_act)


@register("lstm_step_layer_backward")
def lstm_step_layer_backward(gh, gc_out, prev_c, c, check, saved, act, gate_act, state_act):
    """Gradients of one LSTM step given ``gh`` (of ``h``) and ``gc_out`` (of the state output
    ``c``): ``(gx (B, 4H), gprev_c (B, H), gcheck (1, 3H) or None)``."""
    a, i, f, o, c_act = saved
    size = prev_c.shape[1]
    go = _act_grad(gate_act, o, gh * c_act)
    gc = gc_out + _act_grad(state_act, c_act, gh * o)
    if check is not None:
        check = check.reshape(-1)
        gc = gc + go * check[2 * size:]
    ga = _act_grad(act, a, gc * i)
    gi = _act_grad(gate_act, i, gc * a)
    gf = _act_grad(gate_act, f, gc * prev_c)
    gprev = gc * f
    gcheck = None
    if check is not None:
        gprev = gprev + gi * check[:size] + gf * check[size:2 * size]
        gcheck = _concat_columns((gi * prev_c).sum(axis=0, keepdims=True),
                                 (gf * prev_c).sum(axis=0, keepdims=True),
                                 (go * c).sum(axis=0, keepdims=True))
    return _concat_columns(ga, gi, gf, go), gprev, gcheck


def _concat_columns(*arrays):
    return get_array_module(arrays[0]).concatenate(arrays, axis=1)
