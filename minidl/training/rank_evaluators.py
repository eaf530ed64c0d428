"""``paddle.evaluator.pnpair`` and ``paddle.evaluator.column_sum``: metrics of one score
column -- how a ranking orders the rows of each query, and the mean of the last column."""

import numpy as np

from ..layers.base import Layer, default_name
from .evaluators import Evaluator, declared
from .pass_rows import RowStats


def _layers(name, **layers):
    for what, layer in layers.items():
        if layer is not None and not isinstance(layer, Layer):
            raise ValueError(f"evaluator {name}: {what} must be a layer, got {layer!r}")


def _weights(evaluator, outputs, rows):
    """``(rows,)`` weights of the batch: the weight layer's, or ones."""
    if evaluator.weight is None:
        return np.ones(rows)
    weight = outputs[evaluator.weight.name].reshape(-1).astype(np.float64)
    if len(weight) != rows:
        raise ValueError(f"evaluator {evaluator.name}: weight {evaluator.weight.name} has "
                         f"{len(weight)} rows, input {evaluator.input.name} {rows}")
    return weight


class Pnpair(Evaluator):
    """Positive-negative pair ratio of a ranking (learning to rank), per query.

    The score of a row is the last column of ``input``. Rows with the same ``query_id``
    anywhere in the pass form pairs; a pair with different labels is *positive* when the
    scores order its rows as the labels do, *negative* when they order them the other way,
    and neither when the scores are equal. A pair weighs the mean of its rows' weights (1
    without a ``weight`` layer). The value is ``positive / negative`` (``positive`` when no
    pair is negative).
    """

    def __init__(self, input, label, query_id, weight=None, name=None):
        name = name or default_name("pnpair_evaluator")
        _layers(name, input=input, label=label, query_id=query_id, weight=weight)
        self.input, self.label, self.query_id, self.weight = input, label, query_id, weight
        super().__init__(name, [input, label, query_id, weight])

    def batch_stats(self, outputs):
        scores = outputs[self.input.name]
        scores = scores.reshape(len(scores), -1)[:, -1].astype(np.float64)
        columns = {"label": self.label, "query": self.query_id}
        ids = {what: outputs[layer.name].reshape(-1).astype(np.int64)
               for what, layer in columns.items()}
        for what, values in ids.items():
            if len(values) != len(scores):
                raise ValueError(f"evaluator {self.name}: {what} {columns[what].name} has "
                                 f"{len(values)} rows, input {self.input.name} {len(scores)}")
        return [RowStats(score=scores, weight=_weights(self, outputs, len(scores)), **ids)]

    @staticmethod
    def pair_weights(rows):
        """``(positive, negative)``: summed weights of the pairs of :class:`RowStats` rows."""
        positive = negative = 0.0
        for query in np.unique(rows["query"]):
            mine = rows["query"] == query
            score, label, weight = rows["score"][mine], rows["label"][mine], rows["weight"][mine]
            agree = np.sign(score[:, None] - score[None, :]) \
                * np.sign(label[:, None] - label[None, :])
            pair_weight = (weight[:, None] + weight[None, :]) / 2
            later = np.triu(np.ones(agree.shape, dtype=bool), k=1)   # each pair once
            positive += float(pair_weight[later & (agree > 0)].sum())
            negative += float(pair_weight[later & (agree < 0)].sum())
        return positive, negative

    def value(self, stats):
        positive, negative = self.pair_weights(stats[0])
        return positive / (negative if negative > 0 else 1.0)


class ColumnSum(Evaluator):
    """The last column of ``input`` summed over the pass (each row times its weight), divided
    by the number of rows (timesteps of a sequence) or by the sum of the weights."""

    def __init__(self, input, name=None, weight=None):
        name = name or default_name("column_sum_evaluator")
        _layers(name, input=input, weight=weight)
        self.input, self.weight = input, weight
        super().__init__(name, [input, weight])

    def batch_stats(self, outputs):
        values = outputs[self.input.name]
        column = values.reshape(len(values), -1)[:, -1].astype(np.float64)
        weight = _weights(self, outputs, len(column))
        return [float(np.sum(column * weight)), float(np.sum(weight))]

    @staticmethod
    def value(stats):
        total, count = stats
        return total / count if count else 0.0


def pnpair(input, label, query_id, weight=None, name=None, **_ignored):
    """Declare a positive-negative pair evaluator (see :class:`Pnpair`)."""
    evaluator = Pnpair(input, label, query_id, weight, name)
    declared.append(evaluator)
    return evaluator


def column_sum(input, name=None, weight=None, **_ignored):
    """Declare the mean of the last column of ``input`` (see :class:`ColumnSum`)."""
    evaluator = ColumnSum(input, name, weight)
    declared.append(evaluator)
    return evaluator


pnpair_evaluator = pnpair
column_sum_evaluator = column_sum

__all__ = ["Pnpair", "ColumnSum", "pnpair", "column_sum", "pnpair_evaluator",
           "column_sum_evaluator"]
