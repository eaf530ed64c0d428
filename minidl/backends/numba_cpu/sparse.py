"""Numba kernels for sparse inference: ``csr_matmul`` (the convolution's are in
``sparse_conv.py``).

Same signatures as the references in ``backends/numpy_ref/sparse.py`` (read that module
for the layouts). The products are loops over the CSR rows, in parallel:

* :func:`_rows_dot` -- one dot product per row (``csr_matmul`` at batch 1). A batch-1 fc
  layer whose weight stays in cache is bound by the loads per nonzero (:data:`row_dot`
  gathers ``x`` with the CPU's gather instruction where that is fast, else makes the loads
  eight at a time and reads uint32 columns two per load, ``gather_dot.py``);
  one whose weight streams from memory is bound by bytes, so for such a layer
  ``minidl.sparse_inference.layout`` stores uint16 columns (6 bytes per nonzero, not 8).
* the batched product runs the register-block kernels of ``sparse_runs.py``
  (``csr_times_batch``: every nonzero multiply-adds the batch's values of its column, the
  frame ``x.T``; the recurrent kernels use it for batches of sequences).

Choices that matter for speed:

* Index arithmetic is unsigned (uint32 arrays, ``np.uint64`` offsets, ``range(0, n)``):
  with signed indices Numba emits negative-index wraparound code on every access, which
  makes these loops several times slower.
* The optional bias is passed as an empty array and ReLU as a flag, not as None: a None
  would make Numba compile a second specialisation of every loop.

Numba does not check bounds: the column indices must lie inside ``x``, as the layouts of
``minidl.sparse_inference.layout`` do.
"""

import llvmlite.binding as llvm
import numpy as np
from numba import njit, prange

from ...core.geometry import check_csr
from ..registry import register
from .gather_dot import gathered_dot
from .sparse_conv_blocks import WIDE_BLOCKS
from .sparse_runs import csr_times_batch
from .threads import one_thread_below, serial

#: below this many multiply-adds a product runs on the calling thread alone: waking the
#: other threads costs more than it saves (and far more on a loaded machine)
SERIAL_BELOW = 1 << 15
#: the same for the batch-1 dot kernel, whose multiply-adds are cheap gathers (~0.5 ns
#: each): waking Numba's sleeping workers costs ~0.1 ms (``threads.py``), as much as
#: ~200 k nonzeros, so two threads win only from about half a million nonzeros on
SERIAL_DOT_BELOW = 1 << 19

_NO_BIAS = np.zeros(0, dtype=np.float32)


def _hardware_gathers(avx512, cpu_name):
    """Whether the host gathers with ``vgatherdps`` faster than with inserted loads: CPUs
    with AVX-512 (``avx512``) other than AMD's, which LLVM names ``znver*`` (see
    :data:`HARDWARE_GATHERS`)."""
    return avx512 and not cpu_name.startswith("znver")


#: which batch-1 dot :func:`row_dot` is. On an Intel Xeon VM with AVX-512 (LLVM:
#: ``rocketlake``), LLVM's own vectorised loop, whose gathers are ``vgatherdps``, ran
#: 0.74-0.83x the time of ``gather_dot.gathered_dot`` on 4096x4096 weights at 0.8-0.99
#: sparsity (two threads; 25088x4096: 0.76-0.93x). On Zen 3 ``vgatherdps`` is microcoded
#: and the inserted loads win; AVX-512 AMD CPUs keep them too, not having been measured.
HARDWARE_GATHERS = _hardware_gathers(WIDE_BLOCKS, llvm.get_host_cpu_name())


@njit(fastmath={"contract"}, cache=True, inline="always")
def _inserted_dot(indptr, indices, values, x, f):
    """``sum_j values[j] * x[indices[j]]`` over the nonzeros of CSR row f, eight at a time
    (``gather_dot.gathered_dot``: 0.72-0.85x the time of four scalar partial sums on Zen
    3)."""
    return gathered_dot(indices, values, x, np.int64(indptr[f]), np.int64(indptr[f + 1]))


@njit(fastmath={"reassoc", "contract"}, cache=True, inline="always")
def _gathered_loop_dot(indptr, indices, values, x, f):
    """The same sum as a plain loop: with reassociation allowed (no other fast-math flag, so
    NaN and infinity still propagate) LLVM vectorises it, gathering ``x`` with
    ``vgatherdps``. Inlined, it takes the caller's flags: callers need ``reassoc`` too."""
    total = np.float32(0.0)
    for j in range(np.uint64(indptr[f]), np.uint64(indptr[f + 1])):
        total += values[j] * x[np.uint64(indices[j])]
    return total


#: the batch-1 dot of CSR row f, inlined (``inline="always"``) into the parallel row loops:
#: as a call per row it cost ~20 cycles a row, which at 0.99 sparsity (41 nonzeros a row of
#: 4096) made the batch-1 product 1.5x slower (4096 x 4096 on Zen 3, two threads: 63.6
#: against 40.7 us)
row_dot = _gathered_loop_dot if HARDWARE_GATHERS else _inserted_dot


@njit(parallel=True, fastmath={"reassoc", "contract"}, cache=True)
def _rows_dot(indptr, indices, values, x, bias, relu, out):
    """``out[f] = relu(bias[f] + sum_j values[j] * x[indices[j]])`` over the rows of row f.
    (An inlined function runs under its caller's fast-math flags: without ``reassoc`` here
    the gathered loop of :data:`row_dot` stays scalar, 4x slower.)"""
    has_bias = bias.shape[0] > 0
    for f in prange(out.shape[0]):
        acc = row_dot(indptr, indices, values, x, f)
        if has_bias:
            acc += bias[f]
        if relu and acc < 0:
            acc = np.float32(0.0)
        out[f] = acc


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
def csr_matmul(indptr, indices, values, x, bias=None, relu=False, check=True):
    """``y = x @ W.T (+ bias) (then ReLU)``; see the reference for the notation.

    ``check=False``: the caller vouches for the arrays -- a sparse plan's layout (uint32
    ``indptr``, uint16/uint32 ``indices`` and float32 ``values`` that agree, checked when
    it was built) and float32 ``x`` and ``bias`` -- so the checks and conversions are
    skipped: right after a kernel they cost ~4 us a call, a tenth of a 0.99-sparse
    4096 x 4096 product at batch 1."""
    if check:
        indptr, indices, values, bias = _checked(indptr, indices, values, bias, "csr_matmul")
        x = np.asarray(x, dtype=np.float32)
    elif bias is None:
        bias = _NO_BIAS
    rows, (n, _) = len(indptr) - 1, x.shape
    nnz = len(values)           # (= indptr[-1]: checked, or vouched for)
    if n == 1:
        out = np.empty((1, rows), np.float32)
        row = np.ascontiguousarray(x[0])
        if serial(nnz, SERIAL_DOT_BELOW):
            with one_thread_below(0, 1):
                _rows_dot(indptr, indices, values, row, bias, bool(relu), out[0])
        else:       # on every thread, the layer's call: no thread count to set and reset
            _rows_dot(indptr, indices, values, row, bias, bool(relu), out[0])
        return out
    with one_thread_below(nnz * n, SERIAL_BELOW):
        out = csr_times_batch(indptr, indices, values, np.ascontiguousarray(x), bias, relu)
    return np.ascontiguousarray(out.T)
