"""One timestep of Paddle's ``gru_step`` and ``lstm_step`` layers as Functions.

Kernels (``backends/numpy_ref/recurrent_step.py``, where the equations are written out):
``gru_step_layer_forward`` / ``_backward`` and ``lstm_step_layer_forward`` / ``_backward``.
One Function per step keeps the per-step cost of a ``recurrent_group`` to one node of the
graph for the whole cell.

Inside a recurrent_group the GRU weight's gradient is summed over the steps with ONE product
(:class:`DeferredWeightGrad`), as fused RNN kernels do, instead of one thin product per step
(its inner dimension is the step's batch) followed by a sum of ``(H, 3H)`` arrays.
"""

from ..backends import kernel
from ..core.tensor import Function
from ..core.xp import get_array_module


class DeferredWeightGrad(Function):
    """``w -> token``: a 0-d zero that the steps of a group read beside ``w``.

    A step that reads the token leaves its share of ``w``'s gradient here as blocks of
    factors -- block ``k`` of ``gw`` is ``sum over steps of left_k.T @ right_k`` -- and gives
    the token a zero gradient. The token is made before the first step, so backward reaches
    this function after every step (it is older); it then forms each block with one product
    over all steps' rows and returns ``gw`` (blocks flattened one after the other, in ``w``'s
    memory order).
    """

    def __init__(self):
        self.pieces = []

    def forward(self, w):
        self.shape = w.shape
        return get_array_module(w).zeros((), dtype=w.dtype)

    def add(self, lefts, rights):
        """Record one step's factors (only while a graph is recorded)."""
        if self._record:
            self.pieces.append((lefts, rights))

    def backward(self, gtoken):
        if not self.pieces:
            return None
        xp = get_array_module(self.pieces[0][0][0])
        blocks = []
        for k in range(len(self.pieces[0][0])):
            left = xp.concatenate([lefts[k] for lefts, _ in self.pieces], axis=0)
            right = xp.concatenate([rights[k] for _, rights in self.pieces], axis=0)
            blocks.append((left.T @ right).reshape(-1))
        self.pieces = []
        return xp.concatenate(blocks).reshape(self.shape)


class GruStep(Function):
    """``(x (B, 3H), prev (B, H), w (H, 3H)[, bias (1, 3H)][, token]) -> out (B, H)``; with a
    ``collector`` (a :class:`DeferredWeightGrad` whose token is the last input) ``w``'s
    gradient is left to the collector."""

    def __init__(self, act, gate_act, has_bias, collector=None):
        self.act, self.gate_act = act, gate_act
        self.has_bias, self.collector = has_bias, collector

    def forward(self, x, prev, w, *rest):
        bias = rest[0] if self.has_bias else None
        out, saved = kernel("gru_step_layer_forward")(x, prev, w, bias, self.act,
                                                      self.gate_act)
        self.save_for_backward(prev, w, saved)
        return out

    def backward(self, gy):
        prev, w, saved = self.saved
        wanted = self.needs_input_grad
        deferred = self.collector is not None and wanted[2]
        gx, gprev, gw = kernel("gru_step_layer_backward")(
            gy, prev, w, saved, self.act, self.gate_act, weight_grad=wanted[2] and not deferred)
        if deferred:
            size = prev.shape[1]
            self.collector.add((prev, saved[2]), (gx[:, :2 * size], gx[:, 2 * size:]))
        grads = [gx if wanted[0] else None, gprev if wanted[1] else None, gw]
        if self.has_bias:
            grads.append(gx.sum(axis=0, keepdims=True) if wanted[3] else None)
        if self.collector is not None:
            grads.append(get_array_module(gy).zeros((), dtype=gy.dtype))
        return tuple(grads)


class LstmStep(Function):
    """``(x (B, 4H), prev_c (B, H)[, check (1, 3H)]) -> (h (B, H), c (B, H))``: the output and
    the ``state`` output (the new cell)."""

    def __init__(self, act, gate_act, state_act):
        self.acts = (act, gate_act, state_act)

    def forward(self, x, prev_c, *check):
        check = check[0] if check else None
        h, c, saved = kernel("lstm_step_layer_forward")(x, prev_c, check, *self.acts)
        self.save_for_backward(prev_c, c, check, saved)
        return h, c

    def backward(self, gh, gc):
        prev_c, c, check, saved = self.saved
        gx, gprev, gcheck = kernel("lstm_step_layer_backward")(gh, gc, prev_c, c, check,
                                                               saved, *self.acts)
        wanted = self.needs_input_grad
        grads = [gx if wanted[0] else None, gprev if wanted[1] else None]
        if len(wanted) > 2:
            grads.append(gcheck if wanted[2] else None)
        return tuple(grads)


def gru_step(x, prev, w, bias, act, gate_act, deferred=None):
    """One GRU step; ``deferred``: ``(collector, token)`` of a :class:`DeferredWeightGrad`
    made for ``w`` before the group's first step, or None."""
    inputs = [x, prev, w] + ([] if bias is None else [bias])
    collector = None
    if deferred is not None:
        collector, token = deferred
        inputs.append(token)
    return GruStep(act, gate_act, bias is not None, collector)(*inputs)


def lstm_step(x, prev_c, check, act, gate_act, state_act):
    inputs = (x, prev_c) if check is None else (x, prev_c, check)
    return LstmStep(act, gate_act, state_act)(*inputs)


__all__ = ["DeferredWeightGrad", "GruStep", "LstmStep", "gru_step", "lstm_step"]
