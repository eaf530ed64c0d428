"""Dense 2-D convolution for the ``cpu`` backend: im2col + one BLAS GEMM per group.

Same signatures and notation as the reference (``numpy_ref/conv.py``, the definition), plus::

    cols: (G, C/G*kh*kw, OH*OW*N)   the unrolled patches ("im2col"):
          cols[g, (c, i, j), (oh, ow, n)] = x_pad[n, g*C/G + c, oh*sy + i*dy, ow*sx + j*dx]

The products are BLAS (``numpy.matmul``): ``y = W @ cols``, ``gW = gy @ cols.T`` and
``gcols = W.T @ gy`` followed by col2im, the adjoint of im2col. Numba does the copies:

* The batch is the innermost axis of ``cols`` (and of ``y`` and ``gy`` as the GEMMs see
  them), so every product is ONE large GEMM per group whatever the batch size, and the
  copies move runs of ``OW * N`` contiguous values (stride 1) instead of ``OW``: on the
  4x4 and 2x2 images of VGG's last blocks, runs of 4 or 2 values would cost more in loop
  overhead than in copying.
* im2col copies each channel's ``N`` planes into a padded frame ``(Hp, Wp * N)`` (batch
  innermost), then writes the rows ``(c, i, j)`` of ``cols`` from it. col2im goes the other
  way one channel at a time: it sums the channel's ``kh * kw`` rows into a frame of its own
  (tens of KB: it stays in cache) and writes the channel's planes of ``gx`` from it.
* ``y`` goes from ``(F, OH*OW, N)`` to ``(N, F, OH, OW)`` in a tiled copy (NumPy's
  transposing copy takes up to 3x longer on VGG's first blocks); ``gy`` the other way in
  NumPy, which does as well there. At batch 1 the layouts agree and nothing is copied.
* The copies run on the calling thread. Between two multi-threaded OpenBLAS products,
  waking Numba's sleeping workers for a parallel copy stalled each call by ~8 ms on two
  cores while OpenBLAS's own threads still spun: the VGG-16-CIFAR conv stack took 573 ms
  with parallel copies and 240-310 ms with serial ones (``benchmarks/dense_conv.py``).

1x1 filters at stride 1 without padding (MobileNet's pointwise layers) need no im2col: the
convolution is ``y[n] = W @ x[n]``, a GEMM per image straight on the input.
"""

import numpy as np
from numba import njit

from ...core.geometry import conv_geometry
from ..registry import register
from .loops import U, _0

#: output positions per tile of the layout change (64 positions x N=16 images: 4 KB)
TILE = U(64)


# --- copies (index arithmetic unsigned, as in loops.py: it lets LLVM vectorise the runs) ----

