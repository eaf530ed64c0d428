"""Elementwise ``sqrt`` and ``reciprocal`` as one autograd Function (kernels in
``backends/numpy_ref/elementwise_math.py``): ``x: any shape -> y: same shape``."""

from ..backends import kernel
from ..backends.numpy_ref import elementwise_math as _reference  # noqa: F401  (registers them)
from ..core.tensor import Function

#: the ops this Function runs (kernels ``elementwise_<op>`` and ``elementwise_<op>_grad``)
OPS = ("sqrt", "reciprocal")


class ElementwiseMath(Function):
    """``y = op(x)``; the backward reads only ``y`` (both derivatives are functions of it)."""

    def __init__(self, op):
        if op not in OPS:
            raise KeyError(f"unknown elementwise op {op!r}; expected one of {OPS}")
        self.op = op

    def forward(self, x):
        y = kernel(f"elementwise_{self.op}")(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        return kernel(f"elementwise_{self.op}_grad")(y, gy)


def sqrt(x):
    return ElementwiseMath("sqrt")(x)


def reciprocal(x):
    return ElementwiseMath("reciprocal")(x)


__all__ = ["ElementwiseMath", "OPS", "sqrt", "reciprocal"]
