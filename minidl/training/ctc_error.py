"""``paddle.evaluator.ctc_error``: edit distance of best-path CTC decoding to the labels.

The input is what a ``ctc`` cost reads: per timestep, scores of ``num_classes + 1`` classes,
the last one the blank. Each sequence is decoded by best path -- the highest score per
timestep, runs of one class merged, blanks dropped -- and aligned with its label sequence.
Per sequence, with ``n`` labels and ``m`` decoded classes::

    error              = edit distance / max(n, m)
    substitution_error = substitutions / max(n, m)     (and so deletions, insertions, along
                                                         one optimal alignment)
    sequence_error     = 1 if the edit distance is not 0, else 0

(a sequence with no labels decoded to nothing counts 0 everywhere). The pass sums these
over its sequences and divides by the number of label sequences; ``event.metrics`` shows
``<name>.error``, ``<name>.deletion_error``, ``<name>.insertion_error``,
``<name>.substitution_error`` and ``<name>.sequence_error`` as v2 named them.
"""

import numpy as np

from ..layers.base import Layer, default_name
from .evaluators import Evaluator, declared

#: v2's names of the values, in the order of the statistics after the first
NAMES = ("error", "deletion_error", "insertion_error", "substitution_error", "sequence_error")


def best_path(scores):
    """``scores: (T, C)`` -> the decoded class ids ``(m,)``: the argmax of each row, repeats
    merged (a blank between two equal classes keeps both), the blank ``C - 1`` dropped."""
    path = np.asarray(scores).argmax(axis=1)
    keep = path != scores.shape[1] - 1
    keep[1:] &= path[1:] != path[:-1]
    return path[keep]


def alignment(truth, decoded):
    """``(substitutions, deletions, insertions)`` turning ``truth`` into ``decoded``; their
    sum is the edit distance (Levenshtein, every operation costing 1).

    The split follows one optimal alignment, walked back from the ends of both sequences: a
    step along the diagonal when it keeps the distance (a match) or lowers it by one (a
    substitution), else a deletion (a step up) when that fits, else an insertion.
    """
    n, m = len(truth), len(decoded)
    if n == 0 or m == 0:
        return 0, n, m
    d = np.zeros((n + 1, m + 1), dtype=np.int64)
    d[:, 0], d[0, :] = np.arange(n + 1), np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1,
                          d[i - 1, j - 1] + int(truth[i - 1] != decoded[j - 1]))
    substitutions = deletions = insertions = 0
    i, j = n, m
    while i and j:
        if d[i, j] == d[i - 1, j - 1]:
            i, j = i - 1, j - 1
        elif d[i, j] == d[i - 1, j - 1] + 1:
            substitutions, i, j = substitutions + 1, i - 1, j - 1
        elif d[i, j] == d[i - 1, j] + 1:
            deletions, i = deletions + 1, i - 1
        else:
            insertions, j = insertions + 1, j - 1
    return substitutions, deletions + i, insertions + j


class CTCError(Evaluator):
    """Best-path CTC decoding against label sequences; see the module docstring."""

    def __init__(self, input, label, name=None):
        name = name or default_name("ctc_error_evaluator")
        for layer, what in ((input, "input"), (label, "label")):
            if not isinstance(layer, Layer):
                raise ValueError(f"evaluator {name}: {what} must be a layer, got {layer!r}")
            if not layer.seq_level:
                raise ValueError(f"evaluator {name}: {what} {layer.name} is a non-sequence; "
                                 "ctc_error decodes and compares sequences")
        if input.size != label.size + 1:
            raise ValueError(f"evaluator {name}: input {input.name} has size {input.size}; "
                             f"expected label {label.name}'s {label.size} classes + 1 blank "
                             f"= {label.size + 1}")
        self.input, self.label = input, label
        super().__init__(name, [input, label])

    def _layout(self, outputs, layer, what):
        layout = outputs.get((layer.name, "seq"))
        if layout is None:
            raise ValueError(f"evaluator {self.name}: {what} {layer.name} carries no sequence "
                             "layout")
        return layout

    def batch_stats(self, outputs):
        scores = outputs[self.input.name].reshape(len(outputs[self.input.name]), -1)
        labels = outputs[self.label.name].reshape(-1)
        score_starts = self._layout(outputs, self.input, "input").starts
        label_starts = self._layout(outputs, self.label, "label").starts
        if len(score_starts) != len(label_starts):
            raise ValueError(f"evaluator {self.name}: input {self.input.name} has "
                             f"{len(score_starts) - 1} sequences, label {self.label.name} "
                             f"{len(label_starts) - 1}")
        # [error, deletions, insertions, substitutions, wrong sequences, sequences]
        stats = [0.0] * 5 + [float(len(label_starts) - 1)]
        for i in range(len(label_starts) - 1):
            decoded = best_path(scores[score_starts[i]:score_starts[i + 1]])
            truth = labels[label_starts[i]:label_starts[i + 1]]
            substitutions, deletions, insertions = alignment(truth, decoded)
            longest = max(len(truth), len(decoded))
            if longest == 0:
                continue
            distance = substitutions + deletions + insertions
            stats[0] += distance / longest
            stats[1] += deletions / longest
            stats[2] += insertions / longest
            stats[3] += substitutions / longest
            stats[4] += float(distance > 0)
        return stats

    @staticmethod
    def value(stats):
        """``{name: value}`` of the summed statistics (0 for no sequences)."""
        *sums, sequences = stats
        return {name: float(total / sequences) if sequences else 0.0
                for name, total in zip(NAMES, sums)}

    def result(self):
        return self.value(self.stats if self.stats is not None else [0.0] * 6)


def ctc_error(input, label, name=None, **_ignored):
    """Declare a CTC edit-distance evaluator (see :class:`CTCError`)."""
    evaluator = CTCError(input, label, name)
    declared.append(evaluator)
    return evaluator


ctc_error_evaluator = ctc_error

__all__ = ["CTCError", "best_path", "alignment", "ctc_error", "ctc_error_evaluator"]
