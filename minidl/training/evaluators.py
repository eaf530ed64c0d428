"""``paddle.evaluator``: metrics computed from layer outputs during train and test.

An evaluator names the layers it reads; the trainer runs it on every batch of a network
that contains those layers and reports its value in ``event.metrics`` under its name.
``classification_cost`` adds ``classification_error_evaluator`` by itself.

Each evaluator accumulates sufficient statistics (counts, sums) so that a pass's value is
exact, not an average of batch values.
"""

import numpy as np

from ..layers.base import Layer, default_name

#: evaluators declared with the functions below, picked up by trainers whose network
#: contains their input layers (Paddle collected them in its global config the same way)
declared = []


class Evaluator:
    def __init__(self, name, inputs):
        for layer in inputs:
            if layer is not None and not isinstance(layer, Layer):
                raise ValueError(f"evaluator {name}: {layer!r} is not a layer")
        self.name = name
        self.inputs = [layer for layer in inputs if layer is not None]
        self.reset()

    def reset(self):
        self.stats = None

    def add(self, outputs):
        """Accumulate one batch; ``outputs`` maps layer names to NumPy arrays."""
        return self.accumulate(self.batch_stats(outputs))

    def accumulate(self, batch):
        """Add one batch's statistics (under MPI, summed over the ranks); its value."""
        self.stats = batch if self.stats is None else [a + b for a, b in zip(self.stats, batch)]
        return self.value(batch)

    def result(self):
        return self.value(self.stats) if self.stats is not None else 0.0


class ClassificationError(Evaluator):
    """Fraction of samples whose label is not among the ``top_k`` highest scores (weighted)."""

    def __init__(self, input, label, name=None, weight=None, top_k=1):
        if top_k is None:
            top_k = 1
        if top_k < 1:
            raise ValueError(f"classification_error: top_k={top_k} must be >= 1")
        self.input, self.label, self.weight, self.top_k = input, label, weight, top_k
        super().__init__(name or default_name("classification_error_evaluator"),
                         [input, label, weight])

    def batch_stats(self, outputs):
        scores = outputs[self.input.name].reshape(len(outputs[self.input.name]), -1)
        labels = outputs[self.label.name].reshape(-1).astype(np.int64)
        if self.top_k == 1:
            wrong = scores.argmax(axis=1) != labels
        else:
            top = np.argsort(-scores, axis=1, kind="stable")[:, :self.top_k]
            wrong = ~(top == labels[:, None]).any(axis=1)
        weight = (np.ones(len(labels)) if self.weight is None
                  else outputs[self.weight.name].reshape(-1))
        return [float(np.sum(wrong * weight)), float(np.sum(weight))]

    @staticmethod
    def value(stats):
        errors, total = stats
        return errors / total if total else 0.0


class SumEvaluator(Evaluator):
    """Sum of the input layer's values over all samples (weighted)."""

    def __init__(self, input, name=None, weight=None):
        self.input, self.weight = input, weight
        super().__init__(name or default_name("sum_evaluator"), [input, weight])

    def batch_stats(self, outputs):
        values = outputs[self.input.name].reshape(len(outputs[self.input.name]), -1)
        weight = 1.0 if self.weight is None else outputs[self.weight.name].reshape(-1, 1)
        return [float(np.sum(values * weight))]

    @staticmethod
    def value(stats):
        return stats[0]


class Auc(Evaluator):
    """Area under the ROC curve of a binary classifier (score = last column of ``input``).

    Accumulates a 200-bin histogram of positive and negative scores per pass, so the pass
    value is exact up to the binning, as Paddle's AucEvaluator did.
    """

    bins = 200

    def __init__(self, input, label, name=None, weight=None):
        self.input, self.label, self.weight = input, label, weight
        super().__init__(name or default_name("auc_evaluator"), [input, label, weight])

    def batch_stats(self, outputs):
        scores = outputs[self.input.name].reshape(len(outputs[self.input.name]), -1)[:, -1]
        labels = outputs[self.label.name].reshape(-1)
        weight = (np.ones(len(labels)) if self.weight is None
                  else outputs[self.weight.name].reshape(-1))
        index = np.clip((scores * self.bins).astype(np.int64), 0, self.bins - 1)
        positive = np.bincount(index, weight * (labels > 0), self.bins)
        negative = np.bincount(index, weight * (labels <= 0), self.bins)
        return [positive, negative]

    @staticmethod
    def value(stats):
        positive, negative = stats
        # Walk bins from the highest score down; trapezoids under the (FPR, TPR) curve.
        tp = np.concatenate([[0.0], np.cumsum(positive[::-1])])
        fp = np.concatenate([[0.0], np.cumsum(negative[::-1])])
        if tp[-1] == 0 or fp[-1] == 0:
            return 0.0
        return float(np.sum((fp[1:] - fp[:-1]) * (tp[1:] + tp[:-1]) / 2) / (tp[-1] * fp[-1]))


class PrecisionRecall(Evaluator):
    """Macro-averaged precision, recall and F1 over classes; ``value`` returns F1.

    ``positive_label`` restricts the statistics to one class, as Paddle allowed.
    """

    def __init__(self, input, label, name=None, weight=None, positive_label=None):
        self.input, self.label, self.weight = input, label, weight
        self.positive_label = positive_label
        super().__init__(name or default_name("precision_recall_evaluator"),
                         [input, label, weight])

    def batch_stats(self, outputs):
        scores = outputs[self.input.name].reshape(len(outputs[self.input.name]), -1)
        labels = outputs[self.label.name].reshape(-1).astype(np.int64)
        predicted = scores.argmax(axis=1)
        classes = scores.shape[1]
        weight = (np.ones(len(labels)) if self.weight is None
                  else outputs[self.weight.name].reshape(-1))
        hit = predicted == labels
        tp = np.bincount(labels[hit], weight[hit], classes)
        predicted_count = np.bincount(predicted, weight, classes)
        label_count = np.bincount(labels, weight, classes)
        return [tp, predicted_count, label_count]

    def value(self, stats):
        tp, predicted_count, label_count = stats
        if self.positive_label is not None:
            keep = [self.positive_label]
            tp, predicted_count, label_count = tp[keep], predicted_count[keep], label_count[keep]
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.nan_to_num(tp / predicted_count).mean()
            recall = np.nan_to_num(tp / label_count).mean()
        return float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0


def _declare(evaluator):
    declared.append(evaluator)
    return evaluator


def classification_error(input, label, name=None, weight=None, top_k=None, **_ignored):
    """Declare a classification error metric (``argmax(input) != label``)."""
    return _declare(ClassificationError(input, label, name, weight, top_k))


def sum(input, name=None, weight=None, **_ignored):  # noqa: A001 - Paddle's name
    return _declare(SumEvaluator(input, name, weight))


def auc(input, label, name=None, weight=None, **_ignored):
    return _declare(Auc(input, label, name, weight))


def precision_recall(input, label, positive_label=None, weight=None, name=None, **_ignored):
    return _declare(PrecisionRecall(input, label, name, weight, positive_label))


classification_error_evaluator = classification_error
sum_evaluator = sum
auc_evaluator = auc
precision_recall_evaluator = precision_recall

__all__ = ["Evaluator", "ClassificationError", "SumEvaluator", "Auc", "PrecisionRecall",
           "classification_error", "sum", "auc", "precision_recall",
           "classification_error_evaluator", "sum_evaluator", "auc_evaluator",
           "precision_recall_evaluator"]
