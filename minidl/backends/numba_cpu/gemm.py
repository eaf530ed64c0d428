"""Dense matrix products on Numba's threads: BLAS on one thread per part of the output.

OpenBLAS (NumPy's and SciPy's) keeps its own thread pool, Numba its OpenMP one. On a few
cores the two pools hand the cores back and forth: each pool's idle threads either sleep
(waking one costs ~0.1 ms, more than a small kernel) or spin (on the cores the other pool
needs). :func:`gemm` puts the products into Numba's pool instead: the output is cut into
one part per thread, and each thread calls SciPy's BLAS (``scipy.linalg.cython_blas``,
itself on one thread) for its part. Every parallel thing the ``cpu`` backend runs then
uses one set of threads, which can spin briefly between kernels (``threads.py``).

Row-major arrays are column-major arrays of the transposes, so ``c = a @ b`` is the BLAS
call ``c.T = b.T @ a.T``: an array with strides ``(s, 1)`` is passed as is with leading
dimension ``s`` and ``'N'``; one with strides ``(1, s)`` (a transposed view) with ``'T'``.
Products with up to :data:`GEMV_ROWS` rows go to ``?gemv``, a call per row (``?gemm`` packs
whole panels for them).
"""

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils, errors
from numba.extending import get_cython_function_address, intrinsic

from ..registry import register
from .threads import thread_count


def _blas_symbol(name, arguments):
    """An intrinsic calling SciPy's BLAS routine ``name`` with ``arguments`` pointers.

    The routine's address is registered with LLVM under a name of our own, and the kernels
    call that name: compiled code that holds no raw address can go to Numba's disk cache
    (a ctypes function pointer in a kernel cannot)."""
    symbol = f"minidl_blas_{name}"
    llvm.add_symbol(symbol, get_cython_function_address("scipy.linalg.cython_blas", name))

    @intrinsic
    def call(typingctx, pointers):
        if not (isinstance(pointers, types.UniTuple) and len(pointers) == arguments):
            raise errors.TypingError(f"{name} takes a tuple of {arguments} addresses")

        def codegen(context, builder, signature, args):
            byte_pointer = ir.IntType(8).as_pointer()
            function = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer] * arguments),
                symbol)
            builder.call(function, [builder.inttoptr(builder.extract_value(args[0], i),
                                                     byte_pointer) for i in range(arguments)])
            return context.get_dummy_value()

        return types.void(pointers), codegen

    return call


_sgemm, _dgemm = _blas_symbol("sgemm", 13), _blas_symbol("dgemm", 13)
_sgemv, _dgemv = _blas_symbol("sgemv", 11), _blas_symbol("dgemv", 11)

#: multiply-adds below which a product stays on the calling thread: a parallel loop's
#: start costs ~10 us with spinning workers, ~0.1 ms with sleeping ones
SERIAL_BELOW = 1 << 18
#: parts are cut at multiples of this many rows or columns (whole cache lines of float32)
ALIGN = 16
#: products of up to this many rows are that many ``?gemv`` calls, not one ``?gemm``:
#: OpenBLAS's gemm packs the whole other operand first, and for a few rows against a large
#: weight that costs more than reading it once per row (one thread, Intel Xeon, 4096 x 4096
#: float32 weight: SciPy's OpenBLAS 0.3.30 sgemm 29 ms for 1 or 4 rows, sgemv 2.6 ms a
#: row; NumPy's 0.3.31 sgemm 10.5 ms for 4 rows; even at 8 rows, 20 against 21 ms)
GEMV_ROWS = 4

OP_N, OP_T = ord("N"), ord("T")


@njit(cache=True)
def blas_layout(rows, columns, row_stride, column_stride):
    """``(op, leading dimension)`` of a matrix as BLAS sees it (see the module docstring);
    strides in elements."""
    if column_stride == 1 or columns == 1:
        return OP_N, max(row_stride, columns, 1)
    return OP_T, max(column_stride, rows, 1)


@njit(cache=True)
def address(x):
    """Where ``x``'s first element is, as a signed integer like the other arguments."""
    return np.int64(x.ctypes.data)


