"""The embedding table's gradient for the ``cpu`` backend: a scatter-add loop.

The reference (``numpy_ref/mixed.py``) scatters with ``np.add.at``, which handles any
index array and any shape generically and costs ~40 us for 100 rows of 32 values -- eight
times the loop below, and word2vec's N-gram network pays it once per context word each step.
The rows are added in the order of ``ids``, as ``np.add.at`` adds them: the same numbers.
"""

import numpy as np
from numba import njit

from ..registry import register


@njit(cache=True)
def _scatter_add_rows(ids, gy, grad):
    """Add row ``gy[r]`` to row ``ids[r]`` of ``grad``, an id below 0 counting from the end
    as in NumPy; returns False, adding nothing, when an id is outside the table."""
    rows = grad.shape[0]
    for r in range(ids.shape[0]):
        if not -rows <= ids[r] < rows:
            return False
    for r in range(ids.shape[0]):
        target, source = grad[ids[r] % rows], gy[r]
        for j in range(source.shape[0]):
            target[j] += source[j]
    return True


@register("table_lookup_grad", backend="cpu")
def table_lookup_grad(ids, gy, num_rows):
    """``grad[v] = sum of gy[r] over r with ids[r] == v``.

    Notation: ``ids: (R,)`` int, ``gy: (R, D...)`` -> ``(num_rows, D...)``.
    """
    ids = np.asarray(ids).reshape(-1)
    grad = np.zeros((num_rows,) + tuple(gy.shape[1:]), dtype=gy.dtype)
    if ids.size:
        rows = np.ascontiguousarray(gy).reshape(len(ids), -1)
        if not _scatter_add_rows(ids.astype(np.int64, copy=False), rows,
                                 grad.reshape(num_rows, -1)):
            raise IndexError(f"table_lookup_grad: an id is outside a table of {num_rows} rows")
    return grad
