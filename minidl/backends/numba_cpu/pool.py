"""Numba ``pool2d_forward``: max and average pooling in one pass over the output.

Same signature and rules as the reference (``backends/numpy_ref/pool.py``, which explains
the geometry, ceil mode, ``exclude_mode`` and the empty-window 0). The reference makes one
array pass per window offset plus a padded copy of the input; for the small planes of an
inference forward (VGG-CIFAR at batch 1: 64x32x32 down to 512x2x2) those passes and
copies cost ~0.15 ms per layer, more than some of the convolutions around them. Here each
output value is one loop over the window's cells that lie inside the image -- no padded
copy, no temporaries. The gradients are in ``pool_grad.py``, registered with this module.
"""

import numpy as np
from numba import njit, prange

from ...core.geometry import pool_output_shape
from ..registry import register
from . import pool_grad  # noqa: F401  (registers the gradients)
from .threads import one_thread_below

#: below this many window cells read, the pass runs on the calling thread alone (waking
#: Numba's sleeping workers costs ~0.1 ms, see threads.py)
SERIAL_BELOW = 1 << 20


@njit(parallel=True, fastmath=False, cache=True)
def _pool(x, out, window, stride, padding, is_max, exclude):
    """``out[p, oh, ow]`` = max / average of the in-image cells of window ``(oh, ow)``.

    Notation: ``x: (P, H, W)`` (P = N * C planes), ``out: (P, OH, OW)``.
    """
    planes, h, w = x.shape
    _, oh_count, ow_count = out.shape
    (ky, kx), (sy, sx), (py, px) = window, stride, padding
    for p in prange(planes):
        for oh in range(oh_count):
            top = oh * sy - py
            r0, r1 = max(top, 0), min(top + ky, h)
            for ow in range(ow_count):
                left = ow * sx - px
                c0, c1 = max(left, 0), min(left + kx, w)
                cells = max(r1 - r0, 0) * max(c1 - c0, 0)
                if cells == 0:
                    out[p, oh, ow] = 0.0
                    continue
                if is_max:
                    best = x[p, r0, c0]
                    for r in range(r0, r1):
                        for c in range(c0, c1):
                            best = np.maximum(best, x[p, r, c])  # NaN wins, as in NumPy
                    out[p, oh, ow] = best
                else:
                    total = 0.0  # float64: the sum of a float32 window rounds once
                    for r in range(r0, r1):
                        for c in range(c0, c1):
                            total += x[p, r, c]
                    out[p, oh, ow] = total / (cells if exclude else ky * kx)


@njit(parallel=True, cache=True)
def _max_pool_2x2(x, out):
    """The common case -- 2x2 windows, stride 2, every window inside the image -- written
    out: the general loop above spends ~5x longer per output on its window bounds."""
    for p in prange(x.shape[0]):
        for oh in range(out.shape[1]):
            for ow in range(out.shape[2]):
                r, c = 2 * oh, 2 * ow
                out[p, oh, ow] = np.maximum(np.maximum(x[p, r, c], x[p, r, c + 1]),
                                            np.maximum(x[p, r + 1, c], x[p, r + 1, c + 1]))


@register("pool2d_forward", backend="cpu")
def pool2d_forward(x, kind, window, stride, padding, exclude_mode=True, ceil_mode=True):
    """Max (``kind='max'``) or average (``kind='avg'``) pooling; see the reference."""
    if kind not in ("max", "avg"):
        raise ValueError(f"pool2d: kind={kind!r}; expected 'max' or 'avg'")
    oh, ow = pool_output_shape(x.shape, window, stride, padding, ceil_mode)
    n, c, h, w = x.shape
    planes = np.ascontiguousarray(x).reshape(n * c, h, w)
    out = np.empty((n * c, oh, ow), dtype=x.dtype)
    geometry = tuple(int(v) for v in window), tuple(int(v) for v in stride), \
        tuple(int(v) for v in padding)
    inside = 2 * oh <= h and 2 * ow <= w
    with one_thread_below(out.size * geometry[0][0] * geometry[0][1], SERIAL_BELOW):
        if kind == "max" and geometry == ((2, 2), (2, 2), (0, 0)) and inside:
            _max_pool_2x2(planes, out)
        else:
            _pool(planes, out, *geometry, kind == "max", bool(exclude_mode))
    return out.reshape(n, c, oh, ow)
