"""Reference kernels of ``slice_projection``: chosen column ranges of each row, side by side.

Notation: ``x: (N, D)``; ``ranges``: ``((begin_0, end_0), (begin_1, end_1), ...)`` column
ranges of ``x``, increasing and not overlapping; ``W = sum of (end_k - begin_k)``::

    y[n] = [ x[n, begin_0:end_0] | x[n, begin_1:end_1] | ... ]          y: (N, W)

The gradient puts each block of ``gy`` back in the columns it came from; columns no range
covers get zero.
"""

from ...core.xp import get_array_module
from ..registry import register


@register("column_slices_forward")
def column_slices_forward(x, ranges):
    """``y: (N, W)``: the ranges' columns of ``x``, one after the other."""
    xp = get_array_module(x)
    return xp.concatenate([x[:, begin:end] for begin, end in ranges], axis=1)


@register("column_slices_backward")
def column_slices_backward(gy, ranges, width):
    """``gx: (N, width)``: block k of ``gy`` in columns ``begin_k:end_k``, zero elsewhere."""
    xp = get_array_module(gy)
    gx = xp.zeros((gy.shape[0], width), dtype=gy.dtype)
    taken = 0
    for begin, end in ranges:
        gx[:, begin:end] = gy[:, taken:taken + end - begin]
        taken += end - begin
    return gx
