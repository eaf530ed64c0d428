"""Reference maxout: the maximum over groups of consecutive channels.

Notation: ``x: (N, C, H, W)`` -> ``y: (N, C/G, H, W)`` with ``G = groups``::

    y[n, o, h, w] = max_k x[n, o*G + k, h, w]        0 <= k < G

Output channel ``o`` reads input channels ``o*G ... o*G + G - 1`` (Paddle's kernels read
them so; its documentation's formula, ``x[k * C/G + o]``, does not match its kernels). On
ties the first channel of the group takes the gradient.
"""

from ...core.xp import get_array_module
from ..registry import register


def _grouped(x, groups):
    """``(N, C, H, W)`` -> ``(N, C/G, G, H, W)``: axis 2 runs over one group."""
    n, c, h, w = x.shape
    return x.reshape(n, c // groups, groups, h, w)


@register("maxout_forward")
def maxout_forward(x, groups):
    """``(N, C, H, W)`` -> ``(N, C/G, H, W)``, the maximum of each channel group."""
    return _grouped(x, groups).max(axis=2)


@register("maxout_backward")
def maxout_backward(x, gy, groups):
    """Each output's gradient to the (first) channel of its group holding the maximum.

    Notation: ``x: (N, C, H, W)``, ``gy: (N, C/G, H, W)`` -> ``(N, C, H, W)``.
    """
    xp = get_array_module(x, gy)
    winner = _grouped(x, groups).argmax(axis=2)               # (N, C/G, H, W)
    member = xp.arange(groups).reshape(1, 1, groups, 1, 1)
    gx = xp.where(member == winner[:, :, None], gy[:, :, None], xp.zeros((), dtype=gy.dtype))
    return gx.reshape(x.shape)
