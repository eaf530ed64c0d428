"""Costs on sequences (one cost per timestep, input and label sharing a layout) and the robust
costs huber_regression_cost, huber_classification_cost and smooth_l1_cost: reference kernels
against naive loops, float64 gradient checks on plain and ragged batches, coeff, sizes and
names as v2, the trainer's per-sample cost, and the construction-time errors."""

import numpy as np
import pytest

import minidl as paddle
from minidl.backends import kernel
from minidl.layers.graph import Network, RunContext
from minidl.training.feeding import Feeder

from conftest import to_numpy
from sequence_helpers import RAGGED_LENGTHS, check_layer_gradients, ragged, run_layer

dense = paddle.data_type.dense_vector
dense_seq = paddle.data_type.dense_vector_sequence
ids = paddle.data_type.integer_value
ids_seq = paddle.data_type.integer_value_sequence
LENGTHS = [None] + list(RAGGED_LENGTHS)


# ---- naive definitions ------------------------------------------------------------------------

def naive_huber(output, target, delta):
    costs = []
    for out_row, lbl_row in zip(output, target):
        total = 0.0
        for o, t in zip(out_row, lbl_row):
            a = abs(t - o)
            total += a * a / 2 if a <= delta else delta * (a - delta / 2)
        costs.append(total)
    return np.array(costs)


def naive_huber_classification(output, label):
    costs = []
    for score, y01 in zip(output[:, 0], label):
        a = score * (2 * y01 - 1)
        costs.append(-4 * a if a < -1 else (1 - a) ** 2 if a < 1 else 0.0)
    return np.array(costs)


def naive_smooth_l1(output, target):
    return np.array([sum(0.5 * (o - t) ** 2 if abs(o - t) < 1 else abs(o - t) - 0.5
                         for o, t in zip(out_row, lbl_row))
                     for out_row, lbl_row in zip(output, target)])


# ---- reference kernels ------------------------------------------------------------------------

def test_robust_cost_kernels_match_naive_loops(backend, xp, rng):
    output, target = 2 * rng.standard_normal((6, 3)), 2 * rng.standard_normal((6, 3))
    for delta in (0.5, 1.0, 3.0):
        got = kernel("huber_regression_forward")(xp.asarray(output), xp.asarray(target), delta)
        np.testing.assert_allclose(to_numpy(got), naive_huber(output, target, delta))
    np.testing.assert_allclose(
        to_numpy(kernel("smooth_l1_forward")(xp.asarray(output), xp.asarray(target))),
        naive_smooth_l1(output, target))
    scores = np.array([[-3.0], [-0.5], [0.2], [1.5], [-1.5], [0.9]])
    labels = np.array([1, 1, 0, 1, 0, 0])
    np.testing.assert_allclose(
        to_numpy(kernel("huber_classification_forward")(xp.asarray(scores),
                                                        xp.asarray(labels))),
        naive_huber_classification(scores, labels))
    np.testing.assert_allclose(naive_huber_classification(scores, labels),
                               [12, 2.25, 1.44, 0, 0, 3.61])


# ---- the existing costs on sequences ------------------------------------------------------

@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_classification_and_cross_entropy_cost_per_timestep(rng, lengths):
    _, layout = ragged(rng, lengths, 1)
    prob = rng.uniform(0.1, 1.0, (layout.num_rows, 4))
    prob /= prob.sum(axis=1, keepdims=True)
    label = rng.integers(0, 4, layout.num_rows)
    hidden = paddle.layer.fc(paddle.layer.data("x", dense_seq(2)), size=4,
                             act=paddle.activation.Softmax())
    target = paddle.layer.data("y", ids_seq(4))
    for layer in (paddle.layer.classification_cost(hidden, target),
                  paddle.layer.cross_entropy_cost(hidden, target)):
        assert layer.seq_level == 1 and layer.size == 1
        y = run_layer(layer, [(prob, layout), (label, layout)])
        assert y.seq == layout and y.shape == (layout.num_rows, 1)
        np.testing.assert_allclose(y.data[:, 0], -np.log(prob[np.arange(len(label)), label]))
        check_layer_gradients(layer, [(prob, layout), (label, layout)], wrt_inputs=[0])


@pytest.mark.parametrize("build", [paddle.layer.square_error_cost, paddle.layer.regression_cost])
@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_square_error_cost_per_timestep(rng, build, lengths):
    (output, layout), (target, _) = ragged(rng, lengths, 3), ragged(rng, lengths, 3)
    layer = build(paddle.layer.data("x", dense_seq(3)), paddle.layer.data("t", dense_seq(3)))
    y = run_layer(layer, [(output, layout), (target, layout)])
    assert y.seq == layout
    np.testing.assert_allclose(y.data[:, 0], ((output - target) ** 2).sum(axis=1))
    check_layer_gradients(layer, [(output, layout), (target, layout)])


