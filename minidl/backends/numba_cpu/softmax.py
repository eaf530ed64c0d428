"""Softmax and its gradient for the ``cpu`` backend: row loops around NumPy's ``exp``.

The reference (``numpy_ref/activation.py``) is six whole-array passes for the forward (row
maximum, subtraction, clip, ``exp``, row sum, division) and four for the gradient. At an
output layer of a few thousand classes (word2vec: 100 x 2,000) each pass costs about as
much as the ``exp`` itself. Here the forward is four passes: NumPy's row maximum, one loop
that shifts and clips, NumPy's vectorised ``exp`` in place (Numba has no vector ``exp``
without Intel's SVML, and a scalar one per value is several times slower), one loop that
divides each row by its sum while the row is in cache. The gradient is one loop, row by
row.

Rows are summed in vector lanes, the reference pairwise: the results agree to rounding
(the tests compare with a tolerance).
"""

import numpy as np
from numba import njit

from ..numpy_ref.activation import SOFTMAX_MIN_SHIFTED
from ..registry import register


# The row sums may add in any order ("reassoc"): a sum in loop order is one dependent
# addition per value (four cycles each), several times slower than the vector sums LLVM
# makes when allowed to reorder. (The row maximum is left to NumPy: LLVM keeps a maximum
# loop scalar even with fast-math.)
_SUM_MATH = {"reassoc", "nsz", "contract"}


@njit(cache=True, fastmath=_SUM_MATH)
def _row_dot(a, b):
    total = a.dtype.type(0)
    for j in range(a.shape[0]):
        total += a[j] * b[j]
    return total


@njit(cache=True, fastmath=_SUM_MATH)
def _row_sum(row):
    total = row.dtype.type(0)
    for j in range(row.shape[0]):
        total += row[j]
    return total


@njit(cache=True, error_model="numpy")
def _shift_rows(rows, tops, floor, out):
    """``out = max(rows - tops, floor)`` row by row; a NaN stays NaN, as with
    ``np.maximum``."""
    for i in range(rows.shape[0]):
        row, shifted, top = rows[i], out[i], tops[i]
        for j in range(row.shape[0]):
            value = row[j] - top
            shifted[j] = floor if value < floor else value


@njit(cache=True, error_model="numpy")
def _divide_rows_by_sums(out):
    for i in range(out.shape[0]):
        row = out[i]
        total = _row_sum(row)
        for j in range(row.shape[0]):
            row[j] /= total


@njit(cache=True, error_model="numpy")
def _softmax_grad_rows(y, gy, out):
    """``out = y * (gy - <gy, y>)`` per row."""
    for i in range(y.shape[0]):
        y_row, g_row, o_row = y[i], gy[i], out[i]
        centre = _row_dot(g_row, y_row)
        for j in range(y_row.shape[0]):
            o_row[j] = y_row[j] * (g_row[j] - centre)


def _rows(a):
    return np.ascontiguousarray(a.reshape(a.shape[0], -1))


@register("act_softmax", backend="cpu")
def act_softmax(x):
    """Per-sample softmax over all features: ``x: (N, ...)``, each row of ``(N, -1)``."""
    rows = _rows(x)
    out = np.empty_like(rows)
    if out.size == 0:
        return out.reshape(x.shape)
    _shift_rows(rows, rows.max(axis=1), rows.dtype.type(SOFTMAX_MIN_SHIFTED), out)
    np.exp(out, out=out)
    _divide_rows_by_sums(out)
    return out.reshape(x.shape)


@register("act_softmax_grad", backend="cpu")
def act_softmax_grad(x, y, gy):
    """``J^T gy = y * (gy - <gy, y>)`` per sample (``x`` unused)."""
    rows_y, rows_g = _rows(y), _rows(gy)
    dtype = np.result_type(rows_y, rows_g)
    out = np.empty(rows_y.shape, dtype=dtype)
    _softmax_grad_rows(rows_y.astype(dtype, copy=False), rows_g.astype(dtype, copy=False), out)
    return out.reshape(gy.shape)
