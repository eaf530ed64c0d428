"""Dense convolution of large images, each thread convolving whole images of its own.

The loops of ``conv_per_image.py`` (im2col, one GEMM per group, col2im per image) run in a
Numba parallel loop over ``parts``: part ``t`` takes images ``t, t + parts, ...`` with its
own ``cols`` buffer and calls BLAS on its own thread (``gemm.blas_part``). Cutting each
image's GEMM across the threads instead, as ``gemm.gemm`` does, left the copies on one
thread and gave each thread a GEMM of half the columns: VGG-CIFAR's 64x32x32 -> 64 layer
at batch 16 (Intel Xeon, two threads), forward 13.6 -> 8.3 ms, input gradient 12.4 -> 6.5,
filter gradient 11.0 -> 6.9. Small images keep ``conv.py``'s one batch-wide GEMM: there the
per-image GEMMs have too few columns (256x8x8 layer: 17 ms batch-wide, 22 ms this way).

Arrays are C-contiguous, one float dtype; ``w2 (F, C/G*kh*kw)``; ``y``, ``gy``:
``(N, F, OH*OW)``. ``parts >= 1`` may exceed the thread count (the loop shares them out).
"""

import numpy as np
from numba import njit, prange

from .conv_copies import col2im, im2col
from .gemm import OP_N, OP_T, address, blas_part
from .loops import scale_shift


@njit(parallel=True, cache=True)
def forward(x, w2, y, kernel, out_size, stride, padding, dilation, groups, parts, scale, shift,
            relu, scaled):
    """``y[n] = W @ im2col(x[n])`` per group; with ``scaled``, each output channel ``f``
    then ``* scale[f] + shift[f]`` (and the ReLU when ``relu``) while the image is in cache."""
    f, ckg = w2.shape
    fg, positions, item = f // groups, y.shape[2], y.itemsize
    for t in prange(parts):
        cols = np.empty((ckg * groups, positions), dtype=y.dtype)
        for image in range(t, x.shape[0], parts):
            im2col(x[image:image + 1], cols, kernel, out_size, stride, padding, dilation)
            for g in range(groups):
                blas_part(address(w2) + g * fg * ckg * item,
                          address(cols) + g * ckg * positions * item,
                          address(y[image]) + g * fg * positions * item,
                          fg, positions, ckg, OP_N, ckg, OP_N, positions, positions, item, 0.0)
            if scaled:
                for r in range(f):
                    scale_shift(y[image, r], positions, scale[r], shift[r], relu)


@njit(parallel=True, cache=True)
def grad_input(gy, w2, gx, kernel, out_size, stride, padding, dilation, groups, parts):
    """``gx[n] = col2im(W.T @ gy[n])`` per group."""
    f, ckg = w2.shape
    fg, positions, item = f // groups, gy.shape[2], gx.itemsize
    channels = gx.shape[1]
    for t in prange(parts):
        gcols = np.empty((ckg * groups, positions), dtype=gx.dtype)
        for image in range(t, gy.shape[0], parts):
            for g in range(groups):
                blas_part(address(w2) + g * fg * ckg * item,
                          address(gy[image]) + g * fg * positions * item,
                          address(gcols) + g * ckg * positions * item,
                          ckg, positions, fg, OP_T, ckg, OP_N, positions, positions, item, 0.0)
            col2im(gcols.reshape(channels, -1), gx[image:image + 1], kernel, out_size, stride,
                   padding, dilation)


@njit(parallel=True, cache=True)
def grad_filter(x, gy, totals, kernel, out_size, stride, padding, dilation, parts):
    """``totals[t, g] += im2col(x[n])_g @ gy[n]_g.T`` over part ``t``'s images: ``totals``
    ``(parts, G, C/G*kh*kw, F/G)``, zeros on entry; the caller sums the parts."""
    groups, ckg, fg = totals.shape[1], totals.shape[2], totals.shape[3]
    positions, item = gy.shape[2], totals.itemsize
    for t in prange(parts):
        cols = np.empty((ckg * groups, positions), dtype=totals.dtype)
        for image in range(t, x.shape[0], parts):
            im2col(x[image:image + 1], cols, kernel, out_size, stride, padding, dilation)
            for g in range(groups):    # summed over the part's images in BLAS (beta = 1)
                blas_part(address(cols) + g * ckg * positions * item,
                          address(gy[image]) + g * fg * positions * item,
                          address(totals[t, g]), ckg, fg, positions, OP_N, positions, OP_T,
                          positions, fg, item, 1.0)
