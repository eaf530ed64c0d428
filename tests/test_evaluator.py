"""Evaluators: exact pass values from accumulated statistics, checked against brute force."""

import numpy as np
import pytest

from minidl.layers import data_types as data_type
from minidl.training import evaluators as evaluator
from minidl.v2 import layer


def _inputs(classes=3):
    scores = layer.data("scores", data_type.dense_vector(classes))
    label = layer.data("label", data_type.integer_value(classes))
    return scores, label


def test_classification_error_over_batches_is_exact():
    scores, label = _inputs()
    metric = evaluator.classification_error(input=scores, label=label)
    assert metric.name == "__classification_error_evaluator_0__"
    rng = np.random.default_rng(0)
    all_scores, all_labels = rng.random((50, 3)), rng.integers(0, 3, 50)
    for start in (0, 20, 45):            # uneven batches
        stop = {0: 20, 20: 45, 45: 50}[start]
        metric.add({"scores": all_scores[start:stop], "label": all_labels[start:stop]})
    expected = np.mean(all_scores.argmax(1) != all_labels)
    assert metric.result() == pytest.approx(expected)


def test_top_k_error():
    scores, label = _inputs(4)
    metric = evaluator.ClassificationError(scores, label, top_k=2)
    batch = {"scores": np.array([[0.1, 0.5, 0.3, 0.1], [0.4, 0.3, 0.2, 0.1]]),
             "label": np.array([2, 3])}
    assert metric.add(batch) == pytest.approx(0.5)   # first in top-2, second not


def test_auc_matches_pairwise_definition():
    scores, label = _inputs(2)
    metric = evaluator.auc(input=scores, label=label)
    rng = np.random.default_rng(1)
    p = rng.random(400)
    y = (rng.random(400) < p).astype(np.int64)
    metric.add({"scores": np.stack([1 - p, p], 1), "label": y})
    positives, negatives = p[y == 1], p[y == 0]
    pairwise = np.mean(positives[:, None] > negatives[None, :]) \
        + 0.5 * np.mean(positives[:, None] == negatives[None, :])
    assert metric.result() == pytest.approx(pairwise, abs=0.01)   # 200-bin histogram


def test_precision_recall_f1():
    scores, label = _inputs(2)
    metric = evaluator.precision_recall(input=scores, label=label, positive_label=1)
    predicted = np.array([1, 1, 0, 0, 1])
    truth = np.array([1, 0, 0, 1, 1])
    metric.add({"scores": np.eye(2)[predicted], "label": truth})
    precision, recall = 2 / 3, 2 / 3
    assert metric.result() == pytest.approx(2 * precision * recall / (precision + recall))


def test_bad_evaluator_input():
    with pytest.raises(ValueError, match="is not a layer"):
        evaluator.classification_error(input="scores", label=None)
