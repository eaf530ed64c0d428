"""Evaluator statistics that keep the rows themselves: :class:`RowStats`.

Most evaluators sum fixed-size counts over a pass. A few need the pass's rows: ``pnpair``
pairs the rows of one query wherever they fell in the pass, and ``auc`` keeps the score bin
of every row (its 2**24 bins are too many to hold as counters). ``RowStats`` holds named
columns of equal length and adds by concatenating, so summing batch statistics -- the
trainer over a pass, the ranks under MPI -- gathers the rows.
"""

import numpy as np


class RowStats:
    """Named columns ``{name: (R,) array}`` of one set of rows; ``a + b`` concatenates."""

    def __init__(self, **columns):
        self.columns = {name: np.asarray(column).reshape(-1) for name, column in columns.items()}
        lengths = {len(column) for column in self.columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"RowStats columns differ in length: "
                             f"{ {name: len(c) for name, c in self.columns.items()} }")

    def __getitem__(self, name):
        return self.columns[name]

    def __len__(self):
        return len(next(iter(self.columns.values()), ()))

    def __add__(self, other):
        if isinstance(other, (int, float)) and other == 0:   # sum() starts from 0
            return self
        if not isinstance(other, RowStats) or other.columns.keys() != self.columns.keys():
            return NotImplemented
        return RowStats(**{name: np.concatenate([column, other.columns[name]])
                           for name, column in self.columns.items()})

    __radd__ = __add__

    def __repr__(self):
        return f"RowStats({len(self)} rows: {', '.join(self.columns)})"


__all__ = ["RowStats"]
