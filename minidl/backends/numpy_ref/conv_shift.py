"""Reference circular convolution (the Neural Turing Machine's shift): each row of ``a``
convolved, wrapping around, with the same row of an odd-width kernel ``b``.

Notation: ``a: (N, M)``, ``b: (N, K)`` with ``K`` odd and ``half = (K - 1) / 2``::

    y[n, i] = sum_{j=0}^{K-1} a[n, (i + j - half) mod M] * b[n, j]

so ``b``'s middle column weighs ``a[n, i]`` itself, the columns before it the cells to the
left (wrapping to the end) and those after it the cells to the right.
"""

from ...core.xp import get_array_module
from ..registry import register


def _columns(xp, width, offset):
    """``(i + offset) mod width`` for every column ``i``: a permutation."""
    return (xp.arange(width) + offset) % width


@register("conv_shift_forward")
def conv_shift_forward(a, b):
    """``(N, M), (N, K)`` -> ``(N, M)`` (see the module doc)."""
    xp = get_array_module(a, b)
    m, k = a.shape[1], b.shape[1]
    y = xp.zeros(a.shape, dtype=xp.result_type(a, b))
    for j in range(k):
        y += a[:, _columns(xp, m, j - (k - 1) // 2)] * b[:, j:j + 1]
    return y


@register("conv_shift_backward")
def conv_shift_backward(a, b, gy):
    """Gradients ``(ga: (N, M), gb: (N, K))`` of ``sum(y * gy)``."""
    xp = get_array_module(a, b, gy)
    m, k = a.shape[1], b.shape[1]
    ga = xp.zeros(a.shape, dtype=gy.dtype)
    gb = xp.zeros(b.shape, dtype=gy.dtype)
    for j in range(k):
        cols = _columns(xp, m, j - (k - 1) // 2)
        ga[:, cols] += gy * b[:, j:j + 1]           # a permutation: no column written twice
        gb[:, j] = (gy * a[:, cols]).sum(axis=1)
    return ga, gb
