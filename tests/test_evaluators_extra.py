"""ctc_error, pnpair, column_sum against computations by hand over two or more batches (the
pass value from summed statistics, not an average of batch values); v2's accumulation of
auc, precision_recall and sum; and the printers' output, which is no metric."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minidl as paddle
from minidl.core.sequence import SequenceLayout
from minidl.training import evaluators
from minidl.training.ctc_error import CTCError, alignment, best_path, ctc_error
from minidl.training.events import Metrics
from minidl.training.rank_evaluators import ColumnSum, Pnpair, column_sum, pnpair

dense, dense_seq = paddle.data_type.dense_vector, paddle.data_type.dense_vector_sequence
ints, int_seq = paddle.data_type.integer_value, paddle.data_type.integer_value_sequence


def run_pass(evaluator, batches):
    """Each batch through ``add`` (the test path); the pass value."""
    evaluator.reset()
    for batch in batches:
        evaluator.add(batch)
    return evaluator.result()


# ---- ctc_error ------------------------------------------------------------------------------

def levenshtein(a, b):
    """The edit distance by its recursive definition (memoised)."""
    memo = {}

    def d(i, j):
        if (i, j) not in memo:
            if i == 0 or j == 0:
                memo[i, j] = i + j
            else:
                memo[i, j] = min(d(i - 1, j) + 1, d(i, j - 1) + 1,
                                 d(i - 1, j - 1) + (a[i - 1] != b[j - 1]))
        return memo[i, j]
    return d(len(a), len(b))


def one_hot_path(path, classes):
    """Scores whose argmax per timestep is ``path``."""
    scores = np.full((len(path), classes), 0.1)
    scores[np.arange(len(path)), path] = 0.9
    return scores


def test_best_path_merges_repeats_and_drops_blanks():
    blank = 3
    assert best_path(one_hot_path([0, 0, blank, 0, 1, 1, blank, blank, 2], 4)).tolist() \
        == [0, 0, 1, 2]
    assert best_path(one_hot_path([blank, blank], 4)).tolist() == []
    assert best_path(one_hot_path([2, 2, 2], 4)).tolist() == [2]


@pytest.mark.parametrize("truth, decoded, expected", [
    ([1, 2, 3], [1, 2, 3], (0, 0, 0)),
    ([1, 2, 3], [1, 3], (0, 1, 0)),           # 2 deleted
    ([1, 2, 3], [1, 2, 3, 4], (0, 0, 1)),     # 4 inserted
    ([1, 2, 3], [1, 5, 3], (1, 0, 0)),        # 2 -> 5
    ([], [1, 2], (0, 0, 2)),
    ([1, 2], [], (0, 2, 0)),
])
def test_alignment_counts_by_hand(truth, decoded, expected):
    assert alignment(np.array(truth), np.array(decoded)) == expected


@settings(max_examples=30)
@given(st.lists(st.integers(0, 3), max_size=7), st.lists(st.integers(0, 3), max_size=7))
def test_alignment_sums_to_the_edit_distance(truth, decoded):
    assert sum(alignment(np.array(truth), np.array(decoded))) == levenshtein(truth, decoded)


def ctc_layers(classes=3):
    scores = paddle.layer.data("scores", dense_seq(classes + 1))
    label = paddle.layer.data("label", int_seq(classes))
    return scores, label


def ctc_batch(paths, labels, classes=3):
    scores = np.concatenate([one_hot_path(p, classes + 1) for p in paths])
    score_layout = SequenceLayout.from_lengths([len(p) for p in paths])
    return {"scores": scores, ("scores", "seq"): score_layout,
            "label": np.concatenate([np.array(x, dtype=np.int64) for x in labels]),
            ("label", "seq"): SequenceLayout.from_lengths([len(x) for x in labels])}


def test_ctc_error_over_two_batches_by_hand():
    scores, label = ctc_layers()
    metric = ctc_error(input=scores, label=label)
    assert metric.name == "__ctc_error_evaluator_0__" and metric in evaluators.declared
    b = 3   # the blank
    # decoded [0, 1] vs [0, 1]: exact. decoded [2] vs [0, 2]: 1 deletion / 2 labels
    first = ctc_batch([[0, b, 1, 1], [2, 2]], [[0, 1], [0, 2]])
    # decoded [1, 1] vs [1]: 1 insertion / 2 decoded; [0] vs [2]: 1 substitution / 1
    second = ctc_batch([[1, b, 1], [b, 0, b]], [[1], [2]])
    batch_value = metric.add(first)
    assert batch_value == pytest.approx({"error": 0.25, "deletion_error": 0.25,
                                         "insertion_error": 0.0, "substitution_error": 0.0,
                                         "sequence_error": 0.5})
    metric.add(second)
    assert metric.result() == pytest.approx({
        "error": (0 + 0.5 + 0.5 + 1) / 4, "deletion_error": 0.5 / 4,
        "insertion_error": 0.5 / 4, "substitution_error": 1 / 4, "sequence_error": 3 / 4})
    shown = Metrics({metric.name: metric.result()}).values
    assert shown["__ctc_error_evaluator_0__.error"] == pytest.approx(0.5)
    assert sorted(shown) == sorted(f"__ctc_error_evaluator_0__.{key}" for key in
                                   ("error", "deletion_error", "insertion_error",
                                    "substitution_error", "sequence_error"))


def test_ctc_error_on_random_batches_against_the_naive_distance(rng):
    scores, label = ctc_layers(4)
    metric = CTCError(scores, label)
    batches, expected = [], []
    for _ in range(3):
        lengths, label_lengths = rng.integers(1, 7, 3), rng.integers(1, 4, 3)
        values = rng.random((int(lengths.sum()), 5))
        truth = [rng.integers(0, 4, n) for n in label_lengths]
        batches.append({"scores": values, ("scores", "seq"): SequenceLayout.from_lengths(lengths),
                        "label": np.concatenate(truth),
                        ("label", "seq"): SequenceLayout.from_lengths(label_lengths)})
        starts = np.concatenate([[0], np.cumsum(lengths)])
        for i, t in enumerate(truth):
            path = values[starts[i]:starts[i + 1]].argmax(1)
            decoded = [c for k, c in enumerate(path) if c != 4 and (k == 0 or c != path[k - 1])]
            expected.append(levenshtein(list(t), decoded) / max(len(t), len(decoded)))
    assert run_pass(metric, batches)["error"] == pytest.approx(np.mean(expected))


def test_ctc_error_build_errors():
    scores, label = ctc_layers(3)
    with pytest.raises(ValueError, match=r"evaluator e: input wide has size 3; expected label "
                                         r"label's 3 classes \+ 1 blank = 4"):
        CTCError(paddle.layer.data("wide", dense_seq(3)), label, name="e")
    with pytest.raises(ValueError, match="input flat is a non-sequence"):
        CTCError(paddle.layer.data("flat", dense(4)), label)


# ---- pnpair -----------------------------------------------------------------------------------

def naive_pnpair(rows):
    """rows: (score, label, query, weight) of the whole pass; every pair once."""
    positive = negative = 0.0
    for (s1, l1, q1, w1), (s2, l2, q2, w2) in itertools.combinations(rows, 2):
        if q1 != q2 or l1 == l2 or s1 == s2:
            continue
        if (s1 > s2) == (l1 > l2):
            positive += (w1 + w2) / 2
        else:
            negative += (w1 + w2) / 2
    return positive / (negative if negative > 0 else 1.0)


def pnpair_layers():
    return (paddle.layer.data("score", dense(2)), paddle.layer.data("label", ints(3)),
            paddle.layer.data("query", ints(10)), paddle.layer.data("weight", dense(1)))


def test_pnpair_by_hand_pairs_across_batches():
    score, label, query, weight = pnpair_layers()
    metric = pnpair(input=score, label=label, query_id=query, weight=weight)
    assert metric.name == "__pnpair_evaluator_0__"
    # rows as (score, label, weight). Query 7: (0.9, 2, 1) in batch 1, (0.1, 0, 2) and
    # (0.5, 1, 1) in batch 2, ordered as their labels: positive pairs of weight 1.5, 1, 1.5.
    # Query 3: (0.2, 1, 3), (0.4, 1, 5) in batch 1 (same label: no pair) and (0.8, 0, 1) in
    # batch 2, which outscores both: negative pairs of weight 2 and 3.
    first = {"score": np.array([[0, 0.9], [0, 0.2], [0, 0.4]]), "label": np.array([2, 1, 1]),
             "query": np.array([7, 3, 3]), "weight": np.array([[1.0], [3.0], [5.0]])}
    second = {"score": np.array([[0, 0.1], [0, 0.5], [0, 0.8]]), "label": np.array([0, 1, 0]),
              "query": np.array([7, 7, 3]), "weight": np.array([[2.0], [1.0], [1.0]])}
    assert metric.add(first) == pytest.approx(0.0)     # batch 1 alone: only a same-label pair
    metric.add(second)
    assert metric.result() == pytest.approx((1.5 + 1 + 1.5) / (2 + 3))


def test_pnpair_on_random_batches_against_naive_pairs(rng):
    score, label, query, _ = pnpair_layers()
    metric = Pnpair(score, label, query)
    batches, rows = [], []
    for n in (5, 8, 3):
        s = rng.integers(0, 4, (n, 2)) / 4.0          # ties on purpose
        lab, q = rng.integers(0, 3, n), rng.integers(0, 3, n)
        batches.append({"score": s, "label": lab, "query": q})
        rows += [(s[i, -1], lab[i], q[i], 1.0) for i in range(n)]
    assert run_pass(metric, batches) == pytest.approx(naive_pnpair(rows))


# ---- column_sum -------------------------------------------------------------------------------

def test_column_sum_weighted_over_two_batches():
    x, w = paddle.layer.data("x", dense(3)), paddle.layer.data("w", dense(1))
    plain, weighted = column_sum(input=x), ColumnSum(x, weight=w)
    assert plain.name == "__column_sum_evaluator_0__"
    first = {"x": np.array([[9.0, 9.0, 1.0], [9.0, 9.0, 2.0]]), "w": np.array([[1.0], [3.0]])}
    second = {"x": np.array([[9.0, 9.0, 4.0]]), "w": np.array([[0.5]])}
    assert run_pass(plain, [first, second]) == pytest.approx((1 + 2 + 4) / 3)
    assert run_pass(weighted, [first, second]) == pytest.approx((1 + 6 + 2) / 4.5)


# ---- auc, precision_recall, sum: v2's accumulation --------------------------------------------

def test_auc_bins_as_v2_and_accumulates_over_batches(rng):
    scores, label = paddle.layer.data("s", dense(2)), paddle.layer.data("y", ints(3))
    weight = paddle.layer.data("w", dense(1))
    metric = evaluators.Auc(scores, label, weight=weight)
    p = rng.random(60)
    y = rng.integers(0, 3, 60)              # label 0 negative; 1 and 2 positive
    w = rng.uniform(0.5, 2.0, 60)
    p[:4] = 0.25                            # a tie: half a pair
    batches = [{"s": np.stack([1 - p, p], 1)[a:b], "y": y[a:b], "w": w[a:b, None]}
               for a, b in ((0, 25), (25, 60))]
    pos, neg = y != 0, y == 0
    pair_w = w[pos][:, None] * w[neg][None, :]
    above = (p[pos][:, None] > p[neg][None, :]) + 0.5 * (p[pos][:, None] == p[neg][None, :])
    assert run_pass(metric, batches) == pytest.approx(np.sum(pair_w * above) / np.sum(pair_w),
                                                      rel=1e-9)
    with pytest.raises(ValueError, match=r"input s holds scores outside \[0, 1\]"):
        metric.add({"s": np.array([[0.0, 1.5]]), "y": np.array([1]), "w": np.array([[1.0]])})


def test_precision_recall_over_two_batches_with_v2_defaults():
    scores, label = paddle.layer.data("s", dense(3)), paddle.layer.data("y", ints(3))
    metric = evaluators.precision_recall(input=scores, label=label)
    eye = np.eye(3)
    # predicted 0,0,1 vs true 0,1,1, then predicted 0 vs true 1; class 2 never predicted and
    # never present: precision and recall 1 for it, as v2
    batches = [{"s": eye[[0, 0, 1]], "y": np.array([0, 1, 1])}, {"s": eye[[0]], "y": np.array([1])}]
    precision = (1 / 3 + 1 / 1 + 1) / 3      # class 0: 1 of 3 predicted right; class 1: 1 of 1
    recall = (1 / 1 + 1 / 3 + 1) / 3
    assert run_pass(metric, batches) == pytest.approx(2 * precision * recall / (precision + recall))


def test_sum_weighted_over_two_batches():
    x, w = paddle.layer.data("x", dense(2)), paddle.layer.data("w", dense(1))
    metric = evaluators.sum(input=x, weight=w)
    batches = [{"x": np.array([[1.0, 2.0], [3.0, 4.0]]), "w": np.array([[2.0], [1.0]])},
               {"x": np.array([[5.0, 0.0]]), "w": np.array([[0.5]])}]
    assert run_pass(metric, batches) == pytest.approx((6 + 7 + 2.5) / 3.5)
