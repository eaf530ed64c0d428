"""The arrangement of a batch of sequences for a ``recurrent_group``'s unrolled steps
(``_Batch``), and the selections of rows or sequences that the steps take.

Running (Paddle's RecurrentGradientMachine, on packed rows). For each batch the sequences
are sorted by length, longest first, once. Timestep ``t`` then runs the step on the sequences
longer than ``t`` only -- a finished sequence drops out -- and they are the first rows of the
step's batch, so every step is one contiguous block of rows and a memory only loses its last
rows (PyTorch's ``PackedSequence`` arrangement)::

    lengths 2, 3, 1  ->  order: seq 1, seq 0, seq 2
    t = 0: rows of seq 1, seq 0, seq 2     (3 running)
    t = 1: rows of seq 1, seq 0            (2 running)
    t = 2: rows of seq 1                   (1 running)

``reverse=True`` runs each sequence from its last timestep to its first (output row ``t`` is
still the output for input row ``t``). All of it is ordinary autograd: the gathering and
splitting of the input rows, the steps, the memories' trimming and the final merge are
Functions (``minidl.functions.recurrent_group``), so gradients flow through the unrolled
steps, the memories' boot layers and the static inputs. The per-step Python work is the
step's own layers plus slicing.

The loop over the timesteps is ``RecurrentGroup._unroll`` (:mod:`.recurrent_graph`).
"""

import numpy as np

from ..core import config
from ..core.sequence import SequenceLayout
from ..core.xp import get_array_module
from ..functions.recurrent_group import gather_rows, merge_rows, prefix_rows, split_rows
from .base import SEQUENCE_LEVELS


class _Batch:
    """One batch's arrangement: the sequences sorted by length (``order``), how many run at
    each timestep (``sizes``) and, for every (step, running sequence) pair in step-major
    order, the sequence (``sample``) and the position in it (``position``)."""

    def __init__(self, group, xs):
        self.group = group
        first = xs[0].data if xs else None
        self.xp = get_array_module(first) if first is not None else np
        floats = [x.data.dtype for x in xs if np.dtype(x.data.dtype).kind == "f"]
        self.dtype = floats[0] if floats else config.default_dtype
        lengths, self.target_layout = None, None
        for _, layer, nested in group.inlinks:
            layout = group._value(xs, layer).seq
            if layout is None:
                raise ValueError(f"recurrent_group {group.name}: input {layer.name} is declared "
                                 f"a {SEQUENCE_LEVELS[layer.seq_level]} but its value carries "
                                 "no sequence layout")
            if nested and not layout.is_nested:
                raise ValueError(f"recurrent_group {group.name}: input {layer.name} is declared "
                                 "a nested sequence but its value carries a one-level layout")
            mine = _top_lengths(layout, nested)
            if lengths is None:
                lengths, first_name = mine, layer.name
            elif not np.array_equal(lengths, mine):
                raise ValueError(f"recurrent_group {group.name}: inputs {first_name} and "
                                 f"{layer.name} have different numbers of timesteps per "
                                 f"sequence ({lengths.tolist()} and {mine.tolist()})")
            if self.target_layout is None or layer is group.target_inlink:
                self.target_layout = layout if not nested else SequenceLayout.from_lengths(mine)
        self.lengths = lengths
        self.order = np.argsort(-lengths, kind="stable")
        sorted_lengths = lengths[self.order]
        self.num_steps = int(sorted_lengths[0]) if len(lengths) else 0
        counts = np.bincount(sorted_lengths, minlength=self.num_steps + 1)
        self.sizes = len(lengths) - np.cumsum(counts)[:self.num_steps]
        self.bounds = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        rank = np.arange(self.bounds[-1]) - np.repeat(self.bounds[:-1], self.sizes)
        step = np.repeat(np.arange(self.num_steps), self.sizes)
        self.sample = self.order[rank]
        self.position = sorted_lengths[rank] - 1 - step if group.reverse else step
        self.first = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    def split_inlink(self, x, nested, layer):
        """The in-link's rows for each timestep (one Tensor per step)."""
        layout = x.seq
        if not nested:
            rows = layout.starts[self.sample] + self.position
            pieces = split_rows(_gather(x, rows), self.bounds)
            return list(pieces)
        first_sub = np.searchsorted(layout.sub_starts, layout.starts)
        sub = first_sub[self.sample] + self.position
        begin, lengths = layout.sub_starts[sub], np.diff(layout.sub_starts)[sub]
        rows = np.repeat(begin - _exclusive_cumsum(lengths), lengths) + np.arange(lengths.sum())
        row_bounds = np.concatenate([[0], np.cumsum(lengths)])[self.bounds]
        pieces = split_rows(_gather(x, rows), row_bounds)
        for t, piece in enumerate(pieces):
            piece.seq = SequenceLayout.from_lengths(lengths[self.bounds[t]:self.bounds[t + 1]])
        return list(pieces)

    def reorder(self, value):
        return select_samples(value, self.order)

    def merge(self, steps, layer):
        """The step outputs, one Tensor per timestep, back in the input's row order."""
        if steps[0].seq is None:
            for t, y in enumerate(steps):
                if len(y) != self.sizes[t]:
                    raise ValueError(f"recurrent_group {self.group.name}: step output "
                                     f"{layer.name} has {len(y)} rows at timestep {t}, expected "
                                     f"one per running sequence ({self.sizes[t]})")
            out = merge_rows(steps, self.first[self.sample] + self.position)
            out.seq = self.target_layout
            return out
        lengths = np.concatenate([np.diff(y.seq.starts) for y in steps])
        flat = self.first[self.sample] + self.position
        sub_lengths = np.zeros(self.bounds[-1], dtype=np.int64)
        sub_lengths[flat] = lengths
        sub_starts = np.concatenate([[0], np.cumsum(sub_lengths)]).astype(np.int64)
        dest = np.repeat(sub_starts[flat] - _exclusive_cumsum(lengths), lengths) + \
            np.arange(lengths.sum())
        out = merge_rows(steps, dest)
        out.seq = SequenceLayout(sub_starts[self.first], sub_starts)
        return out


