"""The area under the ROC curve of binned scores, as Paddle's AucEvaluator computes it.

Scores in [0, 1] fall into 2**24 bins, ``bin = int(score * (2**24 - 1))``. Summing the
positive and negative weights per bin and walking the bins from the highest down, each bin
adds a trapezoid under the (false positive, true positive) curve; divided by the total
positive and negative weights, that is the probability that a positive outscores a
negative, a tie within a bin counting half. The bins are kept as one :class:`RowStats` row
per scored sample (2**24 counters would not fit a pass's statistics).
"""

import numpy as np

from .pass_rows import RowStats

TOP_BIN = 2 ** 24 - 1


def binned(scores, labels, weight, what):
    """``RowStats`` of the bin, positive weight and negative weight of each sample
    (label 0 is negative, any other label positive); ``what`` names the scores in errors."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.size and not (scores.min() >= 0 and scores.max() <= 1):
        raise ValueError(f"{what} holds scores outside [0, 1] (min {scores.min():g}, max "
                         f"{scores.max():g}); auc bins probabilities")
    labels = np.asarray(labels).reshape(-1)
    return RowStats(bin=(scores * TOP_BIN).astype(np.int64),
                    positive=weight * (labels != 0), negative=weight * (labels == 0))


def area(rows):
    """The area under the curve of :func:`binned` rows (0 without positives or negatives)."""
    bins, where = np.unique(rows["bin"], return_inverse=True)
    positive = np.bincount(where, rows["positive"], len(bins))[::-1]   # highest bin first
    negative = np.bincount(where, rows["negative"], len(bins))[::-1]
    tp = np.concatenate([[0.0], np.cumsum(positive)])
    fp = np.concatenate([[0.0], np.cumsum(negative)])
    if tp[-1] <= 0 or fp[-1] <= 0:
        return 0.0
    return float(np.sum((fp[1:] - fp[:-1]) * (tp[1:] + tp[:-1]) / 2) / (tp[-1] * fp[-1]))


__all__ = ["TOP_BIN", "binned", "area"]
