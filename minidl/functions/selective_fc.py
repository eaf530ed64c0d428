"""The pieces of ``selective_fc`` as autograd Functions (kernels in
``backends/numpy_ref/selective_fc.py``).

Notation: the ``E`` selected entries are ``rows: (E,)``, ``cols: (E,)`` integer arrays in
row order; ``x: (N, I)``, ``w: (S, I)`` (transposed weight), a dense output ``(N, S)``.
"""

from ..backends import kernel
from ..backends.numpy_ref import selective_fc as _reference  # noqa: F401  (registers kernels)
from ..core.tensor import Function


class SelectedProducts(Function):
    """``v[e] = <x[rows[e]], w[cols[e]]>``: the selected entries of ``x @ w^T``,
    ``(N, I), (S, I) -> (E,)``."""

    def __init__(self, rows, cols):
        self.rows, self.cols = rows, cols

    def forward(self, x, w):
        self.save_for_backward(x, w)
        return kernel("selective_fc_forward")(x, w, self.rows, self.cols)

    def backward(self, gv):
        x, w = self.saved
        gx, gw = kernel("selective_fc_backward")(x, w, self.rows, self.cols, gv)
        return (gx if self.needs_input_grad[0] else None,
                gw if self.needs_input_grad[1] else None)


class EntriesOf(Function):
    """``v[e] = a[rows[e], cols[e]]``: ``(R, S) -> (E,)``; the gradient adds back into place."""

    def __init__(self, rows, cols):
        self.rows, self.cols = rows, cols

    def forward(self, a):
        self.shape = a.shape
        return kernel("dense_to_selected_entries")(a, self.rows, self.cols)

    def backward(self, gv):
        return kernel("selected_entries_to_dense")(gv, self.rows, self.cols, self.shape)


class EntriesToDense(Function):
    """``(E,) -> shape``: ``values[e]`` at ``(rows[e], cols[e])``, 0 elsewhere."""

    def __init__(self, rows, cols, shape):
        self.rows, self.cols, self.shape = rows, cols, tuple(shape)

    def forward(self, values):
        return kernel("selected_entries_to_dense")(values, self.rows, self.cols, self.shape)

    def backward(self, gy):
        return kernel("dense_to_selected_entries")(gy, self.rows, self.cols)


def selected_products(x, w, rows, cols):
    return SelectedProducts(rows, cols)(x, w)


def entries_of(a, rows, cols):
    return EntriesOf(rows, cols)(a)


def entries_to_dense(values, rows, cols, shape):
    return EntriesToDense(rows, cols, shape)(values)
