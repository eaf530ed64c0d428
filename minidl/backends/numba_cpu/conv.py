"""Dense 2-D convolution for the ``cpu`` backend: im2col + BLAS GEMMs, in one of two layouts.

Same signatures and notation as the reference (``numpy_ref/conv.py``, the definition), plus::

    cols: (G, C/G*kh*kw, OH*OW*N)   the unrolled patches ("im2col"):
          cols[g, (c, i, j), (oh, ow, n)] = x_pad[n, g*C/G + c, oh*sy + i*dy, ow*sx + j*dx]

The products are BLAS calls on Numba's threads (``gemm.py``): ``y = W @ cols``,
``gW = gy @ cols.T`` and ``gcols = W.T @ gy`` followed by col2im, the adjoint of im2col.
Numba does the copies (``conv_copies.py``). Which images one ``cols`` holds depends on their size:

* Small images (fewer than :data:`PER_IMAGE_FROM` output positions: VGG-CIFAR's 8x8 to
  2x2 blocks, any batch of one): the whole batch, batch innermost, so every product is ONE
  large GEMM per group whatever the batch size, and the copies move runs of ``OW * N``
  contiguous values instead of ``OW``: on 4x4 and 2x2 images, runs of 4 or 2 values would
  cost more in loop overhead than in copying. ``y`` goes from ``(F, OH*OW, N)`` to
  ``(N, F, OH, OW)`` in a tiled copy (NumPy's transposing copy takes up to 3x longer);
  ``gy`` the other way in NumPy, which does as well there. At batch 1 the layouts agree
  and nothing is copied.
* Large images: image by image (``conv_per_image.py``; each thread takes whole images
  of its own where there are enough): the whole batch's ``cols`` would be tens of MB, and
  the copy writing it and the GEMM reading it back would wait on memory; one image's stays
  in cache, and no transposing copy is needed.

The batch-wide copies run on the calling thread: as parallel loops they were slower. With
the products in OpenBLAS's own threads, waking Numba's sleeping workers for a parallel copy
stalled each call by ~8 ms on two cores (the VGG-16-CIFAR conv stack took 573 ms with
parallel copies, 240-310 ms with serial ones, ``benchmarks/dense_conv.py``); with every
product on Numba's threads, im2col as a parallel loop over channels still made the
forward of VGG-CIFAR's 64x32x32 -> 64 layer at batch 16 take 14.8 ms instead of 12.2.

1x1 filters at stride 1 without padding (MobileNet's pointwise layers) need no im2col: the
convolution is ``y[n] = W @ x[n]``, a GEMM per image straight on the input.
"""

import numpy as np

from ...core.geometry import conv_geometry
from ..registry import register
from . import conv_per_image as per_image
from .conv_copies import batch_first, col2im, im2col
from .gemm import gemm, gemm_stack

#: batches whose images have at least this many output positions (VGG-CIFAR's 32x32 and
#: 16x16 layers) are convolved one image at a time (``conv_per_image.py``). Below it the
#: whole batch is faster: per-image GEMMs run ~20 % slower with fewer columns, the copies'
#: runs of ``OW`` values get short, and the per-image calls add up. (One thread, forward +
#: both gradients at batch 16, per image / whole batch: 64x32x32 -> 64, 50 / 83 ms;
#: 128x16x16 -> 128, 44 / 57 ms; 256x8x8 -> 256, 32 / 23 ms; 384x13x13 -> 384, 266 / 204 ms.)
PER_IMAGE_FROM = 256

# --- layouts --------------------------------------------------------------------------------

def geometry_ints(stride, padding, dilation):
    """The pairs as tuples of ints: one Numba specialisation whatever the caller passed."""
    return tuple(tuple(int(v) for v in pair) for pair in (stride, padding, dilation))


def im2col_groups(x, kernel, out_size, geometry, groups):
    """``x: (N, C, H, W)`` -> ``cols: (G, C/G*kh*kw, OH*OW*N)``."""
    n, c = x.shape[:2]
    (kh, kw), (oh, ow) = kernel, out_size
    cols = np.empty((c * kh * kw, oh * ow * n), dtype=x.dtype)
    im2col(np.ascontiguousarray(x), cols, kernel, out_size, *geometry)
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
    batch_first(a.reshape(f, -1, n), out.reshape(n, f, -1))
    return out


