"""Feeding sequence and sparse samples: Python lists -> packed rows and their layout.

For a data layer of a sequence type every sample is a list of timesteps (a nested sequence:
a list of lists). The timesteps of the whole minibatch are stacked into one array, in sample
order, and a :class:`~minidl.core.sequence.SequenceLayout` records where each sample starts::

    integer_value_sequence(10), samples [3, 1, 4], [1], [5, 9]
        ->  ids [3, 1, 4, 1, 5, 9], starts [0, 3, 4, 6]

One timestep is converted as the non-sequence type converts one sample: ``d`` numbers for a
dense vector, an int in ``[0, d)`` for an integer value, the indices of the ones (binary) or
``(index, value)`` pairs (float) for a sparse vector. Errors name the data layer, the sample,
the timestep and what was expected; an empty sequence (or subsequence) is refused, as v2 did.
"""

import numbers

import numpy as np

from ..backends import xp as backend_xp
from ..core import config
from ..core.sequence import SequenceLayout
from ..core.sparse_rows import SparseRows
from ..core.tensor import Tensor


class FeedError(ValueError):
    """A sample does not fit its data layer."""


def convert(layer, values):
    """The Tensor a data layer of a sequence or sparse type outputs for ``values`` (one
    field of every sample of the minibatch)."""
    input_type = layer.input_type
    level = input_type.seq_type
    timesteps, lengths, sub_lengths = [], [], []
    for number, value in enumerate(values):
        where = f"data layer {layer.name}, sample {number}"
        if level == 0:
            timesteps.append((where, value))
            continue
        if level == 1 and _is_block(value, input_type):
            lengths.append(len(value))      # a (timesteps, dim) array: one copy, not a row each
            timesteps.append((where, _Block(value)))
            continue
        sequence = _as_list(value, where, f"a list of timesteps ({input_type!r})")
        if level == 1:
            lengths.append(len(sequence))
            timesteps.extend((f"{where}, timestep {t}", step) for t, step in enumerate(sequence))
            continue
        inner_lengths = []
        for k, inner in enumerate(sequence):
            inner = _as_list(inner, f"{where}, subsequence {k}",
                             f"a list of timesteps ({input_type!r})")
            inner_lengths.append(len(inner))
            timesteps.extend((f"{where}, subsequence {k}, timestep {t}", step)
                             for t, step in enumerate(inner))
        sub_lengths.append(inner_lengths)
    layout = None
    if level == 1:
        layout = SequenceLayout.from_lengths(lengths)
    elif level == 2:
        layout = SequenceLayout.from_lengths(None, sub_lengths)
    return Tensor(_rows(input_type, timesteps), seq=layout)


class _Block:
    """A whole dense sequence given as one ``(timesteps, dim)`` array of numbers."""

    __slots__ = ("rows",)

    def __init__(self, rows):
        self.rows = rows


def _is_block(value, input_type):
    return (input_type.kind == "dense" and isinstance(value, np.ndarray) and value.ndim == 2
            and value.shape[0] > 0 and value.shape[1] == input_type.dim
            and (value.dtype.kind in "fiub"))


def _as_list(value, where, expected):
    if isinstance(value, np.ndarray) and value.ndim >= 1:
        value = list(value)
    if not isinstance(value, (list, tuple)):
        raise FeedError(f"{where}: expected {expected}, got {_show(value)}")
    if len(value) == 0:
        raise FeedError(f"{where}: an empty sequence; every sequence needs at least one "
                        "timestep")
    return value


def _rows(input_type, timesteps):
    """Stack the converted timesteps: an array, or SparseRows for sparse types."""
    kind, dim = input_type.kind, input_type.dim
    if kind == "index":
        return backend_xp().asarray(np.array([_index(where, v, dim) for where, v in timesteps],
                                             dtype=np.int64))
    if kind == "dense":
        count = sum(len(v.rows) if isinstance(v, _Block) else 1 for _, v in timesteps)
        rows = np.empty((count, dim), dtype=config.default_dtype)
        i = 0
        for where, value in timesteps:
            if isinstance(value, _Block):
                rows[i:i + len(value.rows)] = value.rows
                i += len(value.rows)
            else:
                rows[i] = _dense(where, value, dim)
                i += 1
        return backend_xp().asarray(rows)
    indptr, indices, values = [0], [], []
    for where, value in timesteps:
        entries = _sparse(where, value, dim, binary=kind == "sparse_binary")
        indices.extend(index for index, _ in entries)
        values.extend(v for _, v in entries)
        indptr.append(len(indices))
    return SparseRows(indptr, indices,
                      None if kind == "sparse_binary" else np.array(values, config.default_dtype),
                      dim)


def _index(where, value, dim):
    if isinstance(value, (list, tuple, np.ndarray)) and np.size(value) == 1:
        value = np.asarray(value).reshape(-1)[0]
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise FeedError(f"{where}: expected an integer in [0, {dim}), got {_show(value)}")
    if not 0 <= value < dim:
        raise FeedError(f"{where}: id {value} is out of range [0, {dim})")
    return int(value)


def _dense(where, value, dim):
    try:
        row = np.asarray(value, dtype=config.default_dtype).reshape(-1)
    except (TypeError, ValueError):
        raise FeedError(f"{where}: expected a vector of {dim} numbers, got "
                        f"{_show(value)}") from None
    if row.size != dim:
        raise FeedError(f"{where}: expected a vector of {dim} numbers, got {row.size}")
    return row


def _sparse(where, value, dim, binary):
    expected = "the indices of the nonzero entries" if binary else "(index, value) pairs"
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise FeedError(f"{where}: expected a list of {expected}, got {_show(value)}")
    entries = []
    for item in value:
        if binary:
            index, number = item, 1.0
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            index, number = item
        else:
            raise FeedError(f"{where}: expected a list of {expected}, found {_show(item)}")
        entries.append((_index(where, index, dim), _number(where, number)))
    if len({index for index, _ in entries}) != len(entries):
        raise FeedError(f"{where}: an index appears twice in {_show(value)}")
    return entries


def _number(where, value):
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise FeedError(f"{where}: expected a number, got {_show(value)}")
    return float(value)


def _show(value, limit=60):
    text = repr(value)
    if isinstance(value, np.ndarray):
        text = f"array(shape={value.shape}, dtype={value.dtype})"
    return text if len(text) <= limit else text[:limit - 3] + "..."
