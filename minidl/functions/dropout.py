"""Paddle's dropout: a 0/1 mask in training **without** rescaling, ``x (1 - rate)`` at test.

Paddle (``Layer::forwardDropOut``) multiplies the output in training by a mask
``uniform(0, 1) > rate`` and, at test, by ``1 - rate``; the expected output is the same in
both passes. (Today's "inverted" dropout scales by ``1 / (1 - rate)`` in training instead;
Paddle v2 did not, and trained weights depend on it.)
"""

import numbers

from ..core.tensor import Function


class MaskMultiply(Function):
    """``y = x * mask`` with a constant mask (same shape as ``x``)."""

    def __init__(self, mask):
        self.mask = mask  # the mask is all backward needs; x is not kept

    def forward(self, x):
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


class Scale(Function):
    """``y = x * factor`` for a Python number ``factor`` (keeps the dtype of ``x``)."""

    def __init__(self, factor):
        self.factor = float(factor)

    def forward(self, x):
        return x * self.factor

    def backward(self, gy):
        return gy * self.factor


def check_rate(rate, what="dropout"):
    """``rate`` must be a number in ``[0, 1)``; the message names ``what``."""
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
        raise ValueError(f"{what}: dropout rate {rate!r} must be a number in [0, 1)")
    return float(rate)


def dropout(x, rate, is_train, rng):
    """Apply Paddle's dropout to the Tensor ``x``.

    ``rng``: the numpy ``Generator`` the mask is drawn from (the run's random state), so a
    seeded run is reproducible on every backend; the mask is then moved to ``x``'s device.
    """
    rate = check_rate(rate)
    if rate == 0:
        return x
    if not is_train:
        return Scale(1.0 - rate)(x)
    if rng is None:
        raise ValueError("dropout in training needs a random generator (RunContext.rng)")
    keep = rng.random(x.shape) > rate
    return MaskMultiply(x.xp.asarray(keep, dtype=x.dtype))(x)


def dropout_with_mask(x, mask):
    """Training-mode dropout with a given 0/1 ``mask`` (tests, reproducing a batch)."""
    return MaskMultiply(mask)(x)
