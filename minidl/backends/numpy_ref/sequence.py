"""Reference kernels of the sequence layers: pooling, picking one row per sequence,
expanding rows into sequences and joining two batches of sequences.

A batch of sequences is packed rows ``x: (R, D)`` plus host offsets ``starts: (S + 1,)``
(``minidl/core/sequence.py``): sequence i is ``x[starts[i]:starts[i + 1]]``. A kernel does not
care what a "sequence" is: the layer passes the sequence starts, the subsequence starts
(pooling each subsequence of a nested batch) or the starts of stride windows. Every kernel
loops over the sequences in Python, the plainest statement of what it computes; the loops
run S times, not R times, and each step is one array operation on a block of rows.
"""

import math

from ...core.xp import get_array_module
from ..registry import register

#: Paddle's ``AverageLayer`` strategies (``paddle.pooling.Avg``, ``Sum``, ``SquareRootN``)
AVERAGE_STRATEGIES = ("average", "sum", "squarerootn")


def _rows_of(starts, i):
    """``(begin, end)`` of sequence ``i`` as Python ints."""
    return int(starts[i]), int(starts[i + 1])


def _strategy_scale(strategy, n):
    """The factor applied to a sequence's sum of ``n`` rows."""
    if strategy == "average":
        return 1.0 / n
    if strategy == "sum":
        return 1.0
    if strategy == "squarerootn":
        return 1.0 / math.sqrt(n)
    raise ValueError(f"unknown average strategy {strategy!r}; expected one of "
                     f"{AVERAGE_STRATEGIES}")


# --- pooling: Avg / Sum / SquareRootN ------------------------------------------------------

@register("seq_pool_forward")
def seq_pool_forward(x, starts, strategy):
    """Sum of each sequence's rows, scaled by ``strategy``.

    Notation: ``x: (R, D)``, ``starts: (S + 1,)`` -> ``y: (S, D)``; ``n_i`` rows in sequence i::

        average:      y[i] = (x[starts[i]] + ... + x[starts[i+1] - 1]) / n_i
        sum:          y[i] =  x[starts[i]] + ... + x[starts[i+1] - 1]
        squarerootn:  y[i] = (x[starts[i]] + ... + x[starts[i+1] - 1]) / sqrt(n_i)

    An empty sequence gives a row of zeros.
    """
    xp = get_array_module(x)
    num_sequences = len(starts) - 1
    y = xp.zeros((num_sequences, x.shape[1]), dtype=x.dtype)
    for i in range(num_sequences):
        begin, end = _rows_of(starts, i)
        if end > begin:
            y[i] = x[begin:end].sum(axis=0) * _strategy_scale(strategy, end - begin)
    return y


@register("seq_pool_backward")
def seq_pool_backward(gy, starts, strategy):
    """``gx: (R, D)``: every row of sequence i receives ``gy[i]`` times the same factor."""
    xp = get_array_module(gy)
    gx = xp.zeros((int(starts[-1]), gy.shape[1]), dtype=gy.dtype)
    for i in range(len(starts) - 1):
        begin, end = _rows_of(starts, i)
        if end > begin:
            gx[begin:end] = gy[i] * _strategy_scale(strategy, end - begin)
    return gx


# --- pooling: Max ---------------------------------------------------------------------------

@register("seq_max_pool_forward")
def seq_max_pool_forward(x, starts):
    """Largest value of each column over each sequence, and the row it came from.

    Notation: ``x: (R, D)``, ``starts: (S + 1,)`` -> ``y: (S, D)``, ``argmax: (S, D)`` int64::

        y[i, d]      = max over r in [starts[i], starts[i+1]) of x[r, d]
        argmax[i, d] = the first such r reaching it (a row of the whole batch)

    As ``argmax`` does, a NaN counts as the largest value, so a NaN in a sequence gives NaN.
    An empty sequence gives 0 and ``argmax`` -1 (no row receives its gradient).
    """
    xp = get_array_module(x)
    num_sequences, width = len(starts) - 1, x.shape[1]
    y = xp.zeros((num_sequences, width), dtype=x.dtype)
    argmax = xp.full((num_sequences, width), -1, dtype=xp.int64)
    columns = xp.arange(width)
    for i in range(num_sequences):
        begin, end = _rows_of(starts, i)
        if end > begin:
            rows = begin + xp.argmax(x[begin:end], axis=0)    # (D,): the winning row per column
            argmax[i] = rows
            y[i] = x[rows, columns]
    return y, argmax