def _exclusive_cumsum(values):
    return np.concatenate([[0], np.cumsum(values)[:-1]]).astype(np.int64) if len(values) \
        else np.zeros(0, dtype=np.int64)


def _top_lengths(layout, nested):
    """Timesteps per sequence: rows, or subsequences of a nested sequence."""
    if not nested:
        return layout.lengths
    return np.diff(np.searchsorted(layout.sub_starts, layout.starts))


def _gather(x, rows):
    """``x[rows]``, skipping the copy when ``rows`` is every row in order."""
    if len(rows) == len(x) and np.array_equal(rows, np.arange(len(x))):
        return x
    return gather_rows(x, rows)


def select_samples(value, samples):
    """The rows (or sequences) of ``samples`` (indices; repeats allowed), with a layout."""
    samples = np.asarray(samples, dtype=np.int64)
    layout = value.seq
    count = len(value) if layout is None else layout.num_sequences
    if len(samples) == count and np.array_equal(samples, np.arange(count)):
        return value
    unique = len(np.unique(samples)) == len(samples)
    if layout is None:
        return gather_rows(value, samples, unique)
    starts = layout.starts
    lengths = np.diff(starts)[samples]
    rows = np.repeat(starts[samples] - _exclusive_cumsum(lengths), lengths) + \
        np.arange(lengths.sum())
    out = gather_rows(value, rows, unique)
    if layout.is_nested:
        first = np.searchsorted(layout.sub_starts, starts)
        sub_lengths = np.diff(layout.sub_starts)
        out.seq = SequenceLayout.from_lengths(
            None, [sub_lengths[first[s]:first[s + 1]].tolist() for s in samples])
    else:
        out.seq = SequenceLayout.from_lengths(lengths)
    return out


def _prefix_samples(value, n):
    """The first ``n`` samples (rows or sequences) of ``value``: the sequences still
    running, as the batch is sorted longest first."""
    layout = value.seq
    if layout is None:
        return value if n == len(value) else prefix_rows(value, n)
    if n == layout.num_sequences:
        return value
    rows = int(layout.starts[n])
    out = prefix_rows(value, rows)
    if layout.is_nested:
        k = int(np.searchsorted(layout.sub_starts, rows))
        out.seq = SequenceLayout(layout.starts[:n + 1], layout.sub_starts[:k + 1])
    else:
        out.seq = SequenceLayout(layout.starts[:n + 1])
    return out


__all__ = ["select_samples"]
