"""Reference kernels of the mixed layer's terms: table lookup, context projection and the
per-sample convolution of ``conv_operator``.

Notation: ``R`` rows (the timesteps of a batch of sequences, or one row per sample), ``D``
the width of one input row. Sequence offsets ``starts: (S + 1,)`` are host int64 arrays
(:class:`~minidl.core.sequence.SequenceLayout`).

Table lookup (``table_projection`` / ``embedding``)::

    y[r] = table[ids[r]]                       table: (V, D), ids: (R,) -> (R, D)
    grad_table[v] = sum of gy[r] over the rows r with ids[r] == v

Context projection, per sequence of length ``L`` starting at row ``s``: output row ``s + t``
is the concatenation of ``K = context_len`` input rows of the SAME sequence, positions
``p = t + context_start + k`` for ``k = 0 .. K-1``::

    y[s + t, k*D:(k+1)*D] = x[s + p]                      if 0 <= p < L
                          = padding[p + begin_pad]        if p < 0      (before the start)
                          = padding[begin_pad + p - L]    if p >= L     (after the end)
                          = 0                             outside, without padding

with ``begin_pad = max(0, -context_start)`` and the padding ``(begin_pad + end_pad, D)``,
``end_pad = max(0, context_start + K - 1)`` -- Paddle's ``ContextProjectionForward``
(``paddle/function/ContextProjectionOp.cpp``), which reuses the same padding row for every
sequence, however short.
"""

import numpy as np

from ...core.geometry import conv_output_size
from ...core.xp import get_array_module
from ..registry import register


# --- table lookup ------------------------------------------------------------------------

@register("table_lookup")
def table_lookup(table, ids):
    """``y[r] = table[ids[r]]``. Notation: ``table: (V, D)``, ``ids: (R,)`` int -> ``(R, D)``."""
    xp = get_array_module(table)
    return table[xp.asarray(ids)]


@register("table_lookup_grad")
def table_lookup_grad(ids, gy, num_rows):
    """Scatter-add of the output gradient into the rows looked up: ``grad[v] = sum of gy[r]
    over r with ids[r] == v`` (a row used twice gets both gradients).

    Notation: ``ids: (R,)`` int, ``gy: (R, D)`` -> ``(num_rows, D)``.
    """
    xp = get_array_module(gy)
    grad = xp.zeros((num_rows,) + tuple(gy.shape[1:]), dtype=gy.dtype)
    xp.add.at(grad, xp.asarray(ids), gy)
    return grad


# --- context projection ------------------------------------------------------------------

def context_positions(starts, context_len, context_start):
    """Where each slot of each output row reads from (host arrays, ``(R, K)`` each):

    ``inside``: True where position ``p`` is in the sequence; ``source``: the input row there
    (meaningful where ``inside``); ``pad_row``: the padding row (meaningful elsewhere).
    """
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.diff(starts)
    sequence = np.repeat(np.arange(len(lengths)), lengths)        # (R,) sequence of each row
    first = starts[:-1][sequence]                                  # (R,) its first row
    length = lengths[sequence][:, None]                            # (R, 1) its length
    t = np.arange(int(starts[-1])) - first                         # (R,) position in it
    p = t[:, None] + context_start + np.arange(context_len)[None, :]   # (R, K)
    begin_pad = max(0, -context_start)
    inside = (p >= 0) & (p < length)
    source = first[:, None] + p
    pad_row = np.where(p < 0, p + begin_pad, begin_pad + p - length)
    return inside, source, pad_row


@register("context_projection_forward")
def context_projection_forward(x, padding, starts, context_len, context_start):
    """The context windows of every row (module docstring).

    Notation: ``x: (R, D)``, ``padding: (P, D)`` or None (zeros), ``starts: (S + 1,)`` ->
    ``(R, K * D)``.
    """
    xp = get_array_module(x)
    inside, source, pad_row = context_positions(starts, context_len, context_start)
    rows, width = x.shape
    y = xp.zeros((rows, context_len, width), dtype=x.dtype)
    y[xp.asarray(inside)] = x[xp.asarray(source[inside])]
    if padding is not None:
        y[xp.asarray(~inside)] = padding[xp.asarray(pad_row[~inside])]
    return y.reshape(rows, context_len * width)


@register("context_projection_grad_input")
def context_projection_grad_input(gy, starts, context_len, context_start):
    """Gradient for ``x``: every slot that read row ``x[q]`` sends its gradient back to it.

    Notation: ``gy: (R, K * D)`` -> ``(R, D)``.
    """
    inside, source, _ = context_positions(starts, context_len, context_start)
    return _add_slots(gy, context_len, inside, source, gy.shape[0])


