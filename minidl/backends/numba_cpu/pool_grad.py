"""Numba gradients of max and average pooling: one pass over the windows per plane.

Same signatures and rules as the reference (``backends/numpy_ref/pool.py``: geometry, ceil
mode, ``exclude_mode``, ties, empty windows). The reference makes ``ky * kx`` passes over
every output, each a masked copy of whole arrays, plus a padded frame of the input and of
the gradient: for VGG-CIFAR's pooling layers at batch 16 (64x32x32 planes down to 512x2x2)
that is the slowest part of a training step after the convolutions. Here one loop per
output finds the window's maximum -- the first cell in row-major window order that is
strictly greater than every cell before it, as in the reference -- and adds the output's
gradient to that cell; the average's gradient adds its share to every cell of the window.

Cells outside the image (padding, ceil-mode overhang) are never read: in the reference
they hold ``-inf`` and can never be strictly greater, so skipping them changes nothing --
except that a window whose first cell lies outside starts from ``-inf`` at that cell, and a
window with no cell greater than it (all ``-inf`` or NaN) sends its gradient there, that
is nowhere. 2x2 windows at stride 2 that all lie inside the image (VGG's pooling) tile the
input: their kernels write each input cell once, with no zeroing pass before.
"""

import numpy as np
from numba import njit, prange

from ...core.geometry import pool_output_shape
from ..registry import register
from .threads import one_thread_below

#: below this many window cells read, a gradient runs on the calling thread alone (as for
#: the forward, ``pool.py``: waking Numba's sleeping workers costs ~0.1 ms)
SERIAL_BELOW = 1 << 20


@njit(parallel=True, cache=True)
def _max_grad(x, gy, gx, window, stride, padding):
    """``gx[p, r, c] = sum of gy[p, oh, ow]`` over the windows whose maximum is ``(r, c)``.

    Notation: ``x, gx: (P, H, W)`` (P = N * C planes), ``gy: (P, OH, OW)``.
    """
    planes, h, w = x.shape
    _, oh_count, ow_count = gy.shape
    (ky, kx), (sy, sx), (py, px) = window, stride, padding
    for p in prange(planes):
        gx[p] = 0
        for oh in range(oh_count):
            top = oh * sy - py
            r0, r1 = max(top, 0), min(top + ky, h)
            for ow in range(ow_count):
                left = ow * sx - px
                c0, c1 = max(left, 0), min(left + kx, w)
                # the window's first cell starts the search, -inf if it lies outside
                best_r, best_c = top, left
                inside = 0 <= top < h and 0 <= left < w
                best = x[p, top, left] if inside else -np.inf
                for r in range(r0, r1):
                    for c in range(c0, c1):
                        if x[p, r, c] > best:
                            best, best_r, best_c = x[p, r, c], r, c
                if r0 <= best_r < r1 and c0 <= best_c < c1:
                    gx[p, best_r, best_c] += gy[p, oh, ow]


@njit(parallel=True, cache=True)
def _max_grad_2x2(x, gy, gx):
    """:func:`_max_grad` for 2x2 windows at stride 2, all inside the image; rows and
    columns past the last window (odd sizes in floor mode) get 0."""
    planes, h, w = x.shape
    _, oh_count, ow_count = gy.shape
    for p in prange(planes):
        if 2 * oh_count < h or 2 * ow_count < w:   # odd sizes in floor mode
            gx[p, 2 * oh_count:] = 0
            gx[p, :, 2 * ow_count:] = 0
        for oh in range(oh_count):
            r = 2 * oh
            for ow in range(ow_count):
                c = 2 * ow
                a, b = x[p, r, c], x[p, r, c + 1]
                d, e = x[p, r + 1, c], x[p, r + 1, c + 1]
                g = gy[p, oh, ow]
                # the first strictly greater cell wins, in row-major order: a, b, d, e
                at, best = 0, a
                if b > best:
                    at, best = 1, b
                if d > best:
                    at, best = 2, d
                if e > best:
                    at = 3
                gx[p, r, c] = g if at == 0 else 0
                gx[p, r, c + 1] = g if at == 1 else 0
                gx[p, r + 1, c] = g if at == 2 else 0
                gx[p, r + 1, c + 1] = g if at == 3 else 0


