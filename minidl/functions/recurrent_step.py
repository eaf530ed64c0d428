"""One timestep of Paddle's ``gru_step`` and ``lstm_step`` layers as Functions.

Kernels (``backends/numpy_ref/recurrent_step.py``, where the equations are written out):
``gru_step_layer_forward`` / ``_backward`` and ``lstm_step_layer_forward`` / ``_backward``.
One Function per step keeps the per-step cost of a ``recurrent_group`` to one node of the
graph for the whole cell.
"""

from ..backends import kernel
from ..core.tensor import Function


class GruStep(Function):
    """``(x (B, 3H), prev (B, H), w (H, 3H)[, bias (1, 3H)]) -> out (B, H)``."""

    def __init__(self, act, gate_act):
        self.act, self.gate_act = act, gate_act

    def forward(self, x, prev, w, *bias):
        out, saved = kernel("gru_step_layer_forward")(x, prev, w, bias[0] if bias else None,
                                                      self.act, self.gate_act)
        self.save_for_backward(prev, w, saved)
        return out

    def backward(self, gy):
        prev, w, saved = self.saved
        gx, gprev, gw = kernel("gru_step_layer_backward")(gy, prev, w, saved, self.act,
                                                          self.gate_act)
        wanted = self.needs_input_grad
        grads = [gx if wanted[0] else None, gprev if wanted[1] else None,
                 gw if wanted[2] else None]
        if len(wanted) > 3:
            grads.append(gx.sum(axis=0, keepdims=True) if wanted[3] else None)
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


def gru_step(x, prev, w, bias, act, gate_act):
    inputs = (x, prev, w) if bias is None else (x, prev, w, bias)
    return GruStep(act, gate_act)(*inputs)


def lstm_step(x, prev_c, check, act, gate_act, state_act):
    inputs = (x, prev_c) if check is None else (x, prev_c, check)
    return LstmStep(act, gate_act, state_act)(*inputs)


__all__ = ["GruStep", "LstmStep", "gru_step", "lstm_step"]
