"""One-dimensional convolutions along a row or along a sequence, as autograd Functions:
``conv_shift`` (circular, per row; kernels in ``backends/numpy_ref/conv_shift.py``) and
``row_conv`` (lookahead over the rows of each sequence; ``row_conv.py``)."""

from ..backends import kernel
from ..backends.numpy_ref import conv_shift as _shift, row_conv as _row  # noqa: F401  registers
from ..core.tensor import Function
from .kernel_pair import wanted


class ConvShift(Function):
    """``y[n, i] = sum_j a[n, (i + j - half) mod M] * b[n, j]``: ``(N, M), (N, K)`` ->
    ``(N, M)``."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return kernel("conv_shift_forward")(a, b)

    def backward(self, gy):
        a, b = self.saved
        return wanted(kernel("conv_shift_backward")(a, b, gy), self.needs_input_grad)


class RowConv(Function):
    """``y[t] = sum_j w[j] * x[t + j]`` within each sequence: ``x: (T, D)``, ``w: (K, D)``
    -> ``(T, D)``; ``starts`` are the sequence offsets."""

    def __init__(self, starts):
        self.starts = starts

    def forward(self, x, w):
        self.save_for_backward(x, w)
        return kernel("row_conv_forward")(x, w, self.starts)

    def backward(self, gy):
        x, w = self.saved
        return wanted(kernel("row_conv_backward")(x, w, gy, self.starts), self.needs_input_grad)


def conv_shift(a, b):
    return ConvShift()(a, b)


def row_conv(x, w, starts):
    return RowConv(starts)(x, w)


__all__ = ["ConvShift", "RowConv", "conv_shift", "row_conv"]
