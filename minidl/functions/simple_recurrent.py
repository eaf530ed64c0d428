"""The simple recurrent layer as an autograd Function (kernels and equations in
``backends/numpy_ref/simple_recurrent.py``)."""

from ..backends import kernel
from ..backends.numpy_ref import simple_recurrent as _kernels  # noqa: F401  registers them
from ..core.tensor import Function


class SimpleRecurrent(Function):
    """``x: (R, H), w: (H, H)`` [, ``bias: (1, H)``] ``-> y: (R, H)``, with
    ``y[t] = act(x[t] + bias + y[t-1] @ w)`` within each sequence of ``starts``.

    Keeps ``w``, the pre-activations and the outputs: backpropagation through time reads
    all three.
    """

    def __init__(self, starts, reverse, act):
        self.starts = starts
        self.settings = (bool(reverse), act)

    def forward(self, x, w, bias=None):
        self.bias_shape = None if bias is None else bias.shape
        flat_bias = None if bias is None else bias.reshape(-1)
        y, z = kernel("simple_rnn_forward")(x, w, flat_bias, self.starts, *self.settings)
        self.save_for_backward(w, z, y)
        return y

    def backward(self, gy):
        w, z, y = self.saved
        gx, gw, gbias = kernel("simple_rnn_backward")(gy, w, z, y, self.starts,
                                                      *self.settings)
        wanted = self.needs_input_grad
        grads = [gx if wanted[0] else None, gw if wanted[1] else None]
        if self.bias_shape is not None:
            grads.append(gbias.reshape(self.bias_shape) if wanted[2] else None)
        return tuple(grads)


def simple_recurrent(x, w, bias, starts, reverse=False, act="tanh"):
    """The simple recurrence over ``x``'s sequences (``starts``); ``bias`` may be None;
    ``act`` is an activation kernel name (``linear`` for none)."""
    function = SimpleRecurrent(starts, reverse, act)
    return function(x, w) if bias is None else function(x, w, bias)
