"""The direct sparse convolution's data movement, in parallel: into its frame and out of it.

``core.geometry.conv_frame`` defines the frame: the input padded, split into stride phases
and stored batch-innermost, ``(sy, sx, C, Hq, Wq, N)`` flat, then zero slack. The kernel's
output comes back batch-innermost too, ``(F, OH, Wq, N)`` with ``Wq - OW`` columns of
overhang per row. Each copy is one pass on Numba's threads, over input channels / output
rows:

* one image at stride 1 (batch-1 inference, the common case): every row is a contiguous
  slice copy, which LLVM vectorises -- a loop over four-dimensional indices ran at ~3
  cycles per pixel, 0.1 ms for a 384-channel 13x13 input, a sixth of the sparse products
  on it at 0.9 sparsity;
* a batch (or a stride): images interleave, groups of 8 images moved 8 pixels at a time
  as 8 x 8 blocks transposed in registers (``simd.transpose8``; 3x faster than a loop per
  pixel on VGG-CIFAR's planes at batch 16, both ways).

The two cases are separate kernels: Numba compiles a kernel on its first call, and a
process that only ever infers single images then compiles only the simple pair (the
batch kernels take seconds more to compile).
"""

import numpy as np
from numba import njit, prange

from .simd import transpose8

#: images per block of the batch-innermost copies (``simd.transpose8`` moves 8 x 8)
GROUP = 8


@njit(parallel=True, cache=True)
def _fill_frame_one(x, py, px, hq, wq, frame):
    """``frame[...] = conv_frame(x, ...)`` for one image at stride 1 (``frame`` flat, its
    slack included). The slice copies stay in this loop: passed to a helper, or beside a
    strided slice copy, the whole loop ran 2x slower."""
    _, c, h, w = x.shape
    plane = hq * wq
    for ch in prange(c):
        base = ch * plane
        frame[base:base + plane] = 0.0
        for i in range(h):
            start = base + (py + i) * wq + px
            frame[start:start + w] = x[0, ch, i]
    frame[c * plane:] = 0.0


@njit(parallel=True, cache=True)
def _fill_frame(x, sy, sx, py, px, hq, wq, frame):
    """``frame[...] = conv_frame(x, ...)``, any batch and stride."""
    n, c, h, w = x.shape
    flat = x.reshape(-1)
    plane = hq * wq * n
    size = sy * sx * c * plane
    for ch in prange(c):
        for a in range(sy):
            for b in range(sx):
                base = ((a * sx + b) * c + ch) * plane
                frame[base:base + plane] = 0.0
                # input row h lands on padded row h + py: phase (h + py) % sy, plane row // sy
                h0, w0 = (a - py) % sy, (b - px) % sx
                u0, v0 = (h0 + py) // sy, (w0 + px) // sx
                cols = max((w - w0 + sx - 1) // sx, 0)
                for i in range((h - h0 + sy - 1) // sy):
                    _interleave_row(flat, (n, c, h, w), (ch * h + h0 + i * sy) * w + w0, sx,
                                    cols, frame, base + ((u0 + i) * wq + v0) * n)
    frame[size:] = 0.0


@njit(cache=True)
def _interleave_row(flat, shape, first, sx, cols, frame, start):
    """``frame[start + j*N + m] = x[m, ...][first + j*sx]`` for ``j < cols``: one input
    row of every image, batch-innermost (``flat``: ``x`` flat; ``first``: the row's first
    pixel within an image), in groups of 8 images through :func:`simd.transpose8` where the
    pixels are contiguous (stride 1)."""
    n, image = shape[0], shape[1] * shape[2] * shape[3]
    groups = n // GROUP * GROUP if sx == 1 and cols >= GROUP else 0
    blocks = cols // GROUP * GROUP
    for m0 in range(0, groups, GROUP):
        for j0 in range(0, blocks, GROUP):
            transpose8(flat, np.uint64(m0 * image + first + j0), np.uint64(image), frame,
                       np.uint64(start + j0 * n + m0), np.uint64(n))
        for j in range(blocks, cols):
            for m in range(m0, m0 + GROUP):
                frame[start + j * n + m] = flat[m * image + first + j]
    for m in range(groups, n):
        for j in range(cols):
            frame[start + j * n + m] = flat[m * image + first + j * sx]


def conv_frame(x, stride, padding, plane_hw, slack):
    """``core.geometry.conv_frame`` on Numba's threads (``x`` float32, C-contiguous)."""
    n, c = x.shape[:2]
    (sy, sx), (py, px), (hq, wq) = stride, padding, plane_hw
    frame = np.empty((sy * sx * c * hq * wq + slack) * n, dtype=np.float32)
    x = _read_only(np.ascontiguousarray(x, dtype=np.float32))
    if n == 1 and sy == sx == 1:
        _fill_frame_one(x, py, px, hq, wq, frame)
    else:
        _fill_frame(x, sy, sx, py, px, hq, wq, frame)
    return frame


def _read_only(x):
    """``x`` as a read-only view. Numba compiles a kernel once per argument type, and
    read-only is part of an array's type: a network's first layer reads the caller's
    batch, which ``paddle.infer`` feeds read-only, every other layer a writable array.
    Giving the kernel read-only views only compiles it once (1.5 s on a 2-core VM)."""
    view = x.view()
    view.flags.writeable = False
    return view


@njit(parallel=True, cache=True)
def _unframe_one(out, oh, ow, wq, y):
    """``y[0, f, i, j] = out[f, i * wq + j]`` for ``j < ow``: a slice per output row, into
    ``y`` flat (assigning to the row views ``y[0, f, i]`` compiled 3x longer and ran
    slower)."""
    flat = y.reshape(-1)
    for f in prange(y.shape[1]):
        for i in range(oh):
            to = (f * oh + i) * ow
            flat[to:to + ow] = out[f, i * wq:i * wq + ow]


@njit(parallel=True, cache=True)
def _unframe(out, oh, ow, wq, y):
    """``y[m, f, i, j] = out[f, (i * wq + j) * N + m]`` for ``j < ow``: groups of 8 images
    through :func:`simd.transpose8` where rows hold 8 pixels or more, a loop per pixel for
    the rest."""
    n, rows = y.shape[0], y.shape[1]
    flat = y.reshape(-1)
    image = rows * oh * ow
    groups = n // GROUP * GROUP if ow >= GROUP else 0
    blocks = ow // GROUP * GROUP
    for f in prange(rows):
        source = out[f]
        for i in range(oh):
            at, to = i * wq * n, (f * oh + i) * ow
            for m0 in range(0, groups, GROUP):
                for j0 in range(0, blocks, GROUP):
                    transpose8(source, np.uint64(at + j0 * n + m0), np.uint64(n), flat,
                               np.uint64(m0 * image + to + j0), np.uint64(image))
                for j in range(blocks, ow):
                    for m in range(m0, m0 + GROUP):
                        flat[m * image + to + j] = source[at + j * n + m]
        for m in range(groups, n):
            target = y[m, f]
            for i in range(oh):
                for j in range(ow):
                    target[i, j] = source[(i * wq + j) * n + m]


def unframe(out, n, oh, ow, wq):
    """The kernel's ``out: (F, >= OH * Wq * N)`` as the layer's ``(N, F, OH, OW)``."""
    y = np.empty((n, out.shape[0], oh, ow), dtype=np.float32)
    (_unframe_one if n == 1 else _unframe)(out, oh, ow, wq, y)
    return y
