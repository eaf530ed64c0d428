"""The differentiable pieces of a mixed layer's projections and operators.

Kernels (``backends/numpy_ref/mixed.py``): ``table_lookup`` / ``table_lookup_grad``,
``context_projection_forward`` / ``_grad_input`` / ``_grad_padding``, ``conv_operator_forward``
/ ``_grad_input`` / ``_grad_filter``. The column slice, the scale and the transposed product
are data movement or one ``matmul`` kernel call.
"""

from ..backends import kernel
from ..core.row_sparse import RowSparseGrad
from ..core.tensor import Function
from ..core.xp import get_array_module
from .conv_function import ConvFunction


class TableLookup(Function):
    """``y[r] = table[ids[r]]``: ``table: (V, D)``, ``ids: (R,)`` int -> ``(R, D)``.

    Backward scatter-adds ``gy`` into the looked-up rows (``table_lookup_grad``); the ids get
    no gradient. Only the ids are kept. With ``row_sparse`` (``ParamAttr(sparse_update=True)``)
    the table's gradient is a :class:`~minidl.core.row_sparse.RowSparseGrad` of the rows
    looked up -- no ``(V, D)`` array is made, so a step costs the batch, not the table.
    """

    def __init__(self, row_sparse=False):
        self.row_sparse = row_sparse

    def forward(self, table, ids):
        self.save_for_backward(ids)
        self.num_rows = table.shape[0]
        return kernel("table_lookup")(table, ids)

    def backward(self, gy):
        (ids,) = self.saved
        gtable = None
        if self.needs_input_grad[0] and self.row_sparse:
            gtable = RowSparseGrad(ids.reshape(-1), gy.reshape(ids.size, -1),
                                   (self.num_rows,) + gy.shape[1:])
        elif self.needs_input_grad[0]:
            gtable = kernel("table_lookup_grad")(ids, gy, self.num_rows)
        return gtable, None


class ContextProjection(Function):
    """Each row followed by its neighbours in the same sequence (see the kernel's module):
    ``x: (R, D)`` [, ``padding: (P, D)``] -> ``(R, context_len * D)``.

    ``starts`` are the sequence offsets of ``x`` (host int64). Nothing but the offsets and
    the padding's row count is kept: the gradient only moves ``gy`` back.
    """

    def __init__(self, starts, context_len, context_start):
        self.geometry = (starts, int(context_len), int(context_start))

    def forward(self, x, *padding):
        pad = padding[0] if padding else None
        self.num_pad_rows = None if pad is None else pad.shape[0]
        return kernel("context_projection_forward")(x, pad, *self.geometry)

    def backward(self, gy):
        gx = None
        if self.needs_input_grad[0]:
            gx = kernel("context_projection_grad_input")(gy, *self.geometry)
        if self.num_pad_rows is None:
            return gx
        gpad = None
        if self.needs_input_grad[1]:
            gpad = kernel("context_projection_grad_padding")(gy, *self.geometry,
                                                             self.num_pad_rows)
        return gx, gpad


class ConvOperator(ConvFunction):
    """Every sample convolved with its own filters (Paddle's ConvOperator).

    Notation: ``x: (N, C, H, W)``, ``w: (N, F, C, kh, kw)`` -> ``(N, F, OH, OW)``; stride
    and padding are ``(y, x)`` pairs. Both inputs are kept (each one's gradient needs the
    other).
    """

    kernels = "conv_operator"

    def __init__(self, stride, padding):
        self.geometry = (tuple(stride), tuple(padding))


class MatMulTransposed(Function):
    """``y = x @ w.T``: ``x: (N, K)``, ``w: (F, K)`` -> ``(N, F)`` (``trans_full_matrix_
    projection`` keeps its weight as ``(size, input size)``)."""

    def forward(self, x, w):
        self.save_for_backward(x, w)
        return kernel("matmul")(x, w.T)

    def backward(self, gy):
        x, w = self.saved
        gx = kernel("matmul")(gy, w) if self.needs_input_grad[0] else None
        gw = kernel("matmul")(gy.T, x) if self.needs_input_grad[1] else None
        return gx, gw


class ColumnSlice(Function):
    """``y = x[:, start:stop]``; the gradient is ``gy`` put back in those columns."""

    def __init__(self, start, stop):
        self.start, self.stop = int(start), int(stop)

    def forward(self, x):
        self.input_shape = x.shape
        return x[:, self.start:self.stop]

    def backward(self, gy):
        gx = get_array_module(gy).zeros(self.input_shape, dtype=gy.dtype)
        gx[:, self.start:self.stop] = gy
        return gx


class Scale(Function):
    """``y = scale * x`` for a constant number ``scale``."""

    def __init__(self, scale):
        self.scale = float(scale)

    def forward(self, x):
        return x * x.dtype.type(self.scale)

    def backward(self, gy):
        return gy * gy.dtype.type(self.scale)


def table_lookup(table, ids, row_sparse=False):
    return TableLookup(row_sparse)(table, ids)


def context_projection(x, starts, context_len, context_start, padding=None):
    inputs = (x,) if padding is None else (x, padding)
    return ContextProjection(starts, context_len, context_start)(*inputs)


def conv_operator(x, w, stride, padding):
    return ConvOperator(stride, padding)(x, w)


def matmul_transposed(x, w):
    return MatMulTransposed()(x, w)


def column_slice(x, start, stop):
    return ColumnSlice(start, stop)(x)


def scale(x, factor):
    return x if float(factor) == 1.0 else Scale(factor)(x)


__all__ = ["ColumnSlice", "ContextProjection", "ConvOperator", "MatMulTransposed", "Scale",
           "TableLookup", "column_slice", "context_projection", "conv_operator",
           "matmul_transposed", "scale", "table_lookup"]
