"""Parametric ReLU as an autograd Function (kernels in ``backends/numpy_ref/prelu.py``):
``x: (N, D)``, slopes ``w: (1, D / P)`` -> ``(N, D)``, ``P = partial_sum`` columns a slope."""

from ..backends import kernel
from ..backends.numpy_ref import prelu as _kernels  # noqa: F401  registers them
from ..core.tensor import Function


class PRelu(Function):
    """``y = x`` where ``x > 0``, else ``w[j // P] * x``."""

    def __init__(self, partial_sum):
        self.partial_sum = int(partial_sum)

    def forward(self, x, w):
        self.save_for_backward(x, w)
        return kernel("prelu_forward")(x, w, self.partial_sum)

    def backward(self, gy):
        x, w = self.saved
        gx, gw = kernel("prelu_backward")(x, w, gy, self.partial_sum)
        return (gx if self.needs_input_grad[0] else None,
                gw if self.needs_input_grad[1] else None)


def prelu(x, w, partial_sum):
    return PRelu(partial_sum)(x, w)


__all__ = ["PRelu", "prelu"]
