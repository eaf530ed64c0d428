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
* Each parallel task owns one input channel: it copies the channel's ``N`` planes into a
  small padded frame ``(Hp, Wp * N)`` (batch innermost; tens of KB, it stays in cache) and
  writes the channel's ``kh * kw`` rows of ``cols`` from there, or, in col2im, sums the
  rows into the frame and writes the channel's planes of ``gx`` back out. No two tasks
  write one value, and ``x`` is read once.
* ``y`` and ``gy`` change layout between ``(N, F, OH*OW)`` and ``(F, OH*OW, N)`` in a
  parallel copy too; at batch 1 the two layouts are the same and nothing is copied.

1x1 filters at stride 1 without padding (MobileNet's pointwise layers) need no im2col: the
convolution is ``y[n] = W @ x[n]``, a GEMM per image straight on the input.
"""

import numpy as np
from numba import njit, prange

from ...core.geometry import conv_geometry
from ..registry import register
from .threads import one_thread_below

#: below this many values copied, a copy runs on the calling thread alone (waking Numba's
#: sleeping workers costs ~0.1 ms, the time to copy a few hundred thousand values)
SERIAL_BELOW = 1 << 18


# --- copies ---------------------------------------------------------------------------------

@njit(cache=True)
def _fill_frame(x, c, frame, padding):
    """``frame[py + r, (px + q) * N + n] = x[n, c, r, q]``; the border stays zero."""
    n_count, _, h, w = x.shape
    py, px = padding
    for n in range(n_count):
        for r in range(h):
            for q in range(w):
                frame[py + r, (px + q) * n_count + n] = x[n, c, r, q]


@njit(parallel=True, cache=True)
def _im2col(x, cols, kernel, out_size, stride, padding, dilation):
    """``cols[c, i, j, oh, ow * N + n] = x_pad[n, c, oh*sy + i*dy, ow*sx + j*dx]``.

    Notation: ``x: (N, C, H, W)``, ``cols: (C, kh, kw, OH, OW * N)``.
    """
    n_count, channels, h, w = x.shape
    (kh, kw), (oh_count, ow_count) = kernel, out_size
    (sy, sx), (py, px), (dy, dx) = stride, padding, dilation
    run = ow_count * n_count
    for c in prange(channels):
        frame = np.zeros((h + 2 * py, (w + 2 * px) * n_count), dtype=x.dtype)
        _fill_frame(x, c, frame, padding)
        for i in range(kh):
            for j in range(kw):
                for oh in range(oh_count):
                    src, dst = frame[oh * sy + i * dy], cols[c, i, j, oh]
                    if sx == 1:                  # the whole output row is one run
                        start = j * dx * n_count
                        for e in range(run):
                            dst[e] = src[start + e]
                    else:
                        for ow in range(ow_count):
                            start = (ow * sx + j * dx) * n_count
                            for n in range(n_count):
                                dst[ow * n_count + n] = src[start + n]


@njit(parallel=True, cache=True)
def _col2im(gcols, gx, kernel, out_size, stride, padding, dilation):
    """The adjoint of :func:`_im2col`: ``gx[n, c, r, q]`` = the sum of the ``gcols`` entries
    that im2col copied from ``x_pad[n, c, py + r, px + q]``."""
    n_count, channels, h, w = gx.shape
    (kh, kw), (oh_count, ow_count) = kernel, out_size
    (sy, sx), (py, px), (dy, dx) = stride, padding, dilation
    run = ow_count * n_count
    for c in prange(channels):
        frame = np.zeros((h + 2 * py, (w + 2 * px) * n_count), dtype=gx.dtype)
        for i in range(kh):
            for j in range(kw):
                for oh in range(oh_count):
                    src, dst = gcols[c, i, j, oh], frame[oh * sy + i * dy]
                    if sx == 1:
                        start = j * dx * n_count
                        for e in range(run):
                            dst[start + e] += src[e]
                    else:
                        for ow in range(ow_count):
                            start = (ow * sx + j * dx) * n_count
                            for n in range(n_count):
                                dst[start + n] += src[ow * n_count + n]
        for n in range(n_count):
            for r in range(h):
                for q in range(w):
                    gx[n, c, r, q] = frame[py + r, (px + q) * n_count + n]


@njit(parallel=True, cache=True)
def _batch_last(a, out):
    """``out[f, p, n] = a[n, f, p]``: ``(N, F, P)`` -> ``(F, P, N)``."""
    n_count, f_count, p_count = a.shape
    for f in prange(f_count):
        for n in range(n_count):
            for p in range(p_count):
                out[f, p, n] = a[n, f, p]


@njit(parallel=True, cache=True)
def _batch_first(a, out):
    """``out[n, f, p] = a[f, p, n]``: ``(F, P, N)`` -> ``(N, F, P)``."""
    f_count, p_count, n_count = a.shape
    for f in prange(f_count):
        for p in range(p_count):
            for n in range(n_count):
                out[n, f, p] = a[f, p, n]


# --- layouts --------------------------------------------------------------------------------

def _geometry(stride, padding, dilation):
    """The pairs as tuples of ints: one Numba specialisation whatever the caller passed."""
    return tuple(tuple(int(v) for v in pair) for pair in (stride, padding, dilation))


def _im2col_groups(x, kernel, out_size, geometry, groups):
    """``x: (N, C, H, W)`` -> ``cols: (G, C/G*kh*kw, OH*OW*N)``."""
    n, c = x.shape[:2]
    (kh, kw), (oh, ow) = kernel, out_size
    cols = np.empty((c, kh, kw, oh, ow * n), dtype=x.dtype)
    with one_thread_below(cols.size, SERIAL_BELOW):
        _im2col(np.ascontiguousarray(x), cols, kernel, out_size, *geometry)
    return cols.reshape(groups, -1, oh * ow * n)


def _to_batch_last(a):
    """``(N, F, OH, OW)`` -> ``(F, OH*OW*N)`` (a view at batch 1)."""
    n, f = a.shape[:2]
    a = np.ascontiguousarray(a).reshape(n, f, -1)
    if n == 1:
        return a.reshape(f, -1)
    out = np.empty((f, a.shape[2], n), dtype=a.dtype)
    with one_thread_below(a.size, SERIAL_BELOW):
        _batch_last(a, out)
    return out.reshape(f, -1)


def _to_batch_first(a, shape):
    """``(F, OH*OW*N)`` -> ``shape (N, F, OH, OW)`` (a view at batch 1)."""
    n, f = shape[:2]
    if n == 1:
        return a.reshape(shape)
    out = np.empty(shape, dtype=a.dtype)
    with one_thread_below(a.size, SERIAL_BELOW):
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
    (kh, kw), (oh, ow) = kernel, out_size
    with one_thread_below(gcols.size, SERIAL_BELOW):
        _col2im(gcols.reshape(c, kh, kw, oh, ow * n), gx, kernel, out_size,
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
