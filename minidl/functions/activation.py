"""Activations as one Function parameterised by the activation's kernel name."""

from ..backends import kernel
from ..core import config
from ..core.tensor import Function, Tensor

#: What each activation's backward reads: its output ``y`` or its input ``x``.
#: Only that one array is kept. Where the derivative is a function of the output
#: (tanh' = 1 - y^2, sigmoid' = y(1 - y), relu' = [y > 0], exp' = y, softmax's Jacobian,
#: brelu, softrelu' = 1 - e^-y, stanh) we keep ``y``, which the next layer usually holds
#: anyway, and the input can be freed. abs, square and log lose what their derivative
#: needs (the sign of x; x itself), so they keep ``x``.
NEEDS = {
    "tanh": "y", "sigmoid": "y", "softmax": "y", "relu": "y", "brelu": "y",
    "softrelu": "y", "stanh": "y", "exponential": "y",
    "abs": "x", "square": "x", "log": "x",
}


class Activation(Function):
    """``y = act(x)``; the kernels are ``act_<kernel_name>`` and ``act_<kernel_name>_grad``."""

    def __init__(self, kernel_name):
        self.kernel_name = _known(kernel_name)

    def forward(self, x):
        y = kernel(f"act_{self.kernel_name}")(x)
        self.save_for_backward(y if NEEDS[self.kernel_name] == "y" else x)
        return y

    def backward(self, gy):
        (kept,) = self.saved
        x, y = (None, kept) if NEEDS[self.kernel_name] == "y" else (kept, None)
        return kernel(f"act_{self.kernel_name}_grad")(x, y, gy)


def _known(kernel_name):
    if kernel_name not in NEEDS:
        raise KeyError(f"unknown activation kernel {kernel_name!r}; "
                       f"expected one of {sorted(NEEDS)}")
    return kernel_name


def activate(kernel_name, x):
    if kernel_name == "linear":
        return x  # identity: no node in the graph
    if not config.grad_enabled:     # nothing to record: the kernel alone (the same values)
        return Tensor(kernel(f"act_{_known(kernel_name)}")(x.data))
    return Activation(kernel_name)(x)
