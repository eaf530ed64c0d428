"""One-input math as autograd Functions (kernels in ``backends/numpy_ref/unary_math.py``):
``slope_intercept``, ``scale_shift``, ``clip``, ``row_l2_norm`` and ``repeat``.

Notation: ``x: (N, D)`` rows.
"""

from ..backends import kernel
from ..backends.numpy_ref import unary_math as _reference  # noqa: F401  (registers the kernels)
from ..core.tensor import Function


class SlopeIntercept(Function):
    """``y = slope * x + intercept`` for fixed numbers: ``(N, D) -> (N, D)``."""

    def __init__(self, slope, intercept):
        self.slope, self.intercept = float(slope), float(intercept)

    def forward(self, x):
        return kernel("slope_intercept_forward")(x, self.slope, self.intercept)

    def backward(self, gy):
        return kernel("slope_intercept_backward")(gy, self.slope)


class ScaleShift(Function):
    """``y = w * x + b`` for learned ``(1, 1)`` scalars: ``(N, D), (1, 1)[, (1, 1)] -> (N, D)``.

    Called as ``(x, w)`` when there is no shift, ``(x, w, b)`` otherwise.
    """

    def forward(self, x, w, b=None):
        self.save_for_backward(x, w)
        return kernel("scale_shift_forward")(x, w, b)

    def backward(self, gy):
        x, w = self.saved
        gx, gw, gb = kernel("scale_shift_backward")(x, w, gy)
        grads = (gx, gw, gb)[:len(self.needs_input_grad)]
        return tuple(g if need else None for g, need in zip(grads, self.needs_input_grad))


class Clip(Function):
    """``y = min(max(x, low), high)``: ``(N, D) -> (N, D)``."""

    def __init__(self, low, high):
        self.low, self.high = float(low), float(high)

    def forward(self, x):
        self.save_for_backward(x)
        return kernel("clip_forward")(x, self.low, self.high)

    def backward(self, gy):
        (x,) = self.saved
        return kernel("clip_backward")(x, gy, self.low, self.high)


class RowL2Norm(Function):
    """``y[i] = x[i] / |x[i]|``: ``(N, D) -> (N, D)``."""

    def forward(self, x):
        y = kernel("row_l2_norm_forward")(x)
        self.save_for_backward(x, y)
        return y

    def backward(self, gy):
        x, y = self.saved
        return kernel("row_l2_norm_backward")(x, y, gy)


class Repeat(Function):
    """Each row repeated ``num_repeats`` times: ``(N, D) -> (N, D * num_repeats)``, as whole
    rows (``as_row_vector``) or entry by entry."""

    def __init__(self, num_repeats, as_row_vector):
        self.num_repeats, self.as_row_vector = int(num_repeats), bool(as_row_vector)

    def forward(self, x):
        return kernel("repeat_forward")(x, self.num_repeats, self.as_row_vector)

    def backward(self, gy):
        return kernel("repeat_backward")(gy, self.num_repeats, self.as_row_vector)


def slope_intercept(x, slope, intercept):
    return SlopeIntercept(slope, intercept)(x)


def scale_shift(x, w, b=None):
    return ScaleShift()(x, w) if b is None else ScaleShift()(x, w, b)


def clip(x, low, high):
    return Clip(low, high)(x)


def row_l2_norm(x):
    return RowL2Norm()(x)


def repeat(x, num_repeats, as_row_vector=True):
    return Repeat(num_repeats, as_row_vector)(x)
