"""Paddle's dropout: a 0/1 mask in training **without** rescaling, ``x (1 - rate)`` at test.

Paddle (``Layer::forwardDropOut``) multiplies the output in training by a mask
``uniform(0, 1) > rate`` and, at test, by ``1 - rate``; the expected output is the same in
both passes. (Today's "inverted" dropout scales by ``1 / (1 - rate)`` in training instead;
Paddle v2 did not, and trained weights depend on it.)
"""

import numbers

import numpy as np

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


def _uniform(rng, shape, xp):
    """Draws in ``[0, 1)`` of ``shape`` on ``xp``'s device, driven by the run's ``rng``.

    On the host they come from ``rng`` itself. On the GPU they are drawn there -- copying a
    mask the size of the activation to the device every batch would cost more than the
    layer -- by a cuRAND Philox generator seeded from ``rng``: a seeded run is still
    reproducible, though its masks differ from the CPU run's.
    """
    if xp is np:
        return rng.random(shape)
    seed = int(rng.integers(2**63))
    generator = xp.random.RandomState(seed, method=xp.cuda.curand.CURAND_RNG_PSEUDO_PHILOX4_32_10)
    return generator.random_sample(shape, dtype=xp.float32)


def dropout(x, rate, is_train, rng):
    """Apply Paddle's dropout to the Tensor ``x``.

    ``rng``: the numpy ``Generator`` the mask is drawn from, or seeded from on the GPU (the
    run's random state), so a seeded run is reproducible on every backend.
    """
    rate = check_rate(rate)
    if rate == 0:
        return x
    if not is_train:
        return Scale(1.0 - rate)(x)
    if rng is None:
        raise ValueError("dropout in training needs a random generator (RunContext.rng)")
    keep = _uniform(rng, x.shape, x.xp) > rate
    return MaskMultiply(keep.astype(x.dtype))(x)


def dropout_with_mask(x, mask):
    """Training-mode dropout with a given 0/1 ``mask`` (tests, reproducing a batch)."""
    return MaskMultiply(mask)(x)
