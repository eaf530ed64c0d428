"""The fused recurrent layers as autograd Functions (kernels in
``backends/numpy_ref/recurrent.py``, which states the equations).

Each takes the packed rows of a batch of sequences and the host offsets ``starts`` given at
construction (constants of the function, like a convolution's stride), and returns one output
row per input row. The forward keeps what backpropagation through time needs: the activated
gates, the cells (LSTM) and the output itself.
"""

from ..backends import kernel
from ..core.tensor import Function
from ..core.xp import get_array_module

#: the activations (kernel names) the recurrent kernels take for act / gate_act / state_act:
#: Paddle's recurrent kernels (hppl) offer these four
ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear")


class Lstm(Function):
    """``x: (R, 4H), w: (H, 4H), bias: (1, 7H) -> h: (R, H)``; ``bias`` may be left out
    (zeros: no gate bias, no peepholes)."""

    def __init__(self, starts, reverse, act, gate_act, state_act):
        self.starts = starts
        self.settings = (bool(reverse), act, gate_act, state_act)

    def forward(self, x, w, bias=None):
        flat_bias = _flat_bias(x, bias, 7 * w.shape[0])
        h, cell, gates, cell_act = kernel("lstm_forward")(x, w, flat_bias, self.starts,
                                                          *self.settings)
        self.bias_shape = None if bias is None else bias.shape
        self.save_for_backward(w, flat_bias, h, cell, gates, cell_act)
        return h

    def backward(self, gh):
        w, flat_bias, h, cell, gates, cell_act = self.saved
        gx, gw, gbias = kernel("lstm_backward")(gh, w, flat_bias, self.starts, *self.settings,
                                                h, cell, gates, cell_act)
        return _grads(self, gx, gw, gbias)


class Gru(Function):
    """``x: (R, 3H), w: (H, 3H) (Paddle's layout), bias: (1, 3H) -> h: (R, H)``; ``bias``
    may be left out."""

    def __init__(self, starts, reverse, act, gate_act):
        self.starts = starts
        self.settings = (bool(reverse), act, gate_act)

    def forward(self, x, w, bias=None):
        flat_bias = _flat_bias(x, bias, 3 * w.shape[0])
        h, gates = kernel("gru_forward")(x, w, flat_bias, self.starts, *self.settings)
        self.bias_shape = None if bias is None else bias.shape
        self.save_for_backward(w, h, gates)
        return h

    def backward(self, gh):
        w, h, gates = self.saved
        gx, gw, gbias = kernel("gru_backward")(gh, w, self.starts, *self.settings, h, gates)
        return _grads(self, gx, gw, gbias)


def _flat_bias(x, bias, size):
    if bias is None:
        return get_array_module(x).zeros(size, dtype=x.dtype)
    return bias.reshape(-1)


def _grads(function, gx, gw, gbias):
    wanted = function.needs_input_grad
    grads = [gx if wanted[0] else None, gw if wanted[1] else None]
    if function.bias_shape is not None:
        grads.append(gbias.reshape(function.bias_shape) if wanted[2] else None)
    return tuple(grads)


def lstm(x, w, bias, starts, reverse=False, act="tanh", gate_act="sigmoid",
         state_act="tanh"):
    """The LSTM of ``x``'s sequences (``starts``); activations by kernel name."""
    function = Lstm(starts, reverse, act, gate_act, state_act)
    return function(x, w) if bias is None else function(x, w, bias)


def gru(x, w, bias, starts, reverse=False, act="tanh", gate_act="sigmoid"):
    """The GRU of ``x``'s sequences (``starts``); activations by kernel name."""
    function = Gru(starts, reverse, act, gate_act)
    return function(x, w) if bias is None else function(x, w, bias)
