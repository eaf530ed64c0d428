"""Concatenation along the feature axis and summation of several Tensors.

Pure data movement and additions: written with ``xp`` directly (no kernel to swap).
"""

from ..core.tensor import Function
from ..core.xp import get_array_module


class ConcatFeatures(Function):
    """``y = [x_0 | x_1 | ...]`` along axis 1.

    Notation: ``x_i: (N, D_i)`` -> ``(N, sum D_i)``. Backward only slices, so only the
    widths are kept.
    """

    def forward(self, *xs):
        self.widths = [x.shape[1] for x in xs]
        return get_array_module(xs[0]).concatenate(xs, axis=1)

    def backward(self, gy):
        grads, start = [], 0
        for wanted, width in zip(self.needs_input_grad, self.widths):
            grads.append(gy[:, start:start + width] if wanted else None)
            start += width
        return tuple(grads)


class AddN(Function):
    """``y = x_0 + x_1 + ...`` for Tensors of one shape; every input gets ``gy``."""

    def forward(self, *xs):
        y = xs[0].copy()
        for x in xs[1:]:
            y += x
        return y

    def backward(self, gy):
        return tuple(gy if wanted else None for wanted in self.needs_input_grad)


def concat_features(xs):
    return ConcatFeatures()(*xs)


def add_n(xs):
    return xs[0] if len(xs) == 1 else AddN()(*xs)