@register("seq_max_pool_backward")
def seq_max_pool_backward(gy, argmax, num_rows):
    """``gx: (num_rows, D)``: ``gx[argmax[i, d], d] = gy[i, d]``, zero elsewhere -- each
    output's gradient goes back to the row that won."""
    xp = get_array_module(gy)
    gx = xp.zeros((num_rows, gy.shape[1]), dtype=gy.dtype)
    columns = xp.arange(gy.shape[1])
    for i in range(gy.shape[0]):
        won = argmax[i] >= 0
        # each (row, column) pair appears at most once per sequence, and sequences own
        # disjoint rows, so += through fancy indexing loses no share
        gx[argmax[i][won], columns[won]] += gy[i][won]
    return gx


# --- one row per sequence: last_seq / first_seq ---------------------------------------------

@register("seq_instance_forward")
def seq_instance_forward(x, starts, select_first):
    """One row of each sequence: its first (``select_first``) or its last.

    Notation: ``x: (R, D)``, ``starts: (S + 1,)`` -> ``y: (S, D)``::

        y[i] = x[starts[i]]          (first_seq)
        y[i] = x[starts[i+1] - 1]    (last_seq)

    Every sequence must hold at least one row.
    """
    xp = get_array_module(x)
    num_sequences = len(starts) - 1
    y = xp.empty((num_sequences, x.shape[1]), dtype=x.dtype)
    for i in range(num_sequences):
        begin, end = _rows_of(starts, i)
        if end <= begin:
            raise ValueError(f"sequence {i} is empty: it has no first or last row")
        y[i] = x[begin] if select_first else x[end - 1]
    return y


@register("seq_instance_backward")
def seq_instance_backward(gy, starts, select_first):
    """``gx: (R, D)``: ``gy[i]`` at the row ``y[i]`` was copied from, zero elsewhere."""
    xp = get_array_module(gy)
    gx = xp.zeros((int(starts[-1]), gy.shape[1]), dtype=gy.dtype)
    for i in range(len(starts) - 1):
        begin, end = _rows_of(starts, i)
        gx[begin if select_first else end - 1] = gy[i]
    return gx


# --- expand ---------------------------------------------------------------------------------

@register("seq_expand_forward")
def seq_expand_forward(x, starts):
    """Row i of ``x`` repeated over every row of sequence i.

    Notation: ``x: (S, D)``, ``starts: (S + 1,)`` -> ``y: (starts[-1], D)``::

        y[r] = x[i]   for r in [starts[i], starts[i+1])

    The backward is the ``sum`` pooling of the output gradient over the same starts.
    """
    xp = get_array_module(x)
    y = xp.empty((int(starts[-1]), x.shape[1]), dtype=x.dtype)
    for i in range(len(starts) - 1):
        begin, end = _rows_of(starts, i)
        y[begin:end] = x[i]
    return y


# --- seq_concat -----------------------------------------------------------------------------

@register("seq_concat_forward")
def seq_concat_forward(a, starts_a, b, starts_b):
    """Sequence i of ``a`` followed by sequence i of ``b``, for every i.

    Notation: ``a: (Ra, D)``, ``b: (Rb, D)``, both with S sequences -> ``y: (Ra + Rb, D)``,
    whose sequence i starts at row ``starts_a[i] + starts_b[i]``::

        y[starts_a[i] + starts_b[i] : starts_a[i+1] + starts_b[i]]     = a's sequence i
        y[starts_a[i+1] + starts_b[i] : starts_a[i+1] + starts_b[i+1]] = b's sequence i
    """
    xp = get_array_module(a)
    y = xp.empty((a.shape[0] + b.shape[0], a.shape[1]), dtype=a.dtype)
    out = 0
    for i in range(len(starts_a) - 1):
        begin_a, end_a = _rows_of(starts_a, i)
        begin_b, end_b = _rows_of(starts_b, i)
        y[out:out + end_a - begin_a] = a[begin_a:end_a]
        out += end_a - begin_a
        y[out:out + end_b - begin_b] = b[begin_b:end_b]
        out += end_b - begin_b
    return y


@register("seq_concat_backward")
def seq_concat_backward(gy, starts_a, starts_b):
    """``(ga, gb)``: the blocks of ``gy`` that came from each input, put back in place."""
    xp = get_array_module(gy)
    ga = xp.empty((int(starts_a[-1]), gy.shape[1]), dtype=gy.dtype)
    gb = xp.empty((int(starts_b[-1]), gy.shape[1]), dtype=gy.dtype)
    out = 0
    for i in range(len(starts_a) - 1):
        begin_a, end_a = _rows_of(starts_a, i)
        begin_b, end_b = _rows_of(starts_b, i)
        ga[begin_a:end_a] = gy[out:out + end_a - begin_a]
        out += end_a - begin_a
        gb[begin_b:end_b] = gy[out:out + end_b - begin_b]
        out += end_b - begin_b
    return ga, gb
