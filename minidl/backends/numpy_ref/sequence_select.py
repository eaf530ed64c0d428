"""Reference kernels of ``seq_slice`` and ``sub_nested_seq``: picking rows of a batch of
sequences by index, as beam training does.

Both layers work in two steps. A PLAN, computed on the host from the offsets and the given
indices, lists the input rows the output is made of (``rows``, int64) and the lengths of the
pieces they form; then the values move: ``y = x[rows]``, and backward adds each row of the
output gradient to the input row it came from (``select_rows_grad``; a row picked twice gets
both gradients). The index arrays hold whole numbers stored as floats (what
``kmax_seq_score`` or a ``dense_vector`` data layer gives); in each row, a -1 ends the list.

Notation: a UNIT is what the indices are relative to -- a sequence of a plain batch, a
subsequence of a nested one; ``unit_starts: (U + 1,)`` are the units' offsets.
"""

import numpy as np

from ...core.xp import get_array_module
from ..registry import register


def _whole(values, what):
    """``values`` (host floats) as int64, or a ValueError when one is not a whole number
    >= -1."""
    values = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(values) | (values != np.round(values)) | (values < -1)
    if bad.any():
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{what} must hold whole numbers >= 0 (with -1 ending a row); entry "
                         f"{position} is {float(values[position])}")
    return values.astype(np.int64)


@register("seq_slice_rows")
def seq_slice_rows(unit_starts, starts=None, ends=None):
    """The plan of ``seq_slice``: ``(rows, slice_lengths, slices_per_unit)``.

    ``starts``, ``ends``: ``(U, K)`` index arrays (either may be None, not both); column k
    of row u describes slice k of unit u, as positions within the unit (``ends`` inclusive)::

        first row = unit_starts[u] + starts[u, k]      (the unit's first row without starts)
        last row  = unit_starts[u] + ends[u, k]        (the unit's last row without ends)

    A -1 in either array ends unit u's slices. Every slice must hold at least one row of its
    unit. ``rows`` lists the slices' rows one slice after another, ``slice_lengths`` their
    lengths, ``slices_per_unit: (U,)`` how many slices each unit gave.
    """
    if starts is None and ends is None:
        raise ValueError("seq_slice needs start indices, end indices or both")
    unit_starts = np.asarray(unit_starts, dtype=np.int64)
    num_units = len(unit_starts) - 1
    first = None if starts is None else _whole(starts, "starts")
    last = None if ends is None else _whole(ends, "ends")
    for array, name in ((first, "starts"), (last, "ends")):
        if array is not None and (array.ndim != 2 or array.shape[0] != num_units):
            raise ValueError(f"{name} has shape {array.shape}; expected one row per "
                             f"sequence ({num_units} rows)")
    if first is not None and last is not None and first.shape != last.shape:
        raise ValueError(f"starts {first.shape} and ends {last.shape} must have one shape")
    width = (first if first is not None else last).shape[1]
    rows, lengths, per_unit = [], [], []
    for u in range(num_units):
        begin, end = int(unit_starts[u]), int(unit_starts[u + 1])
        count = 0
        for k in range(width):
            if (first is not None and first[u, k] == -1) or (last is not None and
                                                            last[u, k] == -1):
                break
            lo = begin + (int(first[u, k]) if first is not None else 0)
            hi = begin + int(last[u, k]) if last is not None else end - 1
            if not begin <= lo <= hi < end:
                raise ValueError(f"slice {k} of sequence {u} covers positions "
                                 f"[{lo - begin}, {hi - begin}] of a sequence of {end - begin} "
                                 "rows; expected 0 <= start <= end < length")
            rows.extend(range(lo, hi + 1))
            lengths.append(hi - lo + 1)
            count += 1
        per_unit.append(count)
    return (np.array(rows, dtype=np.int64), np.array(lengths, dtype=np.int64),
            np.array(per_unit, dtype=np.int64))


@register("sub_nested_seq_rows")
def sub_nested_seq_rows(starts, sub_starts, selected):
    """The plan of ``sub_nested_seq``: ``(rows, sub_lengths, selected_per_sequence)``.

    ``starts``, ``sub_starts``: the nested layout's offsets; ``selected: (S, K)`` lists, for
    sequence i, subsequences of it by their position within it (0 is its first), until a -1.
    ``rows`` lists the chosen subsequences' rows in the order chosen, ``sub_lengths`` their
    lengths, ``selected_per_sequence: (S,)`` how many each sequence kept.
    """
    starts = np.asarray(starts, dtype=np.int64)
    sub_starts = np.asarray(sub_starts, dtype=np.int64)
    chosen = _whole(selected, "selected_indices")
    num_sequences = len(starts) - 1
    if chosen.ndim != 2 or chosen.shape[0] != num_sequences:
        raise ValueError(f"selected_indices has shape {chosen.shape}; expected one row per "
                         f"sequence ({num_sequences} rows)")
    # the subsequences of sequence i are first[i] .. first[i + 1] - 1
    first = np.searchsorted(sub_starts, starts)
    rows, lengths, per_sequence = [], [], []
    for i in range(num_sequences):
        count = 0
        for k in range(chosen.shape[1]):
            index = int(chosen[i, k])
            if index == -1:
                break
            available = int(first[i + 1] - first[i])
            if index >= available:
                raise ValueError(f"selected_indices[{i}, {k}] = {index}, but sequence {i} has "
                                 f"{available} subsequences")
            u = int(first[i]) + index
            rows.extend(range(int(sub_starts[u]), int(sub_starts[u + 1])))
            lengths.append(int(sub_starts[u + 1] - sub_starts[u]))
            count += 1
        per_sequence.append(count)
    return (np.array(rows, dtype=np.int64), np.array(lengths, dtype=np.int64),
            np.array(per_sequence, dtype=np.int64))


@register("select_rows")
def select_rows(x, rows):
    """``y = x[rows]``: ``x: (R, D)``, ``rows: (M,)`` int64 host indices -> ``(M, D)``."""
    return x[get_array_module(x).asarray(rows)]


@register("select_rows_grad")
def select_rows_grad(gy, rows, num_rows):
    """``gx: (num_rows, D)`` with ``gx[r] = sum of gy[m] over m with rows[m] == r``."""
    xp = get_array_module(gy)
    gx = xp.zeros((num_rows,) + gy.shape[1:], dtype=gy.dtype)
    xp.add.at(gx, xp.asarray(rows), gy)
    return gx