def test_a_cost_refuses_labels_of_another_layout(rng):
    layer = paddle.layer.square_error_cost(paddle.layer.data("x", dense_seq(2)),
                                           paddle.layer.data("t", dense_seq(2)))
    (x, lx), (t, lt) = ragged(rng, [1, 2], 2), ragged(rng, [2, 1], 2)
    with pytest.raises(ValueError, match="different lengths"):
        run_layer(layer, [(x, lx), (t, lt)])
    with pytest.raises(ValueError, match="must all be of one kind"):
        paddle.layer.square_error_cost(paddle.layer.data("a", dense_seq(2)),
                                       paddle.layer.data("b", dense(2)))


# ---- the robust costs: values and gradients, plain and on sequences -------------------------

def _pair(rng, lengths, width, scale=2.0):
    if lengths is None:
        return (scale * rng.standard_normal((5, width)), None), \
               (scale * rng.standard_normal((5, width)), None)
    (a, layout), (b, _) = ragged(rng, lengths, width), ragged(rng, lengths, width)
    return (scale * a, layout), (scale * b, layout)


def _data(name, width, lengths, kind=dense):
    if lengths is None:
        return paddle.layer.data(name, kind(width))
    return paddle.layer.data(name, {dense: dense_seq, ids: ids_seq}[kind](width))


@pytest.mark.parametrize("lengths", LENGTHS)
@pytest.mark.parametrize("delta", [1.0, 0.3])
def test_huber_regression_cost(rng, lengths, delta):
    layer = paddle.layer.huber_regression_cost(_data("x", 3, lengths), _data("t", 3, lengths),
                                               delta=delta)
    assert layer.name == "__huber_regression_cost_0__" and layer.type == "huber_regression"
    assert layer.size == 1 and layer.delta == delta
    inputs = _pair(rng, lengths, 3)
    y = run_layer(layer, inputs)
    assert y.seq == inputs[0][1]
    np.testing.assert_allclose(y.data[:, 0], naive_huber(inputs[0][0], inputs[1][0], delta))
    check_layer_gradients(layer, inputs)


@pytest.mark.parametrize("lengths", LENGTHS)
def test_smooth_l1_cost(rng, lengths):
    layer = paddle.layer.smooth_l1_cost(_data("x", 3, lengths), _data("t", 3, lengths))
    assert layer.name == "__smooth_l1_cost_0__" and layer.type == "smooth_l1"
    inputs = _pair(rng, lengths, 3)
    y = run_layer(layer, inputs)
    assert y.seq == inputs[0][1]
    np.testing.assert_allclose(y.data[:, 0], naive_smooth_l1(inputs[0][0], inputs[1][0]))
    check_layer_gradients(layer, inputs)


@pytest.mark.parametrize("lengths", LENGTHS)
def test_huber_classification_cost(rng, lengths):
    layer = paddle.layer.huber_classification_cost(_data("x", 1, lengths),
                                                   _data("y", 2, lengths, kind=ids))
    assert layer.name == "__huber_classification_cost_0__"
    assert layer.type == "huber_classification"
    (scores, layout), _ = _pair(rng, lengths, 1)
    labels = rng.integers(0, 2, len(scores))
    y = run_layer(layer, [(scores, layout), (labels, layout)])
    assert y.seq == layout
    np.testing.assert_allclose(y.data[:, 0], naive_huber_classification(scores, labels))
    check_layer_gradients(layer, [(scores, layout), (labels, layout)], wrt_inputs=[0])


def test_coeff_scales_the_gradient_but_not_the_cost(rng):
    from minidl.core import Tensor
    (x, _), (t, _) = _pair(rng, None, 2)
    for build in (lambda c: paddle.layer.huber_regression_cost(
                      paddle.layer.data("x", dense(2)), paddle.layer.data("t", dense(2)), coeff=c),
                  lambda c: paddle.layer.smooth_l1_cost(
                      paddle.layer.data("x", dense(2)), paddle.layer.data("t", dense(2)), coeff=c)):
        results = []
        for coeff in (1.0, 2.5):
            paddle.layer.reset_names()
            xt = Tensor(x.copy(), requires_grad=True)
            y = build(coeff).compute(RunContext({}), [xt, Tensor(t)])
            y.sum().backward()
            results.append((y.data.copy(), xt.grad.copy()))
        np.testing.assert_allclose(results[0][0], results[1][0])
        np.testing.assert_allclose(2.5 * results[0][1], results[1][1])


