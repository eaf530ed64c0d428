"""Reference kernels for sparse INPUT rows (``sparse_binary_vector`` / ``sparse_float_vector``
data) times a dense weight: what ``fc`` and ``full_matrix_projection`` compute on them.

The input stays CSR -- ``indptr: (N + 1,)``, ``indices: (nnz,)``, ``values: (nnz,)`` or None
for binary rows (every stored entry is 1) -- and is never made dense: the work is one pass
over the ``nnz`` stored entries, whatever the dimension ``K`` of the vectors::

    y[n]  = sum over the entries e of row n of   values[e] * w[indices[e]]
    gw[k] = sum over the entries e with indices[e] == k of   values[e] * gy[row(e)]

(Not the pruned-weight kernels of ``sparse.py``: there the WEIGHT is sparse and the input
dense.) There is no gradient for the sparse input: it is data.
"""

import numpy as np

from ...core.xp import get_array_module
from ..registry import register


def _entries(indptr, indices, values, dtype, xp):
    """``(rows, indices, values)`` of every stored entry on the device of ``xp``."""
    indptr = np.asarray(indptr, dtype=np.int64)
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    vals = None if values is None else xp.asarray(values).astype(dtype, copy=False)
    return xp.asarray(rows), xp.asarray(np.asarray(indices, dtype=np.int64)), vals


@register("sparse_rows_matmul")
def sparse_rows_matmul(indptr, indices, values, w):
    """``y = X @ w`` for CSR rows ``X``. Notation: ``X: (N, K)`` CSR, ``w: (K, F)`` ->
    ``(N, F)``."""
    xp = get_array_module(w)
    rows, cols, vals = _entries(indptr, indices, values, w.dtype, xp)
    picked = w[cols]                                   # (nnz, F): the weight row of each entry
    if vals is not None:
        picked = picked * vals[:, None]
    y = xp.zeros((len(indptr) - 1, w.shape[1]), dtype=w.dtype)
    xp.add.at(y, rows, picked)
    return y


@register("sparse_rows_matmul_grad_weight")
def sparse_rows_matmul_grad_weight(indptr, indices, values, gy, num_rows):
    """``gw = X.T @ gy``: each stored entry ``(n, k, v)`` adds ``v * gy[n]`` to row ``k``.

    Notation: ``gy: (N, F)`` -> ``(num_rows, F)``; rows no entry names stay zero.
    """
    xp = get_array_module(gy)
    rows, cols, vals = _entries(indptr, indices, values, gy.dtype, xp)
    contributions = gy[rows]                           # (nnz, F)
    if vals is not None:
        contributions = contributions * vals[:, None]
    gw = xp.zeros((num_rows, gy.shape[1]), dtype=gy.dtype)
    xp.add.at(gw, cols, contributions)
    return gw
