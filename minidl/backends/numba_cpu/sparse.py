"""Numba kernels for sparse inference: ``csr_matmul`` and ``direct_sparse_conv2d``.

Same signatures as the references in ``backends/numpy_ref/sparse.py`` (read that module
for the layouts). Both ops are served by two loops over the CSR rows, in parallel:

* :func:`_rows_dot` -- one dot product per row (``csr_matmul`` at batch 1). A batch-1 fc
  layer is memory bound: the win over dense is the byte ratio of the two formats, so
  ``minidl.sparse.layout`` stores column indices as uint16 where they fit (6 bytes per
  nonzero instead of 8).
* :func:`_rows_runs` -- every nonzero multiply-adds a contiguous run of the input into the
  output row: ``out[f, t] += values[j] * frame[indices[j] * pitch + t]``. That is the
  direct sparse convolution (the run is an output plane, ``OH * Wq * N`` values) and also
  the batched CSR product (``frame = x.T``, the run is the batch). The run is cut into
  chunks that stay in L1 while all the row's nonzeros stream through it.

Choices that matter for speed (measured, see benchmarks/README.md):

* Index arithmetic is unsigned (uint32 arrays, ``np.uint64`` offsets, ``range(0, n)``):
  with signed indices Numba emits negative-index wraparound code on every access, which
  made these loops several times slower.
* Four nonzeros are folded into one pass over the run: one load and one store of the
  output per four multiply-adds instead of per one, so the loop is bound by loads rather
  than by stores (1.5-1.7x faster than one nonzero per pass; eight per pass, and blocking
  the input channels for L1, were both slower on AMD Zen 3).
* The optional bias is passed as an empty array and ReLU as a flag, not as None: a None
  would make Numba compile a second specialisation of every loop.

Numba does not check bounds: the column indices must lie inside ``x`` / the frame, as the
layouts of ``minidl.sparse.layout`` do. Short runs (output planes of 2x2 or 4x4 at batch 1)
leave the vector loop too little to do; dense wins there, and ``sparse='auto'`` sees it.
"""

import numpy as np
from numba import njit, prange

from ..numpy_ref.sparse import check_csr, conv_frame, conv_frame_geometry
from ..registry import register
from .threads import one_thread_below

#: output values of one row kept in L1 while the row's nonzeros stream through
CHUNK = 2048
#: below this many multiply-adds a product runs on the calling thread alone: waking the
#: other threads costs more than it saves (and far more on a loaded machine)
SERIAL_BELOW = 1 << 15
#: the same for the batch-1 dot kernel, whose multiply-adds are cheap gathers (~0.5 ns
#: each): waking Numba's sleeping workers costs ~0.1 ms (``threads.py``), so a 4096x4096
#: product at 0.99 (168 k nonzeros) took 0.15 ms on two threads and 0.07-0.10 ms on one;
#: two threads win from ~600 k nonzeros on
SERIAL_DOT_BELOW = 1 << 19

_NO_BIAS = np.zeros(0, dtype=np.float32)


@njit(parallel=True, fastmath=True, cache=True)
def _rows_dot(indptr, indices, values, x, bias, relu, out):
    """``out[f] = relu(bias[f] + sum_j values[j] * x[indices[j]])`` over the rows of row f."""
    has_bias = bias.shape[0] > 0
    for f in prange(out.shape[0]):
        acc = np.float32(0.0)
        for j in range(indptr[f], indptr[f + 1]):  # uint32 bounds: an unsigned loop
            acc += values[j] * x[indices[j]]
        if has_bias:
            acc += bias[f]
        if relu and acc < 0:
            acc = np.float32(0.0)
        out[f] = acc


@njit(parallel=True, fastmath=True, cache=True)
def _rows_runs(indptr, indices, values, frame, pitch, bias, relu, out):
    """``out[f, t] = relu(bias[f] + sum_j values[j] * frame[indices[j] * pitch + t])``.

    Notation: ``out: (F, run)``; ``frame`` flat, long enough for every nonzero's run.
    """
    rows, run = out.shape
    has_bias = bias.shape[0] > 0
    step = np.uint64(pitch)
    zero, one = np.uint64(0), np.uint64(1)
    for f in prange(rows):
        lo, hi = np.uint64(indptr[f]), np.uint64(indptr[f + 1])
        start = bias[f] if has_bias else np.float32(0.0)
        for first in range(0, run, CHUNK):
            c0 = np.uint64(first)
            n = np.uint64(min(CHUNK, run - first))
            o = out[f]
            for t in range(zero, n):
                o[c0 + t] = start
            j = lo
            while j + np.uint64(4) <= hi:
                v0, v1 = values[j], values[j + one]
                v2, v3 = values[j + np.uint64(2)], values[j + np.uint64(3)]
                b0 = indices[j] * step + c0
                b1 = indices[j + one] * step + c0
                b2 = indices[j + np.uint64(2)] * step + c0
                b3 = indices[j + np.uint64(3)] * step + c0
                for t in range(zero, n):
                    o[c0 + t] += (v0 * frame[b0 + t] + v1 * frame[b1 + t]
                                  + v2 * frame[b2 + t] + v3 * frame[b3 + t])
                j += np.uint64(4)
            while j < hi:
                v0, b0 = values[j], indices[j] * step + c0
                for t in range(zero, n):
                    o[c0 + t] += v0 * frame[b0 + t]
                j += one
            if relu:
                for t in range(zero, n):
                    o[c0 + t] = max(o[c0 + t], np.float32(0.0))