# ---- the trainer: one cost per row, divided by the number of samples ------------------------

def test_trainer_reports_the_sum_over_timesteps_per_sample():
    x = paddle.layer.data("x", dense_seq(2))
    t = paddle.layer.data("t", dense_seq(1))
    out = paddle.layer.fc(x, size=1, act=paddle.activation.Linear(), bias_attr=False)
    cost = paddle.layer.huber_regression_cost(out, t, delta=0.5)
    params = paddle.parameters.create(cost)
    w = params.get("___fc_layer_0__.w0").copy()
    samples = [([[1, 2], [3, 4], [5, 6]], [[1], [0], [2]]), ([[1, 1]], [[-1]])]
    seen = []
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=0.0))
    trainer.train(paddle.batch(lambda: iter(samples), 2), num_passes=1,
                  event_handler=lambda e: seen.append(e.cost)
                  if isinstance(e, paddle.event.EndIteration) else None)
    rows = np.array([[1, 2], [3, 4], [5, 6], [1, 1]], dtype=float)
    per_row = naive_huber(rows @ w, np.array([[1], [0], [2], [-1]]), 0.5)
    np.testing.assert_allclose(seen, [per_row.sum() / 2], rtol=1e-5)


def test_network_of_sequence_costs_fed_by_the_feeder(rng):
    x = paddle.layer.data("x", dense_seq(2))
    t = paddle.layer.data("t", dense_seq(2))
    y = paddle.layer.data("y", ids_seq(2))
    score = paddle.layer.fc(x, size=1, act=paddle.activation.Linear(), bias_attr=False)
    costs = [paddle.layer.smooth_l1_cost(x, t), paddle.layer.huber_regression_cost(x, t),
             paddle.layer.huber_classification_cost(score, y)]
    network = Network(costs)
    samples = [([[0, 0], [1, 3]], [[0.5, 0], [1, 0]], [0, 1]), ([[2, 2]], [[2, -2]], [1])]
    feed = Feeder(network.data_layers)(samples)
    params = {"___fc_layer_0__.w0": np.array([[1.0], [0.5]])}
    values = network.forward(feed, RunContext(params))
    np.testing.assert_allclose(values[costs[0].name].data[:, 0], [0.125, 2.5, 3.5])
    np.testing.assert_allclose(values[costs[1].name].data[:, 0], [0.125, 2.5, 3.5])
    # scores 0, 2.5, 3 against labels 0, 1, 1: a = 0, 2.5, 3
    np.testing.assert_allclose(values[costs[2].name].data[:, 0], [1, 0, 0])
    assert values[costs[2].name].seq.lengths.tolist() == [2, 1]


# ---- errors ---------------------------------------------------------------------------------

def test_robust_cost_errors():
    x, t = paddle.layer.data("x", dense(3)), paddle.layer.data("t", dense(2))
    label = paddle.layer.data("label", ids(2))
    with pytest.raises(ValueError, match="__huber_regression_cost_0__: label t has size 2 but "
                                         "input x has size 3"):
        paddle.layer.huber_regression_cost(x, t)
    with pytest.raises(ValueError, match="delta=0 must be a positive number"):
        paddle.layer.huber_regression_cost(x, x, delta=0)
    with pytest.raises(ValueError, match="label of smooth_l1_cost must be a dense_vector"):
        paddle.layer.smooth_l1_cost(paddle.layer.data("one", dense(2)), label)
    with pytest.raises(ValueError, match="huber_classification_cost takes one score per row; "
                                         "input x has size 3, expected 1"):
        paddle.layer.huber_classification_cost(x, label)
    with pytest.raises(ValueError, match="label of huber_classification_cost must be an "
                                         "integer_value"):
        paddle.layer.huber_classification_cost(paddle.layer.data("s", dense(1)), t)
    with pytest.raises(ValueError, match="coeff='1' must be a number"):
        paddle.layer.smooth_l1_cost(x, x, coeff="1")


def test_huber_classification_refuses_labels_other_than_0_and_1():
    layer = paddle.layer.huber_classification_cost(paddle.layer.data("s", dense(1)),
                                                   paddle.layer.data("y", ids(3)))
    with pytest.raises(ValueError, match=r"label values must be in \[0, 2\), got min 0, max 2"):
        run_layer(layer, [(np.zeros((2, 1)), None), (np.array([0, 2]), None)])