@register("context_projection_grad_padding")
def context_projection_grad_padding(gy, starts, context_len, context_start, num_pad_rows):
    """Gradient for the trainable padding: every slot outside its sequence sends its
    gradient to the padding row it read.

    Notation: ``gy: (R, K * D)`` -> ``(num_pad_rows, D)``.
    """
    inside, _, pad_row = context_positions(starts, context_len, context_start)
    return _add_slots(gy, context_len, ~inside, pad_row, num_pad_rows)


def _add_slots(gy, context_len, chosen, target, num_rows):
    """Sum the gradients of the window slots ``chosen`` (an ``(R, K)`` mask) into the rows
    ``target[chosen]`` of a zero ``(num_rows, D)`` array: each slot back to what it read.

    Notation: ``gy: (R, K * D)``.
    """
    xp = get_array_module(gy)
    slots = gy.reshape(gy.shape[0], context_len, -1)
    total = xp.zeros((num_rows, slots.shape[2]), dtype=gy.dtype)
    xp.add.at(total, xp.asarray(target[chosen]), slots[xp.asarray(chosen)])
    return total


# --- conv_operator: each sample convolved with its own filters -----------------------------

def _windows(x_pad, kh, kw, stride, out_hw):
    """Yield ``(i, j, view)``: the ``(N, C, OH, OW)`` input pixels filter tap ``(i, j)``
    meets, ``x_pad[:, :, oh*sy + i, ow*sx + j]``."""
    (sy, sx), (oh, ow) = stride, out_hw
    for i in range(kh):
        for j in range(kw):
            yield i, j, x_pad[:, :, i:i + sy * (oh - 1) + 1:sy, j:j + sx * (ow - 1) + 1:sx]


def _pad(x, padding):
    xp = get_array_module(x)
    py, px = padding
    return xp.pad(x, ((0, 0), (0, 0), (py, py), (px, px)))


def conv_operator_output_hw(input_hw, filter_hw, stride, padding):
    """``(OH, OW)`` of ``conv_operator`` (caffe mode, no dilation)."""
    return tuple(conv_output_size(s, k, st, p)
                 for s, k, st, p in zip(input_hw, filter_hw, stride, padding))


@register("conv_operator_forward")
def conv_operator_forward(x, w, stride, padding):
    """Sample ``n`` cross-correlated with its own filters ``w[n]`` (Paddle's ConvOperator)::

        y[n, f, oh, ow] = sum_{c, i, j} w[n, f, c, i, j] * x_pad[n, c, oh*sy + i, ow*sx + j]

    Notation: ``x: (N, C, H, W)``, ``w: (N, F, C, kh, kw)`` -> ``(N, F, OH, OW)``; stride and
    padding are ``(y, x)`` pairs.
    """
    xp = get_array_module(x)
    n, f, _, kh, kw = w.shape
    out_hw = conv_operator_output_hw(x.shape[2:], (kh, kw), stride, padding)
    y = xp.zeros((n, f) + out_hw, dtype=x.dtype)
    for i, j, window in _windows(_pad(x, padding), kh, kw, stride, out_hw):
        y += xp.einsum("nfc,nchw->nfhw", w[:, :, :, i, j], window)
    return y


@register("conv_operator_grad_input")
def conv_operator_grad_input(gy, w, input_shape, stride, padding):
    """Gradient for ``x``: tap ``(i, j)`` sends ``sum_f w[n, f, c, i, j] * gy[n, f]`` back to
    the pixels it read. Notation: ``gy: (N, F, OH, OW)`` -> ``input_shape``."""
    xp = get_array_module(gy)
    n, c, h, width = input_shape
    (py, px), (sy, sx) = padding, stride
    _, _, _, kh, kw = w.shape
    oh, ow = gy.shape[2:]
    gx_pad = xp.zeros((n, c, h + 2 * py, width + 2 * px), dtype=gy.dtype)
    for i in range(kh):
        for j in range(kw):
            gx_pad[:, :, i:i + sy * (oh - 1) + 1:sy, j:j + sx * (ow - 1) + 1:sx] += xp.einsum(
                "nfc,nfhw->nchw", w[:, :, :, i, j], gy)
    return gx_pad[:, :, py:py + h, px:px + width]


@register("conv_operator_grad_filter")
def conv_operator_grad_filter(x, gy, filter_shape, stride, padding):
    """Gradient for the per-sample filters: ``gw[n, f, c, i, j] = sum_{oh, ow} gy[n, f, oh,
    ow] * x_pad[n, c, oh*sy + i, ow*sx + j]``. Notation: -> ``filter_shape`` (N, F, C, kh, kw)."""
    xp = get_array_module(x)
    _, _, _, kh, kw = filter_shape
    gw = xp.zeros(filter_shape, dtype=gy.dtype)
    for i, j, window in _windows(_pad(x, padding), kh, kw, stride, gy.shape[2:]):
        gw[:, :, :, i, j] = xp.einsum("nfhw,nchw->nfc", gy, window)
    return gw
