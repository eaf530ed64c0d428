"""Reference row convolution (Deep Speech 2's lookahead convolution) over sequences.

Notation: ``x: (T, D)`` packed rows of a batch of sequences (``starts``: the offsets, see
``core/sequence.py``), ``w: (K, D)`` with ``K = context_len``::

    y[t, d] = sum_{j=0}^{K-1} w[j, d] * x[t + j, d]      over t + j inside t's sequence

Each output row mixes its own row and the ``K - 1`` rows after it, column by column; rows
past the end of the sequence count as 0.
"""

import numpy as np

from ...core.xp import get_array_module
from ..registry import register


def _lookahead(starts, t_rows, j):
    """Rows ``t`` whose row ``t + j`` lies in the same sequence (a host boolean mask)."""
    starts = np.asarray(starts)
    ends = np.repeat(starts[1:], np.diff(starts))           # end of each row's sequence
    return np.arange(t_rows) + j < ends


@register("row_conv_forward")
def row_conv_forward(x, w, starts):
    """``(T, D), (K, D)`` -> ``(T, D)`` (see the module doc)."""
    xp = get_array_module(x, w)
    y = xp.zeros(x.shape, dtype=xp.result_type(x, w))
    for j in range(w.shape[0]):
        rows = np.nonzero(_lookahead(starts, x.shape[0], j))[0]
        y[rows] += w[j] * x[rows + j]
    return y


@register("row_conv_backward")
def row_conv_backward(x, w, gy, starts):
    """Gradients ``(gx: (T, D), gw: (K, D))`` of ``sum(y * gy)``."""
    xp = get_array_module(x, w, gy)
    gx = xp.zeros(x.shape, dtype=gy.dtype)
    gw = xp.zeros(w.shape, dtype=gy.dtype)
    for j in range(w.shape[0]):
        rows = np.nonzero(_lookahead(starts, x.shape[0], j))[0]
        gx[rows + j] += w[j] * gy[rows]             # rows + j are distinct for one j
        gw[j] = (gy[rows] * x[rows + j]).sum(axis=0)
    return gx, gw