def is_pointwise(filter_shape, stride, padding, groups):
    """1x1 filters, stride 1, no padding, one group: ``y[n] = W @ x[n]`` (dilation does not
    matter for a 1x1 filter)."""
    return (tuple(filter_shape[2:]) == (1, 1) and tuple(stride) == (1, 1)
            and tuple(padding) == (0, 0) and groups == 1)


def goes_per_image(n, out_size):
    """Whether a batch of ``n`` images goes through ``conv_per_image.py``."""
    return n > 1 and out_size[0] * out_size[1] >= PER_IMAGE_FROM


def _by_group(w, groups):
    """``(F, C/G, kh, kw)`` -> ``(G, F/G, C/G*kh*kw)`` (a view)."""
    return w.reshape(groups, w.shape[0] // groups, -1)


# --- the kernels ----------------------------------------------------------------------------

@register("conv2d_forward", backend="cpu")
def conv2d_forward(x, w, stride, padding, dilation, groups):
    """``y = W @ im2col(x)`` per group; see the reference for the definition."""
    kernel, (oh, ow) = conv_geometry(x.shape, w.shape, stride, padding, dilation, groups)
    n, c = x.shape[:2]
    if n == 0:                  # (the layouts below reshape with -1)
        return np.empty((0, w.shape[0], oh, ow), dtype=np.result_type(x, w))
    if is_pointwise(w.shape, stride, padding, groups):
        return gemm_stack(w.reshape(-1, c), x.reshape(n, c, oh * ow)).reshape(n, -1, oh, ow)
    geometry = geometry_ints(stride, padding, dilation)
    if goes_per_image(n, (oh, ow)):
        return per_image.forward(x, w, kernel, (oh, ow), geometry, groups)
    cols = im2col_groups(x, kernel, (oh, ow), geometry, groups)
    y = gemm_stack(_by_group(w, groups), cols)                   # (G, F/G, OH*OW*N)
    return _to_batch_first(y, (n, w.shape[0], oh, ow))


@register("conv2d_grad_input", backend="cpu")
def conv2d_grad_input(gy, w, input_shape, stride, padding, dilation, groups):
    """``col2im(W.T @ gy)`` per group."""
    kernel, out_size = conv_geometry(input_shape, w.shape, stride, padding, dilation, groups)
    n, c, h, wd = input_shape
    if n == 0:
        return np.zeros(input_shape, dtype=np.result_type(gy, w))
    if is_pointwise(w.shape, stride, padding, groups):
        return gemm_stack(w.reshape(-1, c).T, gy.reshape(n, -1, h * wd)).reshape(input_shape)
    geometry = geometry_ints(stride, padding, dilation)
    if goes_per_image(n, out_size):
        return per_image.grad_input(gy, w, input_shape, kernel, out_size, geometry, groups)
    gy_groups = _to_batch_last(gy).reshape(groups, w.shape[0] // groups, -1)
    gcols = gemm_stack(_by_group(w, groups).transpose(0, 2, 1), gy_groups)
    gx = np.empty(input_shape, dtype=gcols.dtype)
    col2im(gcols.reshape(c, -1), gx, kernel, out_size, *geometry)
    return gx


@register("conv2d_grad_filter", backend="cpu")
def conv2d_grad_filter(x, gy, filter_shape, stride, padding, dilation, groups):
    """``gy @ im2col(x).T`` per group (im2col recomputed, not kept from the forward)."""
    kernel, out_size = conv_geometry(x.shape, filter_shape, stride, padding, dilation, groups)
    if x.shape[0] == 0:         # nothing to sum
        return np.zeros(filter_shape, dtype=np.result_type(x, gy))
    if is_pointwise(filter_shape, stride, padding, groups):
        n, c, h, wd = x.shape
        gw = np.zeros((filter_shape[0], c), dtype=np.result_type(gy, x))
        for image in range(n):     # summed over the batch in BLAS (beta = 1)
            gemm(gy[image].reshape(-1, h * wd), x[image].reshape(c, h * wd).T, gw,
                 accumulate=True)
        return gw.reshape(filter_shape)
    geometry = geometry_ints(stride, padding, dilation)
    if goes_per_image(x.shape[0], out_size):
        return per_image.grad_filter(x, gy, filter_shape, kernel, out_size, geometry, groups)
    cols = im2col_groups(x, kernel, out_size, geometry, groups)
    gy_groups = _to_batch_last(gy).reshape(groups, filter_shape[0] // groups, -1)
    return gemm_stack(gy_groups, cols.transpose(0, 2, 1)).reshape(filter_shape)
