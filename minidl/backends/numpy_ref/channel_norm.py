"""Reference cross-channel normalisation (SSD's ``Normalize``): at every pixel, the vector
of channel values scaled to unit length, then each channel multiplied by its own factor.

Notation: ``x: (N, C, S)`` (``S = H * W`` pixels), ``scale: (C,)``::

    norm[n, s] = sqrt(sum_c x[n, c, s]^2)
    y[n, c, s] = scale[c] * x[n, c, s] / norm[n, s]

A pixel whose channels are all 0 gives 0 (its norm is taken as 1).
"""

from ...core.xp import get_array_module
from ..registry import register


def _unit(x):
    """``(x / norm, norm)`` with ``norm: (N, 1, S)``."""
    xp = get_array_module(x)
    norm = xp.sqrt((x * x).sum(axis=1, keepdims=True))
    norm = xp.where(norm > 0, norm, xp.ones((), dtype=x.dtype))
    return x / norm, norm


@register("cross_channel_norm_forward")
def cross_channel_norm_forward(x, scale):
    """``(N, C, S), (C,)`` -> ``(N, C, S)`` (see the module doc)."""
    unit, _ = _unit(x)
    return scale.reshape(1, -1, 1) * unit


@register("cross_channel_norm_backward")
def cross_channel_norm_backward(x, scale, gy):
    """Gradients ``(gx: (N, C, S), gscale: (C,))``.

    With ``u = x / norm`` and ``g = scale * gy`` (per channel)::

        gx = (g - u * sum_c(g * u)) / norm          gscale[c] = sum_{n, s} gy * u
    """
    unit, norm = _unit(x)
    g = scale.reshape(1, -1, 1) * gy
    gx = (g - unit * (g * unit).sum(axis=1, keepdims=True)) / norm
    return gx, (gy * unit).sum(axis=(0, 2))
