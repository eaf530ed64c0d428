"""Cost layers: per-sample values, gradients, weights, coeff, construction errors."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minidl as paddle
from minidl.backends import kernel
from minidl.core import Tensor
from minidl.core.gradcheck import check_directional, check_elementwise
from minidl.functions.activation import Activation
from minidl.functions.cost import cross_entropy, square_error
from minidl.layers.graph import Network, RunContext

from conftest import to_numpy

dense, integer = paddle.data_type.dense_vector, paddle.data_type.integer_value


def probabilities(rng, shape):
    p = rng.uniform(0.1, 1.0, size=shape)
    return p / p.sum(axis=1, keepdims=True)


# ---- kernels and functions ----------------------------------------------------------------

def test_cross_entropy_known_values(backend, xp):
    prob = xp.asarray(np.array([[0.25, 0.75], [0.5, 0.5], [0.9, 0.1]]))
    cost = to_numpy(kernel("cross_entropy_forward")(prob, xp.asarray(np.array([1, 0, 1]))))
    np.testing.assert_allclose(cost, [-math.log(0.75), math.log(2), -math.log(0.1)])


def test_cross_entropy_of_zero_probability_is_finite(backend, xp):
    prob = xp.asarray(np.array([[0.0, 1.0]], np.float32))
    label = xp.asarray(np.array([0]))
    cost = to_numpy(kernel("cross_entropy_forward")(prob, label))
    assert np.isfinite(cost).all() and cost[0] > 80  # -log(float32 tiny) ~ 87.3
    grad = to_numpy(kernel("cross_entropy_backward")(prob, label, xp.ones(1, np.float32)))
    np.testing.assert_array_equal(grad, [[0.0, 0.0]])


def test_cross_entropy_gradients(backend, rng):
    labels = np.array([2, 0, 1, 2, 1])
    check_directional(lambda p: cross_entropy(p, labels), probabilities(rng, (5, 3)))
    check_elementwise(lambda p, w: cross_entropy(p, labels[:2], w),
                      probabilities(rng, (2, 3)), rng.uniform(0.5, 2, (2, 1)))


def test_softmax_then_cross_entropy_gradient_is_p_minus_onehot(backend, rng):
    logits = Tensor(rng.standard_normal((4, 5)), requires_grad=True)
    labels = np.array([0, 4, 2, 2])
    prob = Activation("softmax")(logits)
    cross_entropy(prob, labels).backward(np.ones((4, 1)))
    onehot = np.eye(5)[labels]
    np.testing.assert_allclose(logits.grad, prob.data - onehot, atol=1e-12)


def test_square_error_known_values_and_gradients(backend, xp, rng):
    out, target = np.array([[1.0, 2.0], [0.0, -1.0]]), np.array([[0.0, 0.0], [0.5, 1.0]])
    cost = to_numpy(kernel("square_error_forward")(xp.asarray(out), xp.asarray(target)))
    np.testing.assert_allclose(cost, [5.0, 4.25])  # sum of squares, no 1/2
    check_directional(lambda y, t: square_error(y, t), rng.standard_normal((6, 4)),
                      rng.standard_normal((6, 4)))
    check_elementwise(lambda y, t, w: square_error(y, t, w), rng.standard_normal((2, 3)),
                      rng.standard_normal((2, 3)), rng.uniform(0.5, 2, (2, 1)))


def test_weight_multiplies_each_sample(rng):
    prob, labels = probabilities(rng, (3, 4)), np.array([1, 3, 0])
    w = np.array([[2.0], [0.0], [1.5]])
    plain = cross_entropy(Tensor(prob), labels).data
    np.testing.assert_allclose(cross_entropy(Tensor(prob), labels, Tensor(w)).data, plain * w)
    y, t = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    np.testing.assert_allclose(square_error(Tensor(y), Tensor(t), Tensor(w)).data,
                               square_error(Tensor(y), Tensor(t)).data * w)


def test_coeff_scales_the_gradient_not_the_cost(backend, rng):
    """Paddle: ``coeff`` is "the weight of the gradient in the back propagation"."""
    prob, labels = probabilities(rng, (3, 4)), np.array([1, 3, 0])
    results = []
    for coeff in (1.0, 3.0):
        p = Tensor(prob.copy(), requires_grad=True)
        cost = cross_entropy(p, labels, coeff=coeff)
        cost.backward(np.ones((3, 1)))
        results.append((cost.data, p.grad))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_allclose(results[1][1], 3.0 * results[0][1])
    y = Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    square_error(y, Tensor(np.zeros((3, 2))), coeff=0.5).backward(np.ones((3, 1)))
    np.testing.assert_allclose(y.grad, 0.5 * 2 * y.data)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=15)
@given(n=st.integers(1, 6), k=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_costs_over_shapes(backend, n, k, seed):
    rng = np.random.default_rng(seed)
    prob, labels = probabilities(rng, (n, k)), rng.integers(0, k, n)
    np.testing.assert_allclose(kernel("cross_entropy_forward")(prob, labels),
                               [-math.log(prob[i, labels[i]]) for i in range(n)])
    check_directional(lambda p: cross_entropy(p, labels), prob, seed=seed)
    y, t = rng.standard_normal((n, k)), rng.standard_normal((n, k))
    np.testing.assert_allclose(kernel("square_error_forward")(y, t),
                               [sum((y[i, j] - t[i, j]) ** 2 for j in range(k)) for i in range(n)])
    check_directional(lambda a, b: square_error(a, b), y, t, seed=seed)


# ---- layers -------------------------------------------------------------------------------

def softmax_net(rng, classes=3, features=4):
    x = paddle.layer.data("x", dense(features))
    label = paddle.layer.data("label", integer(classes))
    out = paddle.layer.fc(x, classes, act=paddle.activation.Softmax())
    w = rng.standard_normal((features, classes))
    b = rng.standard_normal((1, classes))
    return x, label, out, {out.params[0].name: w, out.params[1].name: b}


def forward(outputs, feed, params, is_train=True):
    ctx = RunContext({k: v if isinstance(v, Tensor) else Tensor(v) for k, v in params.items()},
                     is_train=is_train, rng=np.random.default_rng(0))
    return Network(outputs).forward(feed, ctx)


def test_classification_cost_layer(rng):
    x, label, out, params = softmax_net(rng)
    cost = paddle.layer.classification_cost(out, label)
    assert cost.name == "__cost_0__" and cost.size == 1 and cost.type == "multi-class-cross-entropy"
    assert cost.inputs == [out, label]
    assert cost.evaluators == ["classification_error_evaluator"]
    data, labels = rng.standard_normal((5, 4)), np.array([0, 2, 1, 1, 0])
    values = forward(cost, {"x": data, "label": labels}, params)
    logits = data @ params[out.params[0].name] + params[out.params[1].name]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    want = -np.log(p[np.arange(5), labels])[:, None]
    np.testing.assert_allclose(values[cost.name].data, want, rtol=1e-12)
    # labels may also arrive as a column
    column = forward(cost, {"x": data, "label": labels[:, None]}, params)[cost.name].data
    np.testing.assert_allclose(column, want, rtol=1e-12)


def test_classification_cost_gradient_end_to_end(backend, rng):
    x, label, out, params = softmax_net(rng)
    weight = paddle.layer.data("weight", dense(1))
    cost = paddle.layer.classification_cost(out, label, weight=weight)
    assert cost.inputs == [out, label, weight]
    wname, bname = out.params[0].name, out.params[1].name
    feed = {"x": rng.standard_normal((6, 4)), "label": np.array([0, 1, 2, 2, 1, 0]),
            "weight": rng.uniform(0.5, 2, (6, 1))}

    def fn(w, b):
        return forward(cost, feed, {wname: w, bname: b})[cost.name]

    check_directional(fn, params[wname], params[bname])
    check_elementwise(fn, params[wname], params[bname])


def test_cross_entropy_cost_layer(backend, rng):
    probs = paddle.layer.data("probs", dense(4))
    label = paddle.layer.data("label", integer(4))
    cost = paddle.layer.cross_entropy_cost(probs, label)
    assert cost.name == "__cross_entropy_0__" and cost.evaluators == []
    p, labels = probabilities(rng, (3, 4)), np.array([3, 0, 1])
    got = forward(cost, {"probs": p, "label": labels}, {})[cost.name].data
    np.testing.assert_allclose(got.ravel(), -np.log(p[np.arange(3), labels]))

    def through_layer(prob):
        return cost.compute(RunContext({}, is_train=True), [prob, Tensor(labels)])

    check_directional(through_layer, p)


def test_square_error_cost_layer(backend, rng):
    x = paddle.layer.data("x", dense(3))
    target = paddle.layer.data("y", dense(3))
    fc = paddle.layer.fc(x, 3, act=paddle.activation.Linear())
    cost = paddle.layer.square_error_cost(fc, target, coeff=2.0)
    assert cost.name == "__square_error_cost_0__" and cost.type == "square_error"
    assert paddle.layer.regression_cost is paddle.layer.square_error_cost
    y = rng.standard_normal((4, 3))

    def through_layer(out):
        return cost.compute(RunContext({}, is_train=True), [out, Tensor(y)])

    out = rng.standard_normal((4, 3))
    np.testing.assert_allclose(through_layer(Tensor(out)).data,
                               ((out - y) ** 2).sum(axis=1, keepdims=True))
    o = Tensor(out.copy(), requires_grad=True)
    through_layer(o).backward(np.ones((4, 1)))
    np.testing.assert_allclose(o.grad, 2.0 * 2 * (out - y))  # coeff 2 on the gradient


def test_label_out_of_range_names_the_layer(rng):
    x, label, out, params = softmax_net(rng)
    cost = paddle.layer.classification_cost(out, label)
    with pytest.raises(ValueError, match=r"__cost_0__.*\[0, 3\).*max 3"):
        forward(cost, {"x": rng.standard_normal((2, 4)), "label": np.array([0, 3])}, params)


def test_construction_errors_name_the_layer(rng):
    x = paddle.layer.data("x", dense(4))
    label = paddle.layer.data("label", integer(3))
    tanh = paddle.layer.fc(x, 3)
    with pytest.raises(ValueError, match=r"__cost_0__.*Softmax.*__fc_layer_0__.*Tanh"):
        paddle.layer.classification_cost(tanh, label)
    with pytest.raises(ValueError, match=r"__cost_1__.*Softmax.*data layer"):
        paddle.layer.classification_cost(x, label)
    soft = paddle.layer.fc(x, 3, act=paddle.activation.Softmax())
    with pytest.raises(ValueError, match=r"__cost_2__.*label must be an integer_value data"):
        paddle.layer.classification_cost(soft, tanh)
    with pytest.raises(ValueError, match=r"__cost_3__.*weight.*size 1"):
        paddle.layer.classification_cost(soft, label, weight=x)
    target = paddle.layer.data("target", dense(5))
    with pytest.raises(ValueError, match=r"__square_error_cost_0__.*size 5.*size 3"):
        paddle.layer.square_error_cost(soft, target)
    with pytest.raises(ValueError, match=r"__square_error_cost_1__.*dense_vector.*label"):
        paddle.layer.square_error_cost(soft, label)
    with pytest.raises(ValueError, match=r"__cross_entropy_0__.*coeff"):
        paddle.layer.cross_entropy_cost(soft, label, coeff="one")
    with pytest.raises(ValueError, match=r"__cost_4__.*integer_value"):
        paddle.layer.classification_cost(soft, target)


def test_evaluator_argument(rng):
    from minidl.training import evaluators
    x, label, out, _ = softmax_net(rng)
    assert paddle.layer.classification_cost(out, label, evaluator=[]).evaluators == []
    named = paddle.layer.classification_cost(out, label,
                                             evaluator=evaluators.classification_error)
    assert named.evaluators == ["classification_error_evaluator"]
    with pytest.raises(ValueError, match=r"__cost_2__.*unknown evaluator"):
        paddle.layer.classification_cost(out, label, evaluator="auc")
