"""Row-wise math as autograd Functions (kernels in ``backends/numpy_ref/rowwise.py``):
``cos_sim``, ``dot_prod``, ``scaling``, ``interpolation``, ``power``, ``sum_to_one_norm``,
and the whole-batch transpose of ``trans``.

Notation: ``x: (N, D)`` rows; ``w: (N, 1)`` one scalar per row.
"""

from ..backends import kernel
from ..core.tensor import Function
from .kernel_pair import KernelPair, wanted


class CosSim(Function):
    """``y[i, k] = scale * cos(a[i], b_k[i])``: ``a: (N, D)``, ``b: (N or 1, K*D)`` ->
    ``(N, K)``."""

    def __init__(self, scale):
        self.scale = float(scale)

    def forward(self, a, b):
        y = kernel("cos_sim_forward")(a, b, self.scale)
        self.save_for_backward(a, b, y)
        return y

    def backward(self, gy):
        a, b, y = self.saved
        grads = kernel("cos_sim_backward")(a, b, y, gy, self.scale)
        return wanted(grads, self.needs_input_grad)


class DotProd(KernelPair):
    """``y[i] = <a[i], b[i]>``: ``(N, D), (N, D) -> (N, 1)``."""

    kernels = "dot_prod"


class Scaling(KernelPair):
    """``y[i] = w[i] * x[i]``: ``(N, 1), (N, D) -> (N, D)``."""

    kernels = "scaling"


class Interpolation(KernelPair):
    """``y[i] = w[i] x1[i] + (1 - w[i]) x2[i]``: ``(N, 1), (N, D), (N, D) -> (N, D)``."""

    kernels = "interpolation"


class Power(KernelPair):
    """``y[i, j] = x[i, j] ** w[i]``: ``(N, 1), (N, D) -> (N, D)``."""

    kernels = "power"
    keeps_output = True


class SumToOneNorm(Function):
    """``y[i] = x[i] / sum_j x[i, j]``: ``(N, D) -> (N, D)``."""

    def forward(self, x):
        y = kernel("sum_to_one_norm_forward")(x)
        self.save_for_backward(x, y)
        return y

    def backward(self, gy):
        x, y = self.saved
        return kernel("sum_to_one_norm_backward")(x, y, gy)


class Transpose(Function):
    """``y = x^T`` of the whole ``(N, D)`` batch matrix; pure data movement, so no kernel:
    the gradient is transposed back."""

    def forward(self, x):
        return x.T.copy()

    def backward(self, gy):
        return gy.T.copy()


def cos_sim(a, b, scale=1.0):
    return CosSim(scale)(a, b)


def dot_prod(a, b):
    return DotProd()(a, b)


def scaling(w, x):
    return Scaling()(w, x)


def interpolation(w, x1, x2):
    return Interpolation()(w, x1, x2)


def power(w, x):
    return Power()(w, x)


def sum_to_one_norm(x):
    return SumToOneNorm()(x)


def transpose(x):
    return Transpose()(x)
