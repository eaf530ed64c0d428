"""Batches of variable-length sequences: packed rows plus start offsets.

A batch of three sequences of lengths 2, 3 and 1 travels as ONE array of 6 rows and the
offsets where each sequence starts (Paddle's ``sequenceStartPositions``)::

    row   values (6, D)        starts = [0, 2, 5, 6]
     0    a0  -+ sequence 0
     1    a1  -+
     2    b0  -+
     3    b1   | sequence 1     sequence i is values[starts[i]:starts[i + 1]]
     4    b2  -+
     5    c0  -- sequence 2

Nothing is padded to the longest sequence: a layer that acts on each row (``fc``, an
activation, a projection) runs on all 6 rows at once and keeps the offsets; a sequence layer
(pooling, ``last_seq``, ``expand``, ...) reads them and makes new ones.

Nested sequences (the ``*_sub_sequence`` input types) add a second level: ``sub_starts`` are
the offsets of every subsequence, in rows, and each sequence is a whole number of
subsequences (Paddle's ``subSequenceStartPositions``)::

    row   values      sub_starts = [0, 2, 3, 5, 6]      starts = [0, 3, 6]
     0    a0  -+ subsequence 0 -+
     1    a1  -+                | sequence 0
     2    a2  -- subsequence 1 -+
     3    b0  -+ subsequence 2 -+
     4    b1  -+                | sequence 1
     5    b2  -- subsequence 3 -+

The offsets live on the host (NumPy int64) whatever the backend: they are small, and the
kernels read them to plan their loops. A layout is immutable; layers share it freely.
"""

import numpy as np


class SequenceLayout:
    """Start offsets of the sequences (and subsequences) of a packed batch.

    Notation: ``starts: (S + 1,)`` with ``starts[0] == 0`` and ``starts[-1]`` the number of
    rows; ``sub_starts: (U + 1,)`` or None, containing every value of ``starts``.
    """

    __slots__ = ("starts", "sub_starts", "_row_sequence")

    def __init__(self, starts, sub_starts=None):
        self.starts = _offsets(starts, "starts")
        self.sub_starts = None if sub_starts is None else _offsets(sub_starts, "sub_starts")
        if self.sub_starts is not None:
            if self.sub_starts[-1] != self.starts[-1]:
                raise ValueError(f"sub_starts end at row {self.sub_starts[-1]}, starts at "
                                 f"{self.starts[-1]}; both must cover the same rows")
            if not np.isin(self.starts, self.sub_starts).all():
                raise ValueError("every sequence must start a subsequence: starts "
                                 f"{self.starts.tolist()} not all in sub_starts "
                                 f"{self.sub_starts.tolist()}")
        self._row_sequence = None

    @classmethod
    def from_lengths(cls, lengths, sub_lengths=None):
        """Layout of sequences of ``lengths`` rows (nested: ``sub_lengths[i]`` lists the
        lengths of the subsequences of sequence i, and ``lengths`` is ignored)."""
        if sub_lengths is not None:
            flat = [n for inner in sub_lengths for n in inner]
            lengths = [sum(inner) for inner in sub_lengths]
            return cls(_cumulative(lengths), _cumulative(flat))
        return cls(_cumulative(lengths))

    # --- what a layer asks ---------------------------------------------------------------
    @property
    def num_sequences(self):
        return len(self.starts) - 1

    @property
    def num_rows(self):
        return int(self.starts[-1])

    @property
    def lengths(self):
        return np.diff(self.starts)

    @property
    def is_nested(self):
        return self.sub_starts is not None

    def row_sequence(self):
        """``(R,)`` int64: the sequence each row belongs to (computed once)."""
        if self._row_sequence is None:
            self._row_sequence = np.repeat(np.arange(self.num_sequences), self.lengths)
        return self._row_sequence

    def subsequences(self):
        """The subsequences as a flat layout of their own (one level)."""
        if self.sub_starts is None:
            raise ValueError("this layout has no subsequences")
        return SequenceLayout(self.sub_starts)

    def sequences_of_subsequences(self):
        """Layout grouping the subsequences by sequence: row j of its batch is subsequence j
        (what pooling each subsequence to one row leaves behind)."""
        if self.sub_starts is None:
            raise ValueError("this layout has no subsequences")
        return SequenceLayout(np.searchsorted(self.sub_starts, self.starts))

    def __eq__(self, other):
        if not isinstance(other, SequenceLayout):
            return NotImplemented
        if other is self:
            return True
        same_sub = (self.sub_starts is None) == (other.sub_starts is None) and (
            self.sub_starts is None or np.array_equal(self.sub_starts, other.sub_starts))
        return same_sub and np.array_equal(self.starts, other.starts)

    __hash__ = None

    def __repr__(self):
        nested = "" if self.sub_starts is None else f", sub_starts={self.sub_starts.tolist()}"
        return f"SequenceLayout(starts={self.starts.tolist()}{nested})"


def _cumulative(lengths):
    lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def _offsets(values, what):
    offsets = np.asarray(values)
    if offsets.ndim != 1 or offsets.size < 1 or not np.issubdtype(offsets.dtype, np.integer):
        raise ValueError(f"{what} must be a 1-D integer array of at least one offset, "
                         f"got {values!r:.80}")
    offsets = offsets.astype(np.int64)
    if offsets[0] != 0 or (np.diff(offsets) < 0).any():
        raise ValueError(f"{what} must start at 0 and never decrease, got {offsets.tolist()}")
    offsets.setflags(write=False)
    return offsets


def same_layout(layouts, what):
    """The one layout shared by ``layouts`` (None entries ignored), or a ValueError naming
    ``what`` when sequences of different lengths meet (e.g. two inputs of one layer)."""
    found = None
    for layout in layouts:
        if layout is None:
            continue
        if found is None:
            found = layout
        elif layout != found:
            raise ValueError(f"{what}: inputs hold sequences of different lengths "
                             f"({found.lengths.tolist()} and {layout.lengths.tolist()})")
    return found