@njit(parallel=True, cache=True)
def _avg_grad(gy, gx, window, stride, padding, exclude):
    """``gx[p, r, c] = sum of gy[p, oh, ow] / divisor`` over the windows holding ``(r, c)``."""
    planes, h, w = gx.shape
    _, oh_count, ow_count = gy.shape
    (ky, kx), (sy, sx), (py, px) = window, stride, padding
    for p in prange(planes):
        gx[p] = 0
        for oh in range(oh_count):
            top = oh * sy - py
            r0, r1 = max(top, 0), min(top + ky, h)
            for ow in range(ow_count):
                left = ow * sx - px
                c0, c1 = max(left, 0), min(left + kx, w)
                cells = max(r1 - r0, 0) * max(c1 - c0, 0)
                if cells == 0:
                    continue
                share = gy[p, oh, ow] / (cells if exclude else ky * kx)
                for r in range(r0, r1):
                    for c in range(c0, c1):
                        gx[p, r, c] += share


@njit(parallel=True, cache=True)
def _avg_grad_2x2(gy, gx):
    """:func:`_avg_grad` for 2x2 windows at stride 2, all inside the image (both divisors
    are 4); rows and columns past the last window get 0."""
    planes, h, w = gx.shape
    _, oh_count, ow_count = gy.shape
    for p in prange(planes):
        if 2 * oh_count < h or 2 * ow_count < w:   # odd sizes in floor mode
            gx[p, 2 * oh_count:] = 0
            gx[p, :, 2 * ow_count:] = 0
        for oh in range(oh_count):
            for ow in range(ow_count):
                share = gy[p, oh, ow] * 0.25            # exact: a power of two
                gx[p, 2 * oh, 2 * ow] = gx[p, 2 * oh, 2 * ow + 1] = share
                gx[p, 2 * oh + 1, 2 * ow] = gx[p, 2 * oh + 1, 2 * ow + 1] = share


def _is_2x2_inside(geometry, out_size, input_shape):
    """2x2 windows at stride 2 without padding, every window inside the image."""
    return (geometry == ((2, 2), (2, 2), (0, 0)) and 2 * out_size[0] <= input_shape[2]
            and 2 * out_size[1] <= input_shape[3])


def _planes(a):
    """``(N, C, H, W)`` -> ``(N*C, H, W)``, contiguous."""
    n, c, h, w = a.shape
    return np.ascontiguousarray(a).reshape(n * c, h, w)


def _ints(*pairs):
    """The pairs as tuples of ints: one Numba specialisation whatever the caller passed."""
    return tuple(tuple(int(v) for v in pair) for pair in pairs)


@register("max_pool2d_grad_input", backend="cpu")
def max_pool2d_grad_input(x, gy, window, stride, padding, ceil_mode=True):
    """Gradient of max pooling; see the reference."""
    out_size = pool_output_shape(x.shape, window, stride, padding, ceil_mode)
    geometry = _ints(window, stride, padding)
    gx = np.empty(x.shape, dtype=gy.dtype)
    planes, gy_planes, gx_planes = _planes(x), _planes(gy), gx.reshape(-1, *x.shape[2:])
    cells = gy.size * geometry[0][0] * geometry[0][1]
    with one_thread_below(cells, SERIAL_BELOW):
        if _is_2x2_inside(geometry, out_size, x.shape):
            _max_grad_2x2(planes, gy_planes, gx_planes)
        else:
            _max_grad(planes, gy_planes, gx_planes, *geometry)
    return gx


@register("avg_pool2d_grad_input", backend="cpu")
def avg_pool2d_grad_input(gy, input_shape, window, stride, padding, exclude_mode=True,
                          ceil_mode=True):
    """Gradient of average pooling; see the reference."""
    out_size = pool_output_shape(input_shape, window, stride, padding, ceil_mode)
    geometry = _ints(window, stride, padding)
    gx = np.empty(input_shape, dtype=gy.dtype)
    gy_planes, gx_planes = _planes(gy), gx.reshape(-1, *input_shape[2:])
    with one_thread_below(gy.size * geometry[0][0] * geometry[0][1], SERIAL_BELOW):
        if _is_2x2_inside(geometry, out_size, input_shape):
            _avg_grad_2x2(gy_planes, gx_planes)
        else:
            _avg_grad(gy_planes, gx_planes, *geometry, bool(exclude_mode))
    return gx
