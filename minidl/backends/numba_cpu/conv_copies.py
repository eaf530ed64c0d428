"""The copies around the dense convolution's GEMMs (``conv.py``): im2col, its adjoint
col2im, and the change from batch-innermost to batch-first layout.

Notation of the reference (``numpy_ref/conv.py``); the unrolled patches of ``N`` images are::

    cols: (C*kh*kw, OH*OW*N)
          cols[(c, i, j), (oh, ow, n)] = x_pad[n, c, oh*sy + i*dy, ow*sx + j*dx]

with the batch innermost. At ``N = 1`` this is the classic per-image layout
``cols[(c, i, j), (oh, ow)]``, which ``conv_per_image.py`` fills one image at a time.

* im2col copies each channel's ``N`` planes into a padded frame ``(Hp, Wp * N)`` (batch
  innermost), then writes the rows ``(c, i, j)`` of ``cols`` from it. col2im goes the other
  way one channel at a time: it sums the channel's ``kh * kw`` rows into a frame of its own
  (tens of KB: it stays in cache) and writes the channel's planes of ``gx`` from it.
* Index arithmetic is unsigned, as in ``loops.py``: it lets LLVM vectorise the runs.
"""

import numpy as np
from numba import njit

from .loops import U, _0

#: output positions per tile of the layout change (64 positions x N=16 images: 4 KB)
TILE = U(64)


@njit(cache=True)
def fill_frame(x, c, frame, padding):
    """``frame[(py + r) * Wp*N + (px + q) * N + n] = x[n, c, r, q]``: channel ``c`` of every
    image, padded, batch innermost, one frame row after the other; the border is zero."""
    n_count, h, w = U(x.shape[0]), U(x.shape[2]), U(x.shape[3])
    py, px = U(padding[0]), U(padding[1])
    wide = (px + w + px) * n_count
    frame[:py * wide] = 0
    frame[(py + h) * wide:] = 0
    for r in range(h):
        row = (py + r) * wide
        frame[row:row + px * n_count] = 0
        frame[row + (px + w) * n_count:row + wide] = 0
        for n in range(n_count):
            for q in range(w):
                frame[row + (px + q) * n_count + n] = x[n, c, r, q]


@njit(cache=True)
def im2col(x, cols, kernel, out_size, stride, padding, dilation):
    """``cols[(c, i, j), (oh, ow, n)] = x_pad[n, c, oh*sy + i*dy, ow*sx + j*dx]``.

    Notation: ``x: (N, C, H, W)``, ``cols: (C*kh*kw, OH*OW*N)``. The padded frames of all
    channels are made first; then each row of ``cols`` is copied from its channel's frame.
    """
    n_count, channels, h, w = x.shape
    (kh, kw), (oh_count, ow_count) = kernel, out_size
    (sy, sx), (py, px), (dy, dx) = stride, padding, dilation
    n, wide = U(n_count), U((w + 2 * px) * n_count)
    run = U(ow_count) * n                     # one output row, every image
    frames = np.empty((channels, (h + 2 * py) * (w + 2 * px) * n_count), dtype=x.dtype)
    for c in range(channels):
        fill_frame(x, c, frames[c], padding)
    for row in range(U(channels * kh * kw)):
        c, tap = divmod(row, U(kh * kw))
        i, j = divmod(tap, U(kw))
        src, dst = frames[c], cols[row]
        for oh in range(U(oh_count)):
            start, e = (oh * U(sy) + i * U(dy)) * wide + j * U(dx) * n, oh * run
            if sx == 1:                      # the row is one contiguous run
                for t in range(run):
                    dst[e + t] = src[start + t]
            elif n_count == 1:               # a strided gather
                for ow in range(U(ow_count)):
                    dst[e + ow] = src[start + ow * U(sx)]
            else:                            # a run of N per output pixel
                for ow in range(U(ow_count)):
                    for m in range(n):
                        dst[e + ow * n + m] = src[start + ow * U(sx) * n + m]


@njit(cache=True)
def col2im(gcols, gx, kernel, out_size, stride, padding, dilation):
    """The adjoint of :func:`im2col`: each ``gcols`` entry is added to the frame cell it
    was copied from, and the frame's inside is ``gx``.

    Notation: ``gcols: (C, kh*kw*OH*OW*N)``, ``gx: (N, C, H, W)``.
    """
    n_count, channels, h, w = gx.shape
    (kh, kw), (oh_count, ow_count) = kernel, out_size
    (sy, sx), (py, px), (dy, dx) = stride, padding, dilation
    n, wide = U(n_count), U((w + 2 * px) * n_count)
    run = U(ow_count) * n
    for c in range(channels):
        frame = np.zeros((h + 2 * py) * (w + 2 * px) * n_count, dtype=gx.dtype)
        src, e = gcols[c], _0
        for i in range(U(kh)):
            for j in range(U(kw)):
                for oh in range(U(oh_count)):
                    start = (oh * U(sy) + i * U(dy)) * wide + j * U(dx) * n
                    if sx == 1:
                        for t in range(run):
                            frame[start + t] += src[e + t]
                    elif n_count == 1:
                        for ow in range(U(ow_count)):
                            frame[start + ow * U(sx)] += src[e + ow]
                    else:
                        for ow in range(U(ow_count)):
                            for m in range(n):
                                frame[start + ow * U(sx) * n + m] += src[e + ow * n + m]
                    e += run
        for m in range(n):
            for r in range(U(h)):
                for q in range(U(w)):
                    gx[m, c, r, q] = frame[(U(py) + r) * wide + (U(px) + q) * n + m]


@njit(cache=True)
def batch_first(a, out):
    """``out[n, f, p] = a[f, p, n]``: ``(F, P, N)`` -> ``(N, F, P)``, in tiles of
    :data:`TILE` positions (a tile of ``a`` stays in L1 while its N runs are written)."""
    f_count, p_count, n_count = U(a.shape[0]), U(a.shape[1]), U(a.shape[2])
    for f in range(f_count):
        for p0 in range(_0, p_count, TILE):
            p1 = min(p0 + TILE, p_count)
            for n in range(n_count):
                for p in range(p0, p1):
                    out[n, f, p] = a[f, p, n]
