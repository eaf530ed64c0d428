"""Reference parametric ReLU: negative inputs scaled by learned slopes.

Notation: ``x: (N, D)``, ``w: (D / P,)`` with ``P = partial_sum``: the ``P`` consecutive
columns ``j`` with ``j // P == k`` share slope ``w[k]``::

    y[n, j] = x[n, j]                 if x[n, j] > 0
              w[j // P] * x[n, j]     otherwise
"""

from ...core.xp import get_array_module
from ..registry import register


def _slopes(w, partial_sum):
    """``(D,)``: every slope repeated for the ``P`` columns it serves."""
    return get_array_module(w).repeat(w.reshape(-1), partial_sum)


@register("prelu_forward")
def prelu_forward(x, w, partial_sum):
    """``(N, D), (D / P,)`` -> ``(N, D)`` (see the module doc)."""
    xp = get_array_module(x, w)
    return xp.where(x > 0, x, x * _slopes(w, partial_sum))


@register("prelu_backward")
def prelu_backward(x, w, gy, partial_sum):
    """Gradients ``(gx: (N, D), gw: (D / P,))``: ``gx = gy`` where ``x > 0``, else
    ``w * gy``; ``gw[k]`` sums ``x * gy`` over the rows and the non-positive cells of its
    ``P`` columns."""
    xp = get_array_module(x, w, gy)
    positive = x > 0
    gx = xp.where(positive, gy, gy * _slopes(w, partial_sum))
    zero = xp.zeros((), dtype=gy.dtype)
    gw = xp.where(positive, zero, x * gy).sum(axis=0).reshape(-1, partial_sum).sum(axis=1)
    return gx, gw.reshape(w.shape)
