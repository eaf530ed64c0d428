"""Dense convolution one image at a time: im2col + GEMM per image, for batches of large images.

Same arguments as the kernels in ``conv.py`` (and the reference, ``numpy_ref/conv.py``),
with ``geometry = (stride, padding, dilation)`` as tuples of ints and
``kernel, out_size = conv_geometry(...)``. Per image ``n``::

    cols = im2col(x[n])                 (C*kh*kw, OH*OW), reused for every image
    y[n] = W @ cols                     per group, written straight into y
    gx[n] = col2im(W.T @ gy[n])
    gW = sum_n gy[n] @ cols.T           summed as (cols @ gy[n].T), transposed once

Why not one GEMM over the whole batch (``conv.py``'s batch-innermost layout): for VGG's
32x32 layers at batch 16 the whole batch's ``cols`` is 38 MB. im2col then writes it to
memory and the GEMM reads it back, and both stall on memory bandwidth. One image's ``cols``
(2.4 MB for 64 channels at 32x32, 3x3) stays in cache between the copy that writes it and
the GEMM that reads it, each GEMM still has ``OH*OW`` >= 256 columns (OpenBLAS runs it near
full speed on both cores), and ``y`` and ``gx`` come out in ``(N, C, H, W)`` order, so the
transposing copies of the batched layout go away too. The filter gradient's product is
taken as ``cols @ gy[n].T``: OpenBLAS runs that orientation ~20 % faster for these shapes.

With at least as many images as threads, each thread convolves whole images of its own
(``conv_images.py``); with fewer (batch 1 above all) the images go one after the other and
each GEMM is cut among the threads (``gemm.py``), as below.
"""

import numpy as np

from . import conv_images
from .conv_copies import col2im, im2col
from .gemm import gemm, gemm_stack
from .gemm_scaled import gemm_scaled
from .threads import thread_count

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _image_parts(n, dtype):
    """How many threads take whole images (``conv_images.py``), or 0 where the images go one
    at a time: fewer images than threads, or a dtype BLAS does not take."""
    threads = thread_count()
    return threads if n >= threads and dtype in _FLOATS else 0


def _group_view(a, groups):
    """``(rows, P)`` -> ``(G, rows/G, P)`` (a view)."""
    return a.reshape(groups, a.shape[0] // groups, a.shape[-1])


def _rows(w, dtype):
    """``(F, C/G, kh, kw)`` -> ``(F, C/G*kh*kw)``, C-contiguous in ``dtype``."""
    return np.ascontiguousarray(w, dtype=dtype).reshape(w.shape[0], -1)


def forward(x, w, kernel, out_size, geometry, groups, scaled=None):
    """``y[n] = W @ im2col(x[n])`` per group; with ``scaled = (scale, shift, relu)`` each
    output channel ``f`` then ``* scale[f] + shift[f]`` (and the ReLU: a batch norm folded
    into the convolution), by the thread that wrote the image or its part of the GEMM
    (``gemm_scaled.py``) right after."""
    n, c = x.shape[:2]
    positions = out_size[0] * out_size[1]
    dtype = np.result_type(x, w)
    y = np.empty((n, w.shape[0], positions), dtype=dtype)
    parts = _image_parts(n, dtype)
    if parts:
        none = np.empty(0, dtype=dtype)
        scale, shift, relu = scaled if scaled is not None else (none, none, False)
        conv_images.forward(np.ascontiguousarray(x, dtype=dtype), _rows(w, dtype), y, kernel,
                            out_size, *geometry, groups, parts, scale, shift, relu,
                            scaled is not None)
        return y.reshape(n, w.shape[0], *out_size)
    x = np.ascontiguousarray(x)
    cols = np.empty((c * kernel[0] * kernel[1], positions), dtype=x.dtype)
    w_groups = w.reshape(groups, w.shape[0] // groups, -1)
    cols_groups = _group_view(cols, groups)
    for image in range(n):
        im2col(x[image:image + 1], cols, kernel, out_size, *geometry)
        out = _group_view(y[image], groups)
        if scaled is None:
            gemm_stack(w_groups, cols_groups, out=out)
            continue
        scale, shift, relu = scaled
        for group in range(groups):
            rows = slice(group * out.shape[1], (group + 1) * out.shape[1])
            gemm_scaled(w_groups[group], cols_groups[group], out[group], scale[rows],
                        shift[rows], relu)
    return y.reshape(n, w.shape[0], *out_size)


def grad_input(gy, w, input_shape, kernel, out_size, geometry, groups):
    """``gx[n] = col2im(W.T @ gy[n])`` per group."""
    n, c = input_shape[:2]
    positions = out_size[0] * out_size[1]
    dtype = np.result_type(gy, w)
    parts = _image_parts(n, dtype)
    if parts:
        gx = np.empty(input_shape, dtype=dtype)
        conv_images.grad_input(np.ascontiguousarray(gy, dtype=dtype).reshape(n, w.shape[0], -1),
                               _rows(w, dtype), gx, kernel, out_size, *geometry, groups, parts)
        return gx
    gy = np.ascontiguousarray(gy).reshape(n, w.shape[0], positions)
    w_t = w.reshape(groups, w.shape[0] // groups, -1).transpose(0, 2, 1)
    gcols = np.empty((c * kernel[0] * kernel[1], positions), dtype=np.result_type(gy, w))
    gx = np.empty(input_shape, dtype=gcols.dtype)
    for image in range(n):
        gemm_stack(w_t, _group_view(gy[image], groups), out=_group_view(gcols, groups))
        col2im(gcols.reshape(c, -1), gx[image:image + 1], kernel, out_size, *geometry)
    return gx


def grad_filter(x, gy, filter_shape, kernel, out_size, geometry, groups):
    """``gW = sum_n (im2col(x[n]) @ gy[n].T).T`` per group."""
    n, c = x.shape[:2]
    positions = out_size[0] * out_size[1]
    shape_t = (groups, c * kernel[0] * kernel[1] // groups, filter_shape[0] // groups)
    dtype = np.result_type(x, gy)
    parts = _image_parts(n, dtype)
    if parts:
        totals = np.zeros((parts,) + shape_t, dtype=dtype)
        conv_images.grad_filter(np.ascontiguousarray(x, dtype=dtype),
                                np.ascontiguousarray(gy, dtype=dtype).reshape(n, -1, positions),
                                totals, kernel, out_size, *geometry, parts)
        return np.ascontiguousarray(totals.sum(axis=0).transpose(0, 2, 1)).reshape(filter_shape)
    x = np.ascontiguousarray(x)
    gy = np.ascontiguousarray(gy).reshape(n, filter_shape[0], positions)
    cols = np.empty((c * kernel[0] * kernel[1], positions), dtype=x.dtype)
    cols_groups = _group_view(cols, groups)
    total = np.zeros(shape_t, dtype=np.result_type(x, gy))
    for image in range(n):
        im2col(x[image:image + 1], cols, kernel, out_size, *geometry)
        gy_t = _group_view(gy[image], groups).transpose(0, 2, 1)
        for group in range(groups):    # summed over the batch in BLAS (beta = 1)
            gemm(cols_groups[group], gy_t[group], total[group], accumulate=True)
    return np.ascontiguousarray(total.transpose(0, 2, 1)).reshape(filter_shape)
