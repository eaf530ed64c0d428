"""The batch-1 CSR product over packed nonzeros: ``csr_matvec_packed`` for the ``cpu`` backend.

``sparse.row_dot`` makes three loads per nonzero (its value, its column, the input there)
and runs at about one nonzero per cycle per core, bound by the load ports, not by memory,
when the weight is in cache. Packing each nonzero's value and column into one uint64
(``layout.pack_nonzeros``) makes it two loads, and eight partial sums instead of four keep
more of them in flight: on Zen 5, 15-30 % faster on cache-resident weights (4096 x 4096
and 1024 x 4096 at 0.9 sparsity: 0.24 against 0.28 ms, 0.066 against 0.085 ms on two
threads). On Zen 3 (AVX2), with both row loops inlined, the two are within 10 % of each
other either way. It moves 8 bytes per nonzero instead of 6, so a weight that streams from
memory is slower this way (25088 x 4096 at 0.9: 5.0 against 3.3 ms): the layout packs
only weights that fit in cache.
"""

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from ...core.geometry import check_csr
from ..registry import register
from .sparse import SERIAL_DOT_BELOW, SERIAL_BELOW, _NO_BIAS
from .threads import one_thread_below, serial


@intrinsic
def _value_bits(typingctx, packed):
    """The float32 whose bits are the low 32 bits of ``packed`` (a uint64)."""
    if packed != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(builder.trunc(args[0], ir.IntType(32)), ir.FloatType())

    return types.float32(types.uint64), codegen


@njit(fastmath={"contract"}, cache=True, inline="always")
def packed_row_dot(indptr, packed, x, f):
    """``sum_j value_j * x[column_j]`` over the packed nonzeros of CSR row f: eight
    partial sums, one load per nonzero for its value and column. Inlined into the row
    loops, as ``sparse.row_dot`` (a call per row: 4096 x 4096 at 0.99 in 1.4x the time)."""
    lo, hi = np.int64(indptr[f]), np.int64(indptr[f + 1])
    high = np.uint64(32)
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = np.float32(0.0)
    j = lo
    while j + 8 <= hi:
        p0, p1, p2, p3 = packed[j], packed[j + 1], packed[j + 2], packed[j + 3]
        p4, p5, p6, p7 = packed[j + 4], packed[j + 5], packed[j + 6], packed[j + 7]
        a0 += _value_bits(p0) * x[p0 >> high]
        a1 += _value_bits(p1) * x[p1 >> high]
        a2 += _value_bits(p2) * x[p2 >> high]
        a3 += _value_bits(p3) * x[p3 >> high]
        a4 += _value_bits(p4) * x[p4 >> high]
        a5 += _value_bits(p5) * x[p5 >> high]
        a6 += _value_bits(p6) * x[p6 >> high]
        a7 += _value_bits(p7) * x[p7 >> high]
        j += 8
    while j < hi:
        p0 = packed[j]
        a0 += _value_bits(p0) * x[p0 >> high]
        j += 1
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))


@njit(parallel=True, fastmath={"contract"}, cache=True)
def _packed_rows_dot(indptr, packed, x, bias, relu, out):
    has_bias = bias.shape[0] > 0
    for f in prange(out.shape[0]):
        acc = packed_row_dot(indptr, packed, x, f)
        if has_bias:
            acc += bias[f]
        if relu and acc < 0:
            acc = np.float32(0.0)
        out[f] = acc


@register("csr_matvec_packed", backend="cpu")
def csr_matvec_packed(indptr, packed, x, bias=None, relu=False, check=True):
    """``y = x @ W.T (+ bias) (then ReLU)`` over packed nonzeros; see the reference.

    ``check=False``: the caller vouches for the arrays -- a sparse plan's layout (uint32
    ``indptr`` and uint64 ``packed`` that agree, checked when it was built) and float32
    ``x`` and ``bias`` -- so the checks and conversions are skipped: right after a kernel
    they cost ~4 us a call, a tenth of a 0.99-sparse 4096 x 4096 product."""
    if check:
        check_csr(indptr, packed, packed, bias, "csr_matvec_packed")
        indptr = np.ascontiguousarray(indptr, dtype=np.uint32)
        packed = np.ascontiguousarray(packed, dtype=np.uint64)
        bias = None if bias is None else np.ascontiguousarray(bias, dtype=np.float32).ravel()
        x = np.asarray(x, dtype=np.float32)
    bias = _NO_BIAS if bias is None else bias
    n, rows, nnz = x.shape[0], len(indptr) - 1, len(packed)
    out = np.empty((n, rows), dtype=np.float32)
    if n == 1 and not serial(nnz, SERIAL_DOT_BELOW):
        # batch 1 on every thread, the layer's call: no per-sample views to make
        _packed_rows_dot(indptr, packed, x.reshape(-1), bias, bool(relu), out.reshape(-1))
        return out
    with one_thread_below(nnz * n, SERIAL_DOT_BELOW if n == 1 else SERIAL_BELOW):
        for i in range(n):         # one dot product per row and sample
            _packed_rows_dot(indptr, packed, np.ascontiguousarray(x[i]), bias, bool(relu),
                             out[i])
    return out
