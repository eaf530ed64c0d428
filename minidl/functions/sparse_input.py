"""Sparse input rows times a dense weight, as an autograd Function (kernels:
``sparse_rows_matmul`` / ``sparse_rows_matmul_grad_weight``)."""

from ..backends import kernel
from ..core.row_sparse import RowSparseGrad
from ..core.sparse_rows import SparseRows
from ..core.xp import get_array_module
from ..core.tensor import Function


class SparseRowsMatMul(Function):
    """``y = X @ w`` for :class:`~minidl.core.sparse_rows.SparseRows` ``X``, never densified.

    Notation: ``X: (N, K)`` sparse, ``w: (K, F)`` -> ``(N, F)``. Only ``w`` gets a gradient
    (``X`` is data); backward keeps ``X``, not ``w``. With ``row_sparse``
    (``ParamAttr(sparse_update=True)``) that gradient is a
    :class:`~minidl.core.row_sparse.RowSparseGrad` of the rows of ``w`` the batch used.
    """

    def __init__(self, row_sparse=False):
        self.row_sparse = row_sparse

    def forward(self, x, w):
        if not isinstance(x, SparseRows):
            raise TypeError(f"SparseRowsMatMul: the first input must be SparseRows, got "
                            f"{type(x).__name__}")
        if x.dim != w.shape[0]:
            raise ValueError(f"SparseRowsMatMul: sparse rows of dimension {x.dim} times a "
                             f"weight of {w.shape[0]} rows")
        self.save_for_backward(x)
        self.num_rows = w.shape[0]
        return kernel("sparse_rows_matmul")(x.indptr, x.indices, x.values, w)

    def backward(self, gy):
        (x,) = self.saved
        gw = None
        if self.needs_input_grad[1] and self.row_sparse:
            # entry e of row r adds values[e] * gy[r] to row indices[e] of the gradient
            xp = get_array_module(gy)
            rows = xp.asarray(x.row_of_entries())
            scale = xp.asarray(x.entry_values(gy.dtype))[:, None]
            gw = RowSparseGrad(x.indices, scale * gy[rows], (self.num_rows,) + gy.shape[1:])
        elif self.needs_input_grad[1]:
            gw = kernel("sparse_rows_matmul_grad_weight")(x.indptr, x.indices, x.values, gy,
                                                          self.num_rows)
        return None, gw


def sparse_rows_matmul(x, w, row_sparse=False):
    """``x @ w`` for a Tensor holding SparseRows and a dense weight Tensor."""
    return SparseRowsMatMul(row_sparse)(x, w)


def is_sparse_rows(x):
    """True when the Tensor ``x`` holds sparse rows."""
    return isinstance(getattr(x, "data", None), SparseRows)


__all__ = ["SparseRowsMatMul", "is_sparse_rows", "sparse_rows_matmul"]
