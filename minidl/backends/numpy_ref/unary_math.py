"""Reference kernels of the one-input math layers: ``slope_intercept``, ``scale_shift``,
``clip``, ``row_l2_norm`` and ``repeat`` (Paddle's ``featmap_expand``).

Notation: ``x: (N, D)`` rows (samples or timesteps), ``gy`` the gradient of the output.
Each kernel acts on every row on its own.
"""

from ...core.xp import get_array_module
from ..registry import register


# --- slope_intercept: fixed numbers -----------------------------------------------------------

@register("slope_intercept_forward")
def slope_intercept_forward(x, slope, intercept):
    """``y[i, j] = slope * x[i, j] + intercept`` with Python numbers ``slope``, ``intercept``."""
    return x * slope + intercept


@register("slope_intercept_backward")
def slope_intercept_backward(gy, slope):
    """``gx = slope * gy``."""
    return gy * slope


# --- scale_shift: two learned scalars ---------------------------------------------------------

@register("scale_shift_forward")
def scale_shift_forward(x, w, b):
    """``y[i, j] = w * x[i, j] + b`` for the ``(1, 1)`` parameters ``w`` and ``b`` (``b``
    None: no shift)."""
    y = x * w
    return y if b is None else y + b


@register("scale_shift_backward")
def scale_shift_backward(x, w, gy):
    """``(gx, gw, gb)`` of :func:`scale_shift_forward`::

        gx = w * gy        gw = sum_ij gy[i, j] x[i, j]        gb = sum_ij gy[i, j]
    """
    gw = (gy * x).sum().reshape(1, 1)
    gb = gy.sum().reshape(1, 1)
    return gy * w, gw, gb


# --- clip --------------------------------------------------------------------------------------

@register("clip_forward")
def clip_forward(x, low, high):
    """``y[i, j] = min(max(x[i, j], low), high)``."""
    xp = get_array_module(x)
    return xp.minimum(xp.maximum(x, low), high)


@register("clip_backward")
def clip_backward(x, gy, low, high):
    """``gx = gy`` where ``low < x < high`` strictly, else 0 (an entry sitting on a bound
    passes no gradient, as in Paddle)."""
    inside = (x > low) & (x < high)
    return gy * inside.astype(gy.dtype)


# --- row_l2_norm -------------------------------------------------------------------------------

@register("row_l2_norm_forward")
def row_l2_norm_forward(x):
    """``y[i] = x[i] / |x[i]|`` with ``|x[i]| = sqrt(sum_j x[i, j]^2)``: each row scaled to
    unit length. A zero row gives NaN (there is no direction to keep)."""
    xp = get_array_module(x)
    return x / xp.sqrt((x * x).sum(axis=1, keepdims=True))


@register("row_l2_norm_backward")
def row_l2_norm_backward(x, y, gy):
    """``gx[i] = (gy[i] - y[i] <gy[i], y[i]>) / |x[i]|``, with ``y`` the forward's output:
    the part of ``gy`` along the row's own direction does not change ``y``."""
    xp = get_array_module(x)
    norm = xp.sqrt((x * x).sum(axis=1, keepdims=True))
    return (gy - y * (gy * y).sum(axis=1, keepdims=True)) / norm


# --- repeat (featmap_expand) -------------------------------------------------------------------

@register("repeat_forward")
def repeat_forward(x, num_repeats, as_row_vector):
    """``(N, D) -> (N, D * R)`` with ``R = num_repeats``.

    ``as_row_vector``: the whole row R times, ``y[i, r*D + j] = x[i, j]``
    (``[x1..xD, x1..xD, ...]``). Otherwise each entry R times in place,
    ``y[i, j*R + r] = x[i, j]`` (``[x1..x1, x2..x2, ...]``).
    """
    xp = get_array_module(x)
    if as_row_vector:
        return xp.tile(x, (1, num_repeats))
    return xp.repeat(x, num_repeats, axis=1)


@register("repeat_backward")
def repeat_backward(gy, num_repeats, as_row_vector):
    """``gx[i, j]`` = the sum of ``gy`` over the R copies of ``x[i, j]``."""
    rows = gy.shape[0]
    if as_row_vector:
        return gy.reshape(rows, num_repeats, -1).sum(axis=1)
    return gy.reshape(rows, -1, num_repeats).sum(axis=2)
