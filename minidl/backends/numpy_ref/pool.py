"""Reference 2-D max and average pooling, Paddle's geometry and padding rules.

Notation::

    x: (N, C, H, W)  ->  y: (N, C, OH, OW)
    OH = 1 + ceil((H + 2 py - ky) / sy)      (ceil_mode=True, Paddle's default)
    OH = 1 + floor((H + 2 py - ky) / sy)     (ceil_mode=False)

window, stride and padding are ``(y, x)`` pairs. Window ``(oh, ow)`` covers rows
``[oh*sy - py, oh*sy - py + ky)`` and the matching columns; cells outside the image --
padding, or the overhang that ceil mode adds past the bottom/right edge -- are not data:

* max: they never win (the maximum is over the cells inside the image);
* avg: ``exclude_mode=True`` (Paddle's default, ``PoolProjection``: ``exclude_mode`` unset
  means true) divides by the number of cells inside the image; ``exclude_mode=False``
  divides by the full window ``ky * kx`` (Paddle's CUDA kernel does the same).

Max-pool ties (common after a ReLU): the first cell in row-major window order takes the
gradient, as in cuDNN and PyTorch; Paddle's CPU kernel gave the whole gradient to every
tied cell, which counts the gradient several times.

A window with no cell inside the image (possible with large padding or ceil mode) gives
0 and passes no gradient. Paddle left such outputs at ``-FLT_MAX`` (max) or divided by
zero (avg); 0 keeps the next layer finite.

Every loop below runs over the ``ky * kx`` offsets of the window, each step an array
operation over all ``N * C * OH * OW`` outputs -- never a loop over pixels.
"""

import math

from ...core.xp import get_array_module
from ...core.geometry import pool_output_shape
from ..registry import register


def _padded(x, window, stride, padding, out_size, fill):
    """``x`` inside a frame of ``fill`` that holds every window (padding and ceil overhang).

    Notation: ``(N, C, H, W)`` -> ``(N, C, (OH-1) sy + ky, (OW-1) sx + kx)``; input row ``r``
    sits at frame row ``r + py``. Rows past the last window (floor mode) are cut off.
    """
    xp = get_array_module(x)
    n, c, h, w = x.shape
    rows = (out_size[0] - 1) * stride[0] + window[0]
    cols = (out_size[1] - 1) * stride[1] + window[1]
    if tuple(padding) == (0, 0) and rows <= h and cols <= w:
        return x[:, :, :rows, :cols]  # every window inside the image: a view, no copy
    frame = xp.full((n, c, rows, cols), fill, dtype=x.dtype)
    keep_h = max(0, min(h, rows - padding[0]))
    keep_w = max(0, min(w, cols - padding[1]))
    frame[:, :, padding[0]:padding[0] + keep_h, padding[1]:padding[1] + keep_w] = \
        x[:, :, :keep_h, :keep_w]
    return frame


def _window_slice(i, j, stride, out_size):
    """The frame cells that offset ``(i, j)`` of every window reads: ``(…, OH, OW)``."""
    return (slice(None), slice(None),
            slice(i, i + stride[0] * (out_size[0] - 1) + 1, stride[0]),
            slice(j, j + stride[1] * (out_size[1] - 1) + 1, stride[1]))


def _cells_inside(size, window, stride, padding, out):
    """Per output position along one axis: how many window cells lie inside the image."""
    counts = []
    for o in range(out):
        start = o * stride - padding
        counts.append(max(0, min(start + window, size) - max(start, 0)))
    return counts


def _counts(xp, input_shape, window, stride, padding, out_size, dtype):
    """``(OH, OW)`` number of in-image cells of each window."""
    h, w = input_shape[2:]
    rows = xp.asarray(_cells_inside(h, window[0], stride[0], padding[0], out_size[0]), dtype)
    cols = xp.asarray(_cells_inside(w, window[1], stride[1], padding[1], out_size[1]), dtype)
    return rows[:, None] * cols[None, :]


def _window_max(x, window, stride, padding, out_size):
    """Maximum of each window; ``-inf`` where a window holds no image cell."""
    xp = get_array_module(x)
    frame = _padded(x, window, stride, padding, out_size, -math.inf)
    best = frame[_window_slice(0, 0, stride, out_size)].copy()
    for i in range(window[0]):
        for j in range(window[1]):
            xp.maximum(best, frame[_window_slice(i, j, stride, out_size)], out=best)
    return best


