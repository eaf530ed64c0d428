"""Reference kernels of ``selective_fc``: a fully connected layer evaluated only at the
(row, column) entries a sparse selection names.

Notation: ``x: (N, I)`` input rows, ``w: (S, I)`` the weight stored transposed (one row per
output column, as Paddle stores it), and the ``E`` selected entries as two ``(E,)`` integer
arrays in row order: ``rows[e]`` the sample, ``cols[e]`` the output column.
"""

from ...core.xp import get_array_module
from ..registry import register


@register("selective_fc_forward")
def selective_fc_forward(x, w, rows, cols):
    """``(E,)`` values ``v[e] = <x[rows[e]], w[cols[e]]>``: entry e of ``x @ w^T``, and only
    the selected entries are computed."""
    xp = get_array_module(x)
    rows, cols = xp.asarray(rows), xp.asarray(cols)
    return (x[rows] * w[cols]).sum(axis=1)


@register("selective_fc_backward")
def selective_fc_backward(x, w, rows, cols, gv):
    """``(gx, gw)`` of :func:`selective_fc_forward` for the entries' gradient ``gv: (E,)``::

        gx[r] = sum over entries e of row r of gv[e] * w[cols[e]]
        gw[c] = sum over entries e of column c of gv[e] * x[rows[e]]
    """
    xp = get_array_module(x)
    rows, cols = xp.asarray(rows), xp.asarray(cols)
    gx, gw = xp.zeros_like(x), xp.zeros_like(w)
    xp.add.at(gx, rows, gv[:, None] * w[cols])
    xp.add.at(gw, cols, gv[:, None] * x[rows])
    return gx, gw


@register("selected_entries_to_dense")
def selected_entries_to_dense(values, rows, cols, shape):
    """The ``shape`` array holding ``values[e]`` at ``(rows[e], cols[e])`` and 0 elsewhere;
    entries naming one place add up there (so this is also the gradient of
    :func:`dense_to_selected_entries`, e.g. of a bias read at repeated columns)."""
    xp = get_array_module(values)
    dense = xp.zeros(shape, dtype=values.dtype)
    xp.add.at(dense, (xp.asarray(rows), xp.asarray(cols)), values)
    return dense


@register("dense_to_selected_entries")
def dense_to_selected_entries(dense, rows, cols):
    """``(E,)``: the entries ``dense[rows[e], cols[e]]`` (the inverse of
    :func:`selected_entries_to_dense` on the selected entries)."""
    xp = get_array_module(dense)
    return dense[xp.asarray(rows), xp.asarray(cols)]