#: runs up to this long (a 2x2 output plane at batch 1: 2 rows of 4 padded pixels) go
#: through :func:`_rows_run8`
SHORT_RUN = 8


@njit(parallel=True, fastmath=True, cache=True)
def _rows_run8(indptr, indices, values, frame, pitch, bias, relu, out):
    """:func:`_rows_runs` for runs of at most 8 values, kept in 8 accumulators.

    Notation: ``out: (F, 8)`` (values past the real run are garbage the caller drops);
    ``frame`` readable 8 values past every nonzero's start. With runs this short the
    general loop's vector body is never entered (LLVM unrolls it to 32 values), so every
    multiply-add went through its scalar remainder; eight named accumulators are packed
    into one AVX register by LLVM's SLP vectoriser and stay there over the row's nonzeros
    (2x2 planes of VGG-CIFAR: 2x faster). Wider blocks (16, 24, 32) were not packed and
    ran slower than the general loop.
    """
    has_bias = bias.shape[0] > 0
    step = np.uint64(pitch)
    for f in prange(out.shape[0]):
        start = bias[f] if has_bias else np.float32(0.0)
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = start
        for j in range(np.uint64(indptr[f]), np.uint64(indptr[f + 1])):
            v, b = values[j], indices[j] * step
            a0 += v * frame[b]
            a1 += v * frame[b + np.uint64(1)]
            a2 += v * frame[b + np.uint64(2)]
            a3 += v * frame[b + np.uint64(3)]
            a4 += v * frame[b + np.uint64(4)]
            a5 += v * frame[b + np.uint64(5)]
            a6 += v * frame[b + np.uint64(6)]
            a7 += v * frame[b + np.uint64(7)]
        o = out[f]
        o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7] = a0, a1, a2, a3, a4, a5, a6, a7
        if relu:
            for t in range(8):
                o[t] = max(o[t], np.float32(0.0))


def _checked(indptr, indices, values, bias, what):
    """The arrays as the kernels take them (uint32/uint16 indices, float32, an empty bias
    for none), or the reference's ValueError."""
    check_csr(indptr, indices, values, bias, what)
    if indices.dtype not in (np.uint16, np.uint32):
        indices = indices.astype(np.uint32)
    bias = _NO_BIAS if bias is None else np.ascontiguousarray(bias, dtype=np.float32).ravel()
    return (np.ascontiguousarray(indptr, dtype=np.uint32), np.ascontiguousarray(indices),
            np.ascontiguousarray(values, dtype=np.float32), bias)


@register("csr_matmul", backend="cpu")
def csr_matmul(indptr, indices, values, x, bias=None, relu=False):
    """``y = x @ W.T (+ bias) (then ReLU)``; see the reference for the notation."""
    indptr, indices, values, bias = _checked(indptr, indices, values, bias, "csr_matmul")
    rows, (n, _) = len(indptr) - 1, x.shape
    x = np.asarray(x, dtype=np.float32)
    with one_thread_below(int(indptr[-1]) * n, SERIAL_DOT_BELOW if n == 1 else SERIAL_BELOW):
        if n == 1:
            out = np.empty(rows, dtype=np.float32)
            _rows_dot(indptr, indices, values, np.ascontiguousarray(x[0]), bias, bool(relu),
                      out)
            return out.reshape(1, rows)
        out = np.empty((rows, n), dtype=np.float32)
        # x.T flat: the n samples of one input feature are one contiguous run
        _rows_runs(indptr, indices, values, np.ascontiguousarray(x.T).reshape(-1), n, bias,
                   bool(relu), out)
    return np.ascontiguousarray(out.T)


@register("direct_sparse_conv2d", backend="cpu")
def direct_sparse_conv2d(x, indptr, indices, values, filter_size, stride, padding, dilation,
                         bias=None, relu=False):
    """Direct sparse convolution (Park et al.); see the reference for the notation."""
    indptr, indices, values, bias = _checked(indptr, indices, values, bias,
                                             "direct_sparse_conv2d")
    rows = len(indptr) - 1
    x = np.asarray(x, dtype=np.float32)
    n = x.shape[0]
    oh, ow, hq, wq = conv_frame_geometry(x.shape[2:], filter_size, stride, padding, dilation)
    run = oh * wq * n
    # a run goes Wq pixels past a row's last output column: Wq pixels of slack (and
    # _rows_run8 reads up to 8 values from a run's start)
    frame = conv_frame(x, stride, padding, (hq, wq), slack=wq + SHORT_RUN)
    short = run <= SHORT_RUN
    out = np.empty((rows, SHORT_RUN if short else run), dtype=np.float32)
    with one_thread_below(int(indptr[-1]) * run, SERIAL_BELOW):
        loop = _rows_run8 if short else _rows_runs
        loop(indptr, indices, values, frame, n, bias, bool(relu), out)
    out = out[:, :run].reshape(rows, oh, wq, n)[:, :, :ow, :]
    return np.ascontiguousarray(out.transpose(3, 0, 1, 2))
