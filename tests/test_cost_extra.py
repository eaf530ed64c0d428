"""cross_entropy_with_selfnorm_cost, multi_binary_label_cross_entropy_cost, rank_cost,
lambda_cost and sum_cost: reference kernels against naive loops and hand-computed NDCG,
float64 gradient checks, weights and coeff, sizes and names as v2, and construction errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl as paddle
from minidl.backends import kernel
from minidl.core.gradcheck import check_directional, check_elementwise
from minidl.core.sequence import SequenceLayout
from minidl.core.sparse_rows import SparseRows
from minidl.core.tensor import Tensor
from minidl.functions.cost_extra import (multi_binary_cross_entropy, rank_cost,
                                         selfnorm_cross_entropy, sum_cost)

from sequence_helpers import check_layer_gradients, run_layer

dense, ids = paddle.data_type.dense_vector, paddle.data_type.integer_value
dense_seq = paddle.data_type.dense_vector_sequence


def positive(rng, shape):
    return rng.uniform(0.2, 2.0, size=shape)


# ---- cross-entropy with self-normalisation ----------------------------------------------------

@settings(max_examples=25)
@given(n=st.integers(1, 5), k=st.integers(2, 6), alpha=st.floats(0, 1), seed=st.integers(0, 99))
def test_selfnorm_matches_naive_loop(n, k, alpha, seed):
    rng = np.random.default_rng(seed)
    out, label = positive(rng, (n, k)), rng.integers(0, k, n)
    cost = kernel("selfnorm_cross_entropy_forward")(out, label, alpha)
    for i in range(n):
        z = sum(out[i])
        expected = -math.log(out[i, label[i]] / z) + alpha * math.log(z) ** 2
        assert cost[i] == pytest.approx(expected, rel=1e-12)


def test_selfnorm_of_normalised_input_is_cross_entropy(rng):
    out = positive(rng, (4, 3))
    out /= out.sum(axis=1, keepdims=True)
    label = np.array([0, 2, 1, 1])
    cost = kernel("selfnorm_cross_entropy_forward")(out, label, 0.7)
    np.testing.assert_allclose(cost, -np.log(out[np.arange(4), label]))


def test_selfnorm_gradient_and_coeff(rng):
    label = np.array([1, 0, 2])
    check_elementwise(lambda o: selfnorm_cross_entropy(o, label, 0.3), positive(rng, (3, 3)))
    o = Tensor(positive(rng, (3, 3)), requires_grad=True)
    selfnorm_cross_entropy(o, label, 0.3, coeff=2.5).backward(np.ones((3, 1)))
    o1 = Tensor(o.data.copy(), requires_grad=True)
    selfnorm_cross_entropy(o1, label, 0.3).backward(np.ones((3, 1)))
    np.testing.assert_allclose(o.grad, 2.5 * o1.grad)


def test_selfnorm_layer_size_name_and_checks():
    x = paddle.layer.data("x", dense(4))
    y = paddle.layer.data("y", ids(4))
    cost = paddle.layer.cross_entropy_with_selfnorm_cost(input=x, label=y)
    assert (cost.name, cost.size, cost.alpha, cost.coeff) == \
        ("__cross_entropy_with_selfnorm_0__", 1, 0.1, 1.0)
    with pytest.raises(ValueError, match="label y2 holds ids in \\[0, 3\\).*4 classes"):
        paddle.layer.cross_entropy_with_selfnorm_cost(
            input=x, label=paddle.layer.data("y2", ids(3)))
    with pytest.raises(ValueError, match="must be integer class ids"):
        paddle.layer.cross_entropy_with_selfnorm_cost(input=x, label=paddle.layer.data(
            "t", dense(4)))
    with pytest.raises(ValueError, match="softmax_selfnorm_alpha"):
        paddle.layer.cross_entropy_with_selfnorm_cost(input=x, label=y,
                                                      softmax_selfnorm_alpha="big")


# ---- multi binary label cross-entropy ----------------------------------------------------------

def naive_multi_binary(prob, target):
    return np.array([-sum(t * math.log(p) + (1 - t) * math.log(1 - p)
                          for p, t in zip(prow, trow)) for prow, trow in zip(prob, target)])


@settings(max_examples=25)
@given(n=st.integers(1, 5), k=st.integers(1, 6), seed=st.integers(0, 99))
def test_multi_binary_matches_naive_loop(n, k, seed):
    rng = np.random.default_rng(seed)
    prob, target = rng.uniform(0.05, 0.95, (n, k)), rng.integers(0, 2, (n, k)).astype(float)
    np.testing.assert_allclose(kernel("multi_binary_cross_entropy_forward")(prob, target),
                               naive_multi_binary(prob, target), rtol=1e-12)


def test_multi_binary_gradient(rng):
    target = rng.integers(0, 2, (3, 4)).astype(float)
    check_elementwise(lambda p: multi_binary_cross_entropy(p, target),
                      rng.uniform(0.1, 0.9, (3, 4)))


def test_multi_binary_layer_reads_sparse_dense_and_id_labels(rng):
    x = paddle.layer.data("x", dense(4))
    prob = rng.uniform(0.1, 0.9, (3, 4))
    target = np.array([[0, 1, 0, 1], [0, 0, 0, 0], [1, 0, 0, 0]], dtype=float)
    expected = naive_multi_binary(prob, target).reshape(-1, 1)
    label_sparse = paddle.layer.data("ys", paddle.data_type.sparse_binary_vector(4))
    cost = paddle.layer.multi_binary_label_cross_entropy_cost(input=x, label=label_sparse)
    assert (cost.name, cost.size) == ("__multi_binary_label_cross_entropy_0__", 1)
    sparse = SparseRows([0, 2, 2, 3], [1, 3, 0], None, 4)
    np.testing.assert_allclose(run_layer(cost, [(prob, None), (sparse, None)]).data, expected)
    cost = paddle.layer.multi_binary_label_cross_entropy_cost(
        input=x, label=paddle.layer.data("yd", dense(4)))
    np.testing.assert_allclose(run_layer(cost, [(prob, None), (target, None)]).data, expected)
    cost = paddle.layer.multi_binary_label_cross_entropy_cost(
        input=x, label=paddle.layer.data("yi", ids(4)))
    one_hot = np.eye(4)[[3, 0, 2]]
    np.testing.assert_allclose(run_layer(cost, [(prob, None), (np.array([3, 0, 2]), None)]).data,
                               naive_multi_binary(prob, one_hot).reshape(-1, 1))


def test_multi_binary_layer_errors():
    x = paddle.layer.data("x", dense(4))
    with pytest.raises(ValueError, match="label .* has size 5 but input x has size 4"):
        paddle.layer.multi_binary_label_cross_entropy_cost(
            input=x, label=paddle.layer.data("y", paddle.data_type.sparse_binary_vector(5)))
    with pytest.raises(ValueError, match="must be a sparse_binary_vector"):
        paddle.layer.multi_binary_label_cross_entropy_cost(
            input=x, label=paddle.layer.data("f", paddle.data_type.sparse_float_vector(4)))
    with pytest.raises(ValueError, match="must be dense"):
        paddle.layer.multi_binary_label_cross_entropy_cost(
            input=paddle.layer.data("s", paddle.data_type.sparse_binary_vector(4)),
            label=paddle.layer.data("y", paddle.data_type.sparse_binary_vector(4)))


# ---- rank cost -----------------------------------------------------------------------------------

def test_rank_cost_closed_form_and_symmetry(rng):
    left, right = rng.standard_normal(6), rng.standard_normal(6)
    label = np.array([0, 1, 0.5, 1, 0, 0.5])
    cost = kernel("rank_cost_forward")(left, right, label)
    o = left - right
    p = 1 / (1 + np.exp(-o))                      # P(left above right)
    np.testing.assert_allclose(cost, -(label * np.log(p) + (1 - label) * np.log(1 - p)))
    swapped = kernel("rank_cost_forward")(right, left, 1 - label)
    np.testing.assert_allclose(cost, swapped)
    big = kernel("rank_cost_forward")(np.array([800.0]), np.array([0.0]), np.array([0.0]))
    assert big[0] == pytest.approx(800.0)          # no overflow


def test_rank_cost_gradients_with_weight_and_coeff(rng):
    label = np.array([1.0, 0.0, 0.5, 1.0])
    check_directional(lambda a, b, w: rank_cost(a, b, label, w, coeff=1.0),
                      rng.standard_normal((4, 1)), rng.standard_normal((4, 1)),
                      rng.uniform(0.5, 2, (4, 1)))
    grads = []
    for coeff in (1.0, 3.0):
        a = Tensor(np.ones((4, 1)), requires_grad=True)
        out = rank_cost(a, Tensor(np.zeros((4, 1))), label, coeff=coeff)
        out.backward(np.ones((4, 1)))
        grads.append(a.grad)
    np.testing.assert_allclose(grads[1], 3 * grads[0])


def test_rank_cost_layer(rng):
    left, right = paddle.layer.data("l", dense(1)), paddle.layer.data("r", dense(1))
    label, weight = paddle.layer.data("y", dense(1)), paddle.layer.data("w", dense(1))
    cost = paddle.layer.rank_cost(left=left, right=right, label=label, weight=weight)
    assert (cost.name, cost.size, cost.type, len(cost.inputs)) == ("__rank_cost_0__", 1,
                                                                   "rank-cost", 4)
    a, b = rng.standard_normal((3, 1)), rng.standard_normal((3, 1))
    y, w = np.array([[1.0], [0.0], [1.0]]), np.array([[2.0], [1.0], [0.5]])
    out = run_layer(cost, [(a, None), (b, None), (y, None), (w, None)]).data
    np.testing.assert_allclose(out, w * kernel("rank_cost_forward")(a, b, y))
    check_layer_gradients(cost, [(a, None), (b, None), (y, None), (w, None)], wrt_inputs=[0, 1, 3])
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        run_layer(cost, [(a, None), (b, None), (y * 3, None), (w, None)])
    with pytest.raises(ValueError, match="left x .* must have size 1"):
        paddle.layer.rank_cost(left=paddle.layer.data("x", dense(2)), right=right, label=label)
    with pytest.raises(ValueError, match="weight .* must have size 1"):
        paddle.layer.rank_cost(left=left, right=right, label=label,
                               weight=paddle.layer.data("w2", dense(3)))


# ---- LambdaRank ---------------------------------------------------------------------------------

def ndcg_by_hand(output, relevance, k):
    """NDCG@k as a person computes it: rank by output, discount log(position + 1)."""
    by_output = sorted(range(len(output)), key=lambda i: -output[i])
    dcg = sum((2 ** relevance[i] - 1) / math.log(r + 2) for r, i in enumerate(by_output[:k]))
    ideal = sorted(relevance, reverse=True)[:k]
    return dcg / sum((2 ** rel - 1) / math.log(r + 2) for r, rel in enumerate(ideal))


def test_ndcg_of_a_worked_example():
    # relevance 3, 2, 0, 1; the model ranks items 2, 0, 3, 1
    output, relevance = np.array([0.9, 0.1, 1.5, 0.3]), np.array([3.0, 2.0, 0.0, 1.0])
    dcg = 0 / math.log(2) + 7 / math.log(3) + 1 / math.log(4)        # @3: items 2, 0, 3
    ideal = 7 / math.log(2) + 3 / math.log(3) + 1 / math.log(4)
    got = kernel("lambda_ndcg")(output, relevance, np.array([0, 4]), 3)
    np.testing.assert_allclose(got, [dcg / ideal] * 4)


@settings(max_examples=25)
@given(lengths=st.lists(st.integers(3, 7), min_size=1, max_size=3), k=st.integers(1, 3),
       seed=st.integers(0, 999))
def test_ndcg_matches_the_hand_computation(lengths, k, seed):
    rng = np.random.default_rng(seed)
    layout = SequenceLayout.from_lengths(lengths)
    output = rng.permutation(layout.num_rows).astype(float)          # no ties
    relevance = rng.integers(0, 4, layout.num_rows).astype(float)
    relevance[layout.starts[:-1]] = 2                               # a positive best DCG
    got = kernel("lambda_ndcg")(output, relevance, layout.starts, k)
    for b, e in zip(layout.starts[:-1], layout.starts[1:]):
        np.testing.assert_allclose(got[b:e], ndcg_by_hand(output[b:e], relevance[b:e], k))


def surrogate(output, relevance, max_sort_size):
    """The smooth cost whose gradient LambdaRank's lambdas are: RankNet's pair loss
    log(1 + exp(o_b - o_a)) weighted by |delta DCG| / max DCG, the weights held fixed."""
    n = len(output)
    order = sorted(range(n), key=lambda i: -relevance[i])
    m = n if max_sort_size == -1 else min(max_sort_size, n)
    best = sum((2 ** relevance[i] - 1) / math.log(r + 2) for r, i in enumerate(order[:2]))
    total = 0.0
    for p in range(m):
        for q in range(p + 1, n):
            a, b = order[p], order[q]
            gain = 2 ** relevance[a] - 2 ** relevance[b]
            delta = gain * (1 / math.log(p + 2) - 1 / math.log(q + 2)) if q < m \
                else gain / math.log(p + 2)
            total += abs(delta) / best * np.log1p(np.exp(output[b] - output[a]))
    return total


@pytest.mark.parametrize("max_sort_size", [-1, 3])
def test_lambdas_are_the_gradient_of_the_weighted_pair_loss(max_sort_size, rng):
    relevance = np.array([3.0, 0.0, 2.0, 1.0, 0.0])
    output = rng.standard_normal(5)
    got = kernel("lambda_gradient")(output, relevance, np.array([0, 5]), 2, max_sort_size)
    eps = 1e-6
    numeric = [(surrogate(output + eps * e, relevance, max_sort_size)
                - surrogate(output - eps * e, relevance, max_sort_size)) / (2 * eps)
               for e in np.eye(5)]
    np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-9)


def test_lambda_layer_outputs_ndcg_per_row_and_lambdas_raise_ndcg():
    x = paddle.layer.data("x", dense_seq(1))
    s = paddle.layer.data("s", dense_seq(1))
    cost = paddle.layer.lambda_cost(input=x, score=s, NDCG_num=2)
    assert (cost.name, cost.size, cost.ndcg_num, cost.max_sort_size) == \
        ("__lambda_cost_0__", 1, 2, -1)
    layout = SequenceLayout.from_lengths([3, 4])
    rel = np.array([[0.0], [2.0], [1.0], [1.0], [0.0], [3.0], [2.0]])
    out = np.array([[0.5], [0.1], [0.2], [0.9], [0.8], [0.1], [0.0]])
    value = run_layer(cost, [(out, layout), (rel, layout)])
    assert value.seq == layout and value.shape == (7, 1)
    xt = Tensor(out.copy(), requires_grad=True, seq=layout)
    from minidl.layers.graph import RunContext
    y = cost.compute(RunContext({}), [xt, Tensor(rel, seq=layout)])
    y.backward(np.ones_like(y.data))
    stepped = run_layer(cost, [(out - 2.0 * xt.grad, layout), (rel, layout)]).data
    assert (stepped >= value.data - 1e-12).all() and stepped.sum() > value.data.sum()


def test_lambda_layer_errors():
    x, s = paddle.layer.data("x", dense_seq(1)), paddle.layer.data("s", dense_seq(1))
    with pytest.raises(ValueError, match="max_sort_size=2 must be -1 .* >= NDCG_num=3"):
        paddle.layer.lambda_cost(input=x, score=s, NDCG_num=3, max_sort_size=2)
    with pytest.raises(ValueError, match="NDCG_num=0"):
        paddle.layer.lambda_cost(input=x, score=s, NDCG_num=0)
    with pytest.raises(ValueError, match="score .* must have size 1"):
        paddle.layer.lambda_cost(input=x, score=paddle.layer.data("s2", dense_seq(2)))
    with pytest.raises(ValueError, match="each list to rank must be a sequence"):
        paddle.layer.lambda_cost(input=paddle.layer.data("x1", dense(1)),
                                 score=paddle.layer.data("s1", dense(1)))
    cost = paddle.layer.lambda_cost(input=x, score=s, NDCG_num=3)
    layout = SequenceLayout.from_lengths([2])
    with pytest.raises(ValueError, match="lists of \\[2\\] items are shorter than NDCG_num=3"):
        run_layer(cost, [(np.zeros((2, 1)), layout), (np.ones((2, 1)), layout)])
    cost = paddle.layer.lambda_cost(input=x, score=s, NDCG_num=1)
    with pytest.raises(ValueError, match="best DCG"):
        run_layer(cost, [(np.zeros((2, 1)), layout), (np.zeros((2, 1)), layout)])


# ---- sum cost ------------------------------------------------------------------------------------

def test_sum_cost(rng):
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(sum_cost(Tensor(x)).data, x.sum(axis=1, keepdims=True))
    check_elementwise(sum_cost, x)
    layer = paddle.layer.sum_cost(input=paddle.layer.data("x", dense(4)))
    assert (layer.name, layer.size, layer.type) == ("__sum_cost_0__", 1, "sum_cost")
    with pytest.raises(ValueError, match="integer ids"):
        paddle.layer.sum_cost(input=paddle.layer.data("i", ids(4)))


def test_sum_cost_trains_a_bias_down():
    x = paddle.layer.data("x", dense(2))
    out = paddle.layer.fc(x, size=3, act=paddle.activation.Linear())
    cost = paddle.layer.sum_cost(input=out)
    params = paddle.parameters.create(cost)
    seen = []
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=0.1))
    samples = [([1.0, 2.0],), ([0.5, -1.0],)]
    trainer.train(paddle.batch(lambda: iter(samples), 2), num_passes=3,
                  event_handler=lambda e: seen.append(e.cost)
                  if isinstance(e, paddle.event.EndIteration) else None)
    assert seen[0] > seen[1] > seen[2]
