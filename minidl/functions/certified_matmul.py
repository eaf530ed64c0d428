"""``x @ W`` whose backward also bounds the weight gradient, so that the trainer's NaN/inf
check need not read it.

The weight gradient of ``y = x @ W`` is ``gW = x^T gy``, and by Cauchy-Schwarz every entry
obeys ``|gW[i, j]| = |sum_n x[n, i] gy[n, j]| <= ||x||_F ||gy||_F``. So when both squared
norms are finite and the bound is far below float32's largest value, ``gW`` holds no NaN or
inf -- proven from ``x`` and ``gy``, which at a small batch are far smaller than ``W``
(batch 16 through a 784x512 fc layer: 20 thousand values against 400 thousand). The bound
is added to ``bounds[name]`` (a :class:`GradientBound`), which the trainer reads; a product
whose inputs are not smaller than the weight records nothing, and the trainer then checks
that gradient itself.
"""

import math
from dataclasses import dataclass

from ..backends import kernel
from ..core.tensor import MatMul
from ..core.xp import get_array_module


@dataclass
class GradientBound:
    """For one parameter in one training step: how many times layers read it, how many of
    those uses bounded their gradient, and the sum of those bounds on ``max |grad|``."""

    reads: int = 0
    bounded: int = 0
    bound: float = 0.0

    def proves_finite(self, limit):
        """True when every use was bounded and the bounds sum to less than ``limit``."""
        return self.reads > 0 and self.bounded == self.reads and self.bound < limit


class CertifiedMatMul(MatMul):
    """``a @ b`` (``b`` the parameter ``name``) recording a bound on ``b``'s gradient."""

    def __init__(self, bounds, name):
        super().__init__(kernel("matmul"))
        self.bounds = bounds
        self.name = name

    def backward(self, gy):
        ga, gb = super().backward(gy)
        a = self.saved[0]
        if gb is not None and a.size + gy.size < gb.size:
            xp = get_array_module(a)
            flat_a, flat_gy = a.reshape(-1), gy.reshape(-1)
            squares = float(xp.dot(flat_a, flat_a)) * float(xp.dot(flat_gy, flat_gy))
            entry = self.bounds[self.name]
            entry.bounded += 1
            entry.bound += math.sqrt(squares) if math.isfinite(squares) else math.inf
        return ga, gb


def certified_matmul(a, b, bounds, name):
    """``a @ b`` for 2-D Tensors, bounding ``b``'s gradient in ``bounds[name]``."""
    return CertifiedMatMul(bounds, name)(a, b)


__all__ = ["CertifiedMatMul", "GradientBound", "certified_matmul"]
