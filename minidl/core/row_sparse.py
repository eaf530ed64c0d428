"""Row-sparse gradients: the gradient of an embedding table touches only the rows looked up.

A batch of 100 windows of 5 words reads at most 500 rows of a table of a million; its
gradient is zero everywhere else. With ``ParamAttr(sparse_update=True)`` the lookup's backward
returns that gradient as the rows it touched and their values, not as a dense
``(1000000, size)`` array, and the optimizer updates those rows only::

    rows    [17, 4, 17, 250]          (may repeat: a word used twice in the batch)
    values  (4, size)                 gradient rows, in the same order
    shape   (1000000, size)           the shape of the dense gradient it stands for

``coalesce()`` sums repeated rows, giving each row once in increasing order.
"""

import numpy as np

from .xp import get_array_module


class RowSparseGrad:
    """The gradient of a ``shape`` parameter, nonzero only in ``rows``.

    Notation: ``rows: (K,)`` int64, ``values: (K, *shape[1:])``.
    """

    __slots__ = ("rows", "values", "shape")
    #: ``dense_array + grad`` must call :meth:`__radd__`, not broadcast over this object
    __array_ufunc__ = None

    def __init__(self, rows, values, shape):
        self.rows = rows
        self.values = values
        self.shape = tuple(shape)
        if len(rows) != len(values) or tuple(values.shape[1:]) != self.shape[1:]:
            raise ValueError(f"RowSparseGrad: {len(rows)} rows with values {values.shape} "
                             f"do not fit a gradient of shape {self.shape}")

    @property
    def dtype(self):
        return self.values.dtype

    def coalesce(self):
        """The same gradient with each row once, rows increasing, repeated rows summed."""
        xp = get_array_module(self.values)
        rows, position = np.unique(np.asarray(_host(self.rows)), return_inverse=True)
        summed = xp.zeros((len(rows),) + self.shape[1:], dtype=self.values.dtype)
        xp.add.at(summed, xp.asarray(position), self.values)
        return RowSparseGrad(rows, summed, self.shape)

    def to_dense(self):
        xp = get_array_module(self.values)
        dense = xp.zeros(self.shape, dtype=self.values.dtype)
        xp.add.at(dense, xp.asarray(self.rows), self.values)
        return dense

    def __add__(self, other):
        """Gradients of a table used twice accumulate: rows concatenate (still sparse); a
        dense gradient added makes the sum dense."""
        if isinstance(other, RowSparseGrad):
            if other.shape != self.shape:
                raise ValueError(f"cannot add row-sparse gradients of shapes {self.shape} "
                                 f"and {other.shape}")
            xp = get_array_module(self.values)
            return RowSparseGrad(np.concatenate([_host(self.rows), _host(other.rows)]),
                                 xp.concatenate([self.values, other.values]), self.shape)
        return self.to_dense() + other

    __radd__ = __add__

    def __repr__(self):
        return f"RowSparseGrad({len(self.rows)} rows of {self.shape})"


def _host(rows):
    return rows.get() if hasattr(rows, "get") else np.asarray(rows)
