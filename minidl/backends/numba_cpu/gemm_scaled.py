"""``c = a @ b``, then each row ``r`` of ``c`` times ``scale[r]`` plus ``shift[r]`` (and the
ReLU): a 1x1 convolution with the batch norm after it folded in (``conv_batch_norm.py``).

The product is cut into the same parts as :func:`gemm.gemm`'s, and the thread that had BLAS
write a part scales it right after, while the part is still in its cache. A separate pass
after the whole product found it in memory or the shared cache again: on MobileNet's
pointwise layers at batch 1 the product with its pass took 7 % longer than this (0.85 ms
against 0.69 ms on the 32 -> 64 layer at 112x112). Cutting the parts smaller still, to fit
the 512 KB L2, made BLAS's calls less efficient than the pass gained.
"""

import numpy as np
from numba import njit, prange

from .gemm import ALIGN, SERIAL_BELOW, OP_N, blas_layout, blas_part
from .loops import scale_shift
from .threads import thread_count


@njit(cache=True)
def _scaled_part(a, b, c, lo, hi, along_rows, scale, shift, relu):
    """Rows (``along_rows``) or columns ``lo..hi`` of ``c = a @ b``, then scaled."""
    item = c.itemsize
    m, k = a.shape
    n = b.shape[1]
    op_a, ld_a = blas_layout(m, k, a.strides[0] // item, a.strides[1] // item)
    op_b, ld_b = blas_layout(k, n, b.strides[0] // item, b.strides[1] // item)
    ld_c = max(c.strides[0] // item, n, 1)
    pa, pb, pc = np.int64(a.ctypes.data), np.int64(b.ctypes.data), np.int64(c.ctypes.data)
    if along_rows:
        blas_part(pa + lo * item * (ld_a if op_a == OP_N else 1), pb, pc + lo * ld_c * item,
                  hi - lo, n, k, op_a, ld_a, op_b, ld_b, ld_c, item, 0.0)
        for r in range(lo, hi):
            scale_shift(c[r], n, scale[r], shift[r], relu)
    else:
        blas_part(pa, pb + lo * item * (1 if op_b == OP_N else ld_b), pc + lo * item, m,
                  hi - lo, k, op_a, ld_a, op_b, ld_b, ld_c, item, 0.0)
        for r in range(m):
            scale_shift(c[r, lo:], hi - lo, scale[r], shift[r], relu)


@njit(cache=True)
def _scaled_serial(a, b, c, scale, shift, relu):
    along_rows = c.shape[0] >= c.shape[1]
    _scaled_part(a, b, c, 0, c.shape[0] if along_rows else c.shape[1], along_rows, scale, shift,
                 relu)


@njit(parallel=True, cache=True)
def _scaled_parts(a, b, c, scale, shift, relu, threads):
    """``threads`` parts along the longer side of ``c``, as ``gemm._parts`` cuts them."""
    m, n = c.shape
    along_rows = m >= n
    extent = m if along_rows else n
    step = -(-extent // threads)
    step = -(-step // ALIGN) * ALIGN
    for t in prange(threads):
        lo, hi = t * step, min(extent, (t + 1) * step)
        if lo < hi:
            _scaled_part(a, b, c, lo, hi, along_rows, scale, shift, relu)


def gemm_scaled(a, b, out, scale, shift, relu):
    """``out[r] = a[r] @ b * scale[r] + shift[r]``, then the ReLU when ``relu``.

    ``a (m, k)``, ``b (k, n)``: float arrays of ``out``'s dtype with one unit stride each
    (``gemm._unit_stride``); ``out (m, n)`` row-major; ``scale``, ``shift``: ``(m,)``;
    ``m, n, k > 0``. Threads as :func:`gemm.gemm` chooses them."""
    m, k = a.shape
    n = b.shape[1]
    threads = 1 if m * k * n < SERIAL_BELOW else thread_count()
    if threads == 1:
        _scaled_serial(a, b, out, scale, shift, relu)
    else:
        _scaled_parts(a, b, out, scale, shift, relu, threads)
    return out
