"""The plan of a packed batch: which packed row each running sequence reads at each step.

The recurrent kernels (``lstm.py``, ``gru.py``) loop over TIME, once per timestep of the
longest sequence, and each step handles every sequence still running at once, as PyTorch's
``PackedSequence`` does::

    lengths 5, 2, 4  ->  sorted by length: sequences 0, 2, 1
    step      0  1  2  3  4
    running   3  3  2  2  1        (a prefix of the sorted sequences: the set only shrinks)

The packed batch is never padded or copied into a time-major tensor. A plan made once per
call (:func:`_plan`) lists, step after step, the packed row each running sequence reads at
that step; within a step the running sequences keep their sorted order, so the first ``n``
entries of one step and of the step before are the same sequences. :class:`_Steps` holds
that plan and decides once per call whether the passes run on one thread
(:data:`SERIAL_BELOW`, ``threads.py``).
"""

import numpy as np

from .threads import one_thread_below

#: below this many values per step (running sequences x H) the passes run on the calling
#: thread alone: at 64 x 512 a step's pass takes ~0.4 ms on one thread, and waking the other
#: cost more than it saved (50 steps: 20 ms on one thread, 26 ms on two)
SERIAL_BELOW = 1 << 17


def _plan(starts, reverse):
    """``(rows, prev_rows, step_starts)`` of a batch, time-major.

    ``step_starts: (T + 1,)``: step t's entries are ``step_starts[t]:step_starts[t + 1]``;
    ``rows: (R,)``: the packed row of each entry; ``prev_rows: (R,)``: the row the same
    sequence read at the step before (``-1`` at its first step). Sequences are sorted by
    length, longest first (ties in batch order), so step t's running sequences are the
    first ``step_starts[t + 1] - step_starts[t]`` of that order.
    """
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.diff(starts)
    order = np.argsort(-lengths, kind="stable")
    steps = int(lengths.max()) if lengths.size else 0
    running = (lengths[order][None, :] > np.arange(steps)[:, None]).sum(axis=1)
    step_starts = np.concatenate([[0], np.cumsum(running)]).astype(np.int64)
    t = np.repeat(np.arange(steps, dtype=np.int64), running)
    sequence = order[np.arange(t.size) - step_starts[t]]
    if reverse:
        rows = starts[sequence + 1] - 1 - t
        prev_rows = rows + 1
    else:
        rows = starts[sequence] + t
        prev_rows = rows - 1
    prev_rows[t == 0] = -1
    return rows, prev_rows, step_starts


class _Steps:
    """The plan of one call and the loop over its steps (forward or backward order)."""

    def __init__(self, starts, reverse, hidden):
        self.rows, self.prev_rows, self.step_starts = _plan(starts, reverse)
        self.count = len(self.step_starts) - 1
        #: running sequences at the first step: all of them (those with any rows)
        self.widest = int(self.step_starts[1]) if self.count else 0
        self.serial = one_thread_below(self.widest * hidden, SERIAL_BELOW)

    def span(self, t):
        """``(first entry, number of running sequences)`` of step t."""
        return int(self.step_starts[t]), int(self.step_starts[t + 1] - self.step_starts[t])

