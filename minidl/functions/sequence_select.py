"""Picking rows of a batch of sequences by index (``seq_slice``, ``sub_nested_seq``):
the plans and the differentiable row selection (kernels in
``backends/numpy_ref/sequence_select.py``).

A plan reads index VALUES (a Tensor's data) on the host and gives host arrays; it is not
part of the graph -- the indices get no gradient, as in Paddle.
"""

from ..backends import kernel
from ..backends.numpy_ref import sequence_select as _kernels  # noqa: F401  registers them
from ..core.tensor import Function
from ..core.xp import as_numpy


def _host(tensor):
    return None if tensor is None else as_numpy(tensor.data)


def seq_slice_plan(unit_starts, starts, ends):
    """``(rows, slice_lengths, slices_per_unit)`` for index Tensors ``starts`` / ``ends``
    (either may be None); see the ``seq_slice_rows`` kernel."""
    return kernel("seq_slice_rows")(unit_starts, _host(starts), _host(ends))


def sub_nested_seq_plan(layout, selected):
    """``(rows, sub_lengths, selected_per_sequence)`` for the nested ``layout`` and the index
    Tensor ``selected``; see the ``sub_nested_seq_rows`` kernel."""
    return kernel("sub_nested_seq_rows")(layout.starts, layout.sub_starts, _host(selected))


class SelectRows(Function):
    """``y = x[rows]``: ``x: (R, D)``, host ``rows: (M,)`` -> ``(M, D)``; the gradient adds
    each row of ``gy`` to the row it came from. Keeps only the plan and ``R``."""

    def __init__(self, rows):
        self.rows = rows

    def forward(self, x):
        self.num_rows = x.shape[0]
        return kernel("select_rows")(x, self.rows)

    def backward(self, gy):
        return kernel("select_rows_grad")(gy, self.rows, self.num_rows)


def select_rows(x, rows):
    return SelectRows(rows)(x)