# blas_part and _parts take the operands as addresses and integers, not as arrays: Numba
# compiles a function once per combination of argument types, and arrays (two dtypes,
# three memory layouts each) made a dozen versions of them, ~5 s of compiling each on
# first use. The small wrapper _product still compiles per combination (~0.4 s); the BLAS
# calls once (~2.5 s).

@njit(cache=True)
def blas_part(a, b, c, m, n, k, op_a, ld_a, op_b, ld_b, ld_c, item, beta):
    """``c = op(a) @ op(b) + beta * c`` on the calling thread: ``a``, ``b``, ``c`` the
    addresses of the (m, k), (k, n), (m, n) operands, ``item`` 4 (float32) or 8 (float64),
    ``beta`` 0 or 1; ``m, n, k > 0``."""
    ints = np.array([n, m, k, ld_b, ld_a, ld_c, 1, 1, 0], np.int32)
    ops = np.array([op_b, op_a, OP_N, OP_T], np.uint8)
    scalars = np.array([1.0, beta])
    single = scalars.astype(np.float32)
    one = address(scalars) if item == 8 else address(single)    # then beta at one + item
    if m <= GEMV_ROWS:                   # per row r: c[r].T (n) = op(b).T @ a[r]
        # a's row has stride ld_a (its elements are one apart when op_a is 'N')
        ints[6] = 1 if op_a == OP_N else ld_a
        flip = 2 if op_b == OP_N else 3    # gemv's op on b as stored
        for r in range(m):
            a_row = a + r * item * (ld_a if op_a == OP_N else 1)
            args = (address(ops[flip:]), address(ints) if op_b == OP_N else address(ints[2:]),
                    address(ints[2:]) if op_b == OP_N else address(ints), one, b,
                    address(ints[3:]), a_row, address(ints[6:]), one + item,
                    c + r * ld_c * item, address(ints[7:]))
            if item == 4:
                _sgemv(args)
            else:
                _dgemv(args)
        return
    args = (address(ops), address(ops[1:]), address(ints), address(ints[1:]),
            address(ints[2:]), one, b, address(ints[3:]), a, address(ints[4:]), one + item,
            c, address(ints[5:]))
    if item == 4:
        _sgemm(args)
    else:
        _dgemm(args)