@njit(cache=True)
def _fill_frame(x, c, frame, padding):
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
def _im2col(x, cols, kernel, out_size, stride, padding, dilation):
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
        _fill_frame(x, c, frames[c], padding)
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
def _col2im(gcols, gx, kernel, out_size, stride, padding, dilation):
    """The adjoint of :func:`_im2col`: each ``gcols`` entry is added to the frame cell it
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
def _batch_first(a, out):
    """``out[n, f, p] = a[f, p, n]``: ``(F, P, N)`` -> ``(N, F, P)``, in tiles of
    :data:`TILE` positions (a tile of ``a`` stays in L1 while its N runs are written)."""
    f_count, p_count, n_count = U(a.shape[0]), U(a.shape[1]), U(a.shape[2])
    for f in range(f_count):
        for p0 in range(_0, p_count, TILE):
            p1 = min(p0 + TILE, p_count)
            for n in range(n_count):
                for p in range(p0, p1):
                    out[n, f, p] = a[f, p, n]


# --- layouts --------------------------------------------------------------------------------

def _geometry(stride, padding, dilation):
    """The pairs as tuples of ints: one Numba specialisation whatever the caller passed."""
    return tuple(tuple(int(v) for v in pair) for pair in (stride, padding, dilation))


def _im2col_groups(x, kernel, out_size, geometry, groups):
    """``x: (N, C, H, W)`` -> ``cols: (G, C/G*kh*kw, OH*OW*N)``."""
    n, c = x.shape[:2]
    (kh, kw), (oh, ow) = kernel, out_size
    cols = np.empty((c * kh * kw, oh * ow * n), dtype=x.dtype)
    _im2col(np.ascontiguousarray(x), cols, kernel, out_size, *geometry)
    return cols.reshape(groups, -1, oh * ow * n)


def _to_batch_last(a):
    """``(N, F, OH, OW)`` -> ``(F, OH*OW*N)`` (a view at batch 1)."""
    n, f = a.shape[:2]
    if n == 1:
        return np.ascontiguousarray(a).reshape(f, -1)
    # NumPy's copy reads runs of OH*OW and writes with stride N as fast as a tiled loop
    return np.ascontiguousarray(a.reshape(n, f, -1).transpose(1, 2, 0)).reshape(f, -1)


def _to_batch_first(a, shape):
    """``(F, OH*OW*N)`` -> ``shape (N, F, OH, OW)`` (a view at batch 1)."""
    n, f = shape[:2]
    if n == 1:
        return a.reshape(shape)
    out = np.empty(shape, dtype=a.dtype)
    _batch_first(a.reshape(f, -1, n), out.reshape(n, f, -1))
    return out


def _is_pointwise(filter_shape, stride, padding, groups):
    """1x1 filters, stride 1, no padding, one group: ``y[n] = W @ x[n]`` (dilation does not
    matter for a 1x1 filter)."""
    return (tuple(filter_shape[2:]) == (1, 1) and tuple(stride) == (1, 1)
            and tuple(padding) == (0, 0) and groups == 1)


def _by_group(w, groups):
    """``(F, C/G, kh, kw)`` -> ``(G, F/G, C/G*kh*kw)`` (a view)."""
    return w.reshape(groups, w.shape[0] // groups, -1)


# --- the kernels ----------------------------------------------------------------------------

@register("conv2d_forward", backend="cpu")
def conv2d_forward(x, w, stride, padding, dilation, groups):
    """``y = W @ im2col(x)`` per group; see the reference for the definition."""
    kernel, (oh, ow) = conv_geometry(x.shape, w.shape, stride, padding, dilation, groups)
    n, c = x.shape[:2]
    if _is_pointwise(w.shape, stride, padding, groups):
        return np.matmul(w.reshape(-1, c), x.reshape(n, c, oh * ow)).reshape(n, -1, oh, ow)
    cols = _im2col_groups(x, kernel, (oh, ow), _geometry(stride, padding, dilation), groups)
    y = np.matmul(_by_group(w, groups), cols)                    # (G, F/G, OH*OW*N)
    return _to_batch_first(y, (n, w.shape[0], oh, ow))


@register("conv2d_grad_input", backend="cpu")
def conv2d_grad_input(gy, w, input_shape, stride, padding, dilation, groups):
    """``col2im(W.T @ gy)`` per group."""
    kernel, out_size = conv_geometry(input_shape, w.shape, stride, padding, dilation, groups)
    n, c, h, wd = input_shape
    if _is_pointwise(w.shape, stride, padding, groups):
        return np.matmul(w.reshape(-1, c).T, gy.reshape(n, -1, h * wd)).reshape(input_shape)
    gy_groups = _to_batch_last(gy).reshape(groups, w.shape[0] // groups, -1)
    gcols = np.matmul(_by_group(w, groups).transpose(0, 2, 1), gy_groups)
    gx = np.empty(input_shape, dtype=gcols.dtype)
    _col2im(gcols.reshape(c, -1), gx, kernel, out_size,
            *_geometry(stride, padding, dilation))
    return gx


@register("conv2d_grad_filter", backend="cpu")
def conv2d_grad_filter(x, gy, filter_shape, stride, padding, dilation, groups):
    """``gy @ im2col(x).T`` per group (im2col recomputed, not kept from the forward)."""
    kernel, out_size = conv_geometry(x.shape, filter_shape, stride, padding, dilation, groups)
    if _is_pointwise(filter_shape, stride, padding, groups):
        n, c, h, wd = x.shape
        per_image = np.matmul(gy.reshape(n, -1, h * wd),
                              x.reshape(n, c, h * wd).transpose(0, 2, 1))
        return per_image.sum(axis=0).reshape(filter_shape)
    cols = _im2col_groups(x, kernel, out_size, _geometry(stride, padding, dilation), groups)
    gy_groups = _to_batch_last(gy).reshape(groups, filter_shape[0] // groups, -1)
    return np.matmul(gy_groups, cols.transpose(0, 2, 1)).reshape(filter_shape)