def _window_argmax(x, window, stride, padding, out_size):
    """Window offset ``i * kx + j`` where each window's maximum first occurs."""
    xp = get_array_module(x)
    frame = _padded(x, window, stride, padding, out_size, -math.inf)
    best = frame[_window_slice(0, 0, stride, out_size)].copy()
    where = xp.zeros(best.shape, dtype=xp.int32)
    for i in range(window[0]):
        for j in range(window[1]):
            cell = frame[_window_slice(i, j, stride, out_size)]
            better = cell > best  # strictly: on ties the first offset keeps the gradient
            xp.copyto(best, cell, where=better)
            xp.copyto(where, i * window[1] + j, where=better)
    return where


@register("pool2d_forward")
def pool2d_forward(x, kind, window, stride, padding, exclude_mode=True, ceil_mode=True):
    """Max (``kind='max'``) or average (``kind='avg'``) pooling.

    Notation: ``x: (N, C, H, W)`` -> ``(N, C, OH, OW)``, same dtype.
    """
    xp = get_array_module(x)
    out_size = pool_output_shape(x.shape, window, stride, padding, ceil_mode)
    counts = _counts(xp, x.shape, window, stride, padding, out_size, x.dtype)
    if kind == "max":
        y = _window_max(x, window, stride, padding, out_size)
        return xp.where(counts > 0, y, xp.zeros((), dtype=x.dtype))
    if kind != "avg":
        raise ValueError(f"pool2d: kind={kind!r}; expected 'max' or 'avg'")
    frame = _padded(x, window, stride, padding, out_size, 0)
    total = xp.zeros(x.shape[:2] + tuple(out_size), dtype=x.dtype)
    for i in range(window[0]):
        for j in range(window[1]):
            total += frame[_window_slice(i, j, stride, out_size)]
    return total / _divisor(xp, counts, window, exclude_mode)


def _divisor(xp, counts, window, exclude_mode):
    if exclude_mode:
        return xp.maximum(counts, 1)  # empty windows sum to 0; keep them 0, not 0/0
    return xp.full_like(counts, window[0] * window[1])


def _fold(xp, grads_at, input_shape, window, stride, padding, out_size, dtype):
    """Scatter-add ``grads_at(i, j)``, one ``(N, C, OH, OW)`` block per window offset, into
    an array of the input's shape (the adjoint of reading the windows)."""
    n, c, h, w = input_shape
    rows = (out_size[0] - 1) * stride[0] + window[0]
    cols = (out_size[1] - 1) * stride[1] + window[1]
    frame = xp.zeros((n, c, max(rows, h + padding[0]), max(cols, w + padding[1])), dtype=dtype)
    for i in range(window[0]):
        for j in range(window[1]):
            frame[_window_slice(i, j, stride, out_size)] += grads_at(i, j)
    return xp.ascontiguousarray(frame[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w])


@register("max_pool2d_grad_input")
def max_pool2d_grad_input(x, gy, window, stride, padding, ceil_mode=True):
    """Gradient of max pooling: each output's gradient goes to its (first) maximum.

    Notation: ``x: (N, C, H, W)``, ``gy: (N, C, OH, OW)`` -> ``(N, C, H, W)``.
    The argmax is recomputed from ``x`` rather than kept from the forward pass.
    """
    xp = get_array_module(x, gy)
    out_size = pool_output_shape(x.shape, window, stride, padding, ceil_mode)
    where = _window_argmax(x, window, stride, padding, out_size)
    zero = xp.zeros((), dtype=gy.dtype)
    # An empty window's "argmax" lies in the frame outside the image and is cut off by _fold.
    return _fold(xp, lambda i, j: xp.where(where == i * window[1] + j, gy, zero),
                 x.shape, window, stride, padding, out_size, gy.dtype)


@register("avg_pool2d_grad_input")
def avg_pool2d_grad_input(gy, input_shape, window, stride, padding, exclude_mode=True,
                          ceil_mode=True):
    """Gradient of average pooling: each output's gradient spread evenly over its window.

    Notation: ``gy: (N, C, OH, OW)`` -> ``input_shape = (N, C, H, W)``.
    """
    xp = get_array_module(gy)
    out_size = pool_output_shape(input_shape, window, stride, padding, ceil_mode)
    counts = _counts(xp, input_shape, window, stride, padding, out_size, gy.dtype)
    share = gy / _divisor(xp, counts, window, exclude_mode)
    return _fold(xp, lambda i, j: share, input_shape, window, stride, padding, out_size,
                 gy.dtype)