@njit(cache=True)
def _product(a, b, c, beta, threads):
    """``c = a @ b + beta * c``: :func:`blas_part` on the calling thread (``threads`` 1) or
    :func:`_parts`. Compiled for every combination of array types, so it only turns the
    arrays into the integers those take."""
    item = c.itemsize
    op_a, ld_a = blas_layout(a.shape[0], a.shape[1], a.strides[0] // item, a.strides[1] // item)
    op_b, ld_b = blas_layout(b.shape[0], b.shape[1], b.strides[0] // item, b.strides[1] // item)
    rows, columns = c.shape
    operands = (np.int64(a.ctypes.data), np.int64(b.ctypes.data), np.int64(c.ctypes.data),
                rows, columns, a.shape[1], op_a, ld_a, op_b, ld_b,
                max(c.strides[0] // item, columns, 1), item, beta)
    if threads == 1:
        blas_part(*operands)
    else:
        _parts(*operands, threads)


@njit(parallel=True, cache=True)
def _parts(a, b, c, m, n, k, op_a, ld_a, op_b, ld_b, ld_c, item, beta, threads):
    """:func:`blas_part` cut into ``threads`` parts along the longer side of ``c``: a part of
    rows starts ``lo`` rows into ``a`` and ``c``, one of columns ``lo`` columns into ``b``
    and ``c`` (where a row or column starts depends on the operand's ``op``)."""
    along_rows = m >= n
    step = -(-(m if along_rows else n) // threads)
    step = -(-step // ALIGN) * ALIGN
    for t in prange(threads):
        lo, hi = t * step, min(m if along_rows else n, (t + 1) * step)
        if lo < hi:
            if along_rows:
                a_lo = a + lo * item * (ld_a if op_a == OP_N else 1)
                blas_part(a_lo, b, c + lo * ld_c * item, hi - lo, n, k, op_a, ld_a, op_b, ld_b,
                      ld_c, item, beta)
            else:
                b_lo = b + lo * item * (1 if op_b == OP_N else ld_b)
                blas_part(a, b_lo, c + lo * item, m, hi - lo, k, op_a, ld_a, op_b, ld_b, ld_c,
                      item, beta)


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _unit_stride(x):
    """Whether BLAS takes ``x`` (2-D) as it is: one unit stride, the other a whole number of
    elements, none negative."""
    s0, s1 = x.strides
    item = x.itemsize
    return (s1 == item or s0 == item) and s0 >= 0 and s1 >= 0 and not s0 % item \
        and not s1 % item


def _blas_ready(x, dtype):
    """``x`` as ``dtype`` with one unit stride (a copy only where BLAS cannot take it)."""
    x = np.asarray(x, dtype=dtype)
    return x if x.ndim == 2 and _unit_stride(x) else np.ascontiguousarray(x)


def gemm(a, b, out=None, threads=None, accumulate=False):
    """``a @ b`` for 2-D float32/float64 arrays, on Numba's threads.

    ``out``: a row-major array (unit column stride) to write into, or with ``accumulate``
    to add into (BLAS's ``beta = 1``: no temporary, no second pass). ``threads``: cut into
    that many parts; by default Numba's thread count, or one part below
    :data:`SERIAL_BELOW` multiply-adds. (Called per image by the convolutions: the common
    case -- two float arrays BLAS takes as they are -- is checked first and cheaply.)"""
    dtype = a.dtype
    if not (type(a) is np.ndarray and type(b) is np.ndarray and b.dtype == dtype
            and dtype in _FLOATS and a.ndim == 2 and b.ndim == 2 and _unit_stride(a)
            and _unit_stride(b)):
        dtype = np.result_type(a, b)
        if dtype not in _FLOATS:
            if accumulate:
                out += np.matmul(a, b)
                return out
            return np.matmul(a, b, out=out)
        a, b = _blas_ready(a, dtype), _blas_ready(b, dtype)
    m, k = a.shape
    n = b.shape[1]
    if k != b.shape[0]:
        raise ValueError(f"gemm: shapes {a.shape} and {b.shape} do not chain")
    if out is None:
        if accumulate:
            raise ValueError("gemm: accumulate needs an out array to add into")
        out = np.empty((m, n), dtype=dtype)
    elif out.shape != (m, n) or out.dtype != dtype or out.strides[1] != out.itemsize:
        raise ValueError(f"gemm: out must be a row-major {dtype} array of shape {(m, n)}, "
                         f"got {out.dtype} {out.shape} with strides {out.strides}")
    if m == 0 or n == 0:
        return out
    if k == 0:
        if not accumulate:
            out[...] = 0
        return out
    if threads is None:
        threads = 1 if m * k * n < SERIAL_BELOW else thread_count()
    _product(a, b, out, 1.0 if accumulate else 0.0, threads)
    return out


def gemm_stack(a, b, out=None):
    """``np.matmul(a, b)`` for stacks of matrices (leading axes broadcast), one
    :func:`gemm` per matrix of the result."""
    if a.ndim == 3 and b.ndim == 3 and a.shape[0] == b.shape[0] and out is not None:
        for index in range(a.shape[0]):    # the convolutions' groups: no broadcasting
            gemm(a[index], b[index], out[index])
        return out
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    dtype = np.result_type(a, b)
    if out is None:
        out = np.empty(shape + (a.shape[-2], b.shape[-1]), dtype=dtype)
    # broadcast only what needs it: a broadcast view is read-only, and Numba would compile
    # the product again for read-only arrays (about a second of a fresh install's start)
    if a.shape[:-2] != shape:
        a = np.broadcast_to(a, shape + a.shape[-2:])
    if b.shape[:-2] != shape:
        b = np.broadcast_to(b, shape + b.shape[-2:])
    for index in np.ndindex(*shape):
        gemm(a[index], b[index], out[index])
    return out


@register("matmul", backend="cpu")
def matmul(a, b):
    """See the reference: 2-D float products on Numba's threads (:func:`gemm`), others
    through NumPy."""
    if a.ndim == 2 and b.ndim == 2:
        return gemm(a, b)
    return np.matmul(a, b)
