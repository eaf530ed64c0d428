"""paddle.layer.hsigmoid and paddle.layer.nce: the bit-code tree against a walk up v2's heap,
hsigmoid's cost as log-sigmoid terms along the path (and a distribution over the classes), NCE's
objective with fixed samples computed by hand, the noise sampler, float64 gradients of inputs
and parameters, parameter shapes and names as v2, construction errors, and training runs."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl as paddle
from minidl.backends import kernel
from minidl.core.sequence import SequenceLayout
from minidl.core.sparse_rows import SparseRows
from minidl.layers.sampled_softmax import NoiseSampler

from sequence_helpers import check_layer_gradients, run_layer

dense, ids = paddle.data_type.dense_vector, paddle.data_type.integer_value
LOG2 = math.log(2.0)


def log_sigmoid(v):
    return -math.log1p(math.exp(-v))


# ---- the tree ------------------------------------------------------------------------------------

def path_by_walking_up(label, num_classes):
    """[(weight row, bit)] from the leaf's parent to the root: the leaf of class c is heap
    node c + K, a node's parent is node // 2, the node is its parent's right child when odd,
    and inner node n keeps weight row n - 1."""
    node, path = label + num_classes, []
    while node > 1:
        path.append((node // 2 - 1, node % 2))
        node //= 2
    return path


def test_the_tree_of_five_classes():
    index, bits, mask = kernel("hsigmoid_codes")(np.arange(5), 5)
    # the longest path has bit_length(4) = 3 nodes; classes 0-2 sit one level higher
    assert index.shape == (5, 3)
    np.testing.assert_array_equal(mask.sum(axis=1), [2, 2, 2, 3, 3])
    np.testing.assert_array_equal(index[:, :2], [[1, 0], [2, 0], [2, 0], [3, 1], [3, 1]])
    np.testing.assert_array_equal(bits, [[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0], [1, 0, 0]])


@settings(max_examples=30)
@given(num_classes=st.integers(3, 40), seed=st.integers(0, 999))
def test_codes_are_the_heap_paths(num_classes, seed):
    labels = np.random.default_rng(seed).integers(0, num_classes, 6)
    index, bits, mask = kernel("hsigmoid_codes")(labels, num_classes)
    for i, label in enumerate(labels):
        path = path_by_walking_up(int(label), num_classes)
        length = int(mask[i].sum())
        assert [(int(index[i, j]), int(bits[i, j])) for j in range(length)] == path
        assert not mask[i, length:].any()


# ---- hsigmoid ------------------------------------------------------------------------------------

def hsigmoid_by_hand(x, w, bias, label, num_classes):
    """Minus the log-probability of the label's path, plus log 2 per level it lacks."""
    path = path_by_walking_up(label, num_classes)
    cost = 0.0
    for row, bit in path:
        z = float(w[row] @ x + bias[0, row])
        cost -= log_sigmoid(z) if bit else log_sigmoid(-z)
    depth = (num_classes - 1).bit_length()
    return cost + (depth - len(path)) * LOG2


def hsigmoid_net(num_classes=5, sizes=(3, 2), bias=True):
    inputs = [paddle.layer.data(f"x{i}", dense(s)) for i, s in enumerate(sizes)]
    label = paddle.layer.data("y", ids(num_classes))
    cost = paddle.layer.hsigmoid(input=inputs if len(inputs) > 1 else inputs[0], label=label,
                                 bias_attr=None if bias else False)
    return cost


def hsigmoid_params(rng, num_classes, sizes, bias=True, name="___hsigmoid_0__"):
    params = {f"{name}.w{i}": rng.standard_normal((num_classes - 1, s))
              for i, s in enumerate(sizes)}
    if bias:
        params[f"{name}.wbias"] = rng.standard_normal((1, num_classes - 1))
    return params


@pytest.mark.parametrize("num_classes", [3, 5, 8, 11])
def test_hsigmoid_cost_is_the_path_log_probability(num_classes, rng):
    cost = hsigmoid_net(num_classes)
    params = hsigmoid_params(rng, num_classes, (3, 2))
    x0, x1 = rng.standard_normal((num_classes, 3)), rng.standard_normal((num_classes, 2))
    labels = np.arange(num_classes)
    out = run_layer(cost, [(x0, None), (x1, None), (labels, None)], params).data
    w = np.concatenate([params["___hsigmoid_0__.w0"], params["___hsigmoid_0__.w1"]], axis=1)
    for i in labels:
        expected = hsigmoid_by_hand(np.concatenate([x0[i], x1[i]]), w,
                                    params["___hsigmoid_0__.wbias"], int(i), num_classes)
        assert out[i, 0] == pytest.approx(expected, rel=1e-12)


def test_hsigmoid_probabilities_of_all_classes_sum_to_one(rng):
    num_classes = 7
    cost = hsigmoid_net(num_classes, sizes=(4,))
    params = hsigmoid_params(rng, num_classes, (4,))
    x = np.repeat(rng.standard_normal((1, 4)), num_classes, axis=0)
    out = run_layer(cost, [(x, None), (np.arange(num_classes), None)], params).data[:, 0]
    _, _, mask = kernel("hsigmoid_codes")(np.arange(num_classes), num_classes)
    padding = (~mask).sum(axis=1) * LOG2              # v2's constant for short paths
    np.testing.assert_allclose(np.exp(-(out - padding)).sum(), 1.0, rtol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_hsigmoid_gradients_of_inputs_and_parameters(bias, rng):
    cost = hsigmoid_net(6, bias=bias)
    params = hsigmoid_params(rng, 6, (3, 2), bias)
    labels = np.array([0, 5, 3, 3, 1])
    check_layer_gradients(cost, [(rng.standard_normal((5, 3)), None),
                                 (rng.standard_normal((5, 2)), None), (labels, None)], params)


def test_hsigmoid_on_sequences_keeps_the_layout(rng):
    x = paddle.layer.data("x", paddle.data_type.dense_vector_sequence(3))
    y = paddle.layer.data("y", paddle.data_type.integer_value_sequence(4))
    cost = paddle.layer.hsigmoid(input=x, label=y)
    layout = SequenceLayout.from_lengths([2, 1])
    params = hsigmoid_params(rng, 4, (3,))
    out = run_layer(cost, [(rng.standard_normal((3, 3)), layout), (np.array([0, 3, 1]), layout)],
                    params)
    assert out.shape == (3, 1) and out.seq == layout


def test_hsigmoid_parameters_and_names_as_v2():
    cost = hsigmoid_net(10, sizes=(3, 2))
    assert (cost.name, cost.type, cost.size, cost.num_classes) == ("__hsigmoid_0__", "hsigmoid",
                                                                   1, 10)
    assert [(p.name, p.shape) for p in cost.params] == [
        ("___hsigmoid_0__.w0", (9, 3)), ("___hsigmoid_0__.w1", (9, 2)),
        ("___hsigmoid_0__.wbias", (1, 9))]
    assert cost.params[0].default_std == pytest.approx(1 / 3)
    assert cost.params[2].is_bias


def test_hsigmoid_errors(rng):
    x = paddle.layer.data("x", dense(3))
    with pytest.raises(ValueError, match="num_classes=2 must be an integer >= 3"):
        paddle.layer.hsigmoid(input=x, label=paddle.layer.data("y2", ids(2)))
    with pytest.raises(ValueError, match="label must be an integer_value data layer"):
        paddle.layer.hsigmoid(input=x, label=paddle.layer.data("d", dense(4)))
    with pytest.raises(ValueError, match="has 4 classes but num_classes=6"):
        paddle.layer.hsigmoid(input=x, label=paddle.layer.data("y4", ids(4)), num_classes=6)
    with pytest.raises(ValueError, match="2 param_attr for 1 inputs"):
        paddle.layer.hsigmoid(input=x, label=paddle.layer.data("y5", ids(5)),
                              param_attr=[paddle.attr.Param(), paddle.attr.Param()])
    cost = paddle.layer.hsigmoid(input=x, label=paddle.layer.data("y", ids(4)))
    with pytest.raises(ValueError, match="label values must be in \\[0, 4\\)"):
        run_layer(cost, [(np.zeros((1, 3)), None), (np.array([4]), None)],
                  hsigmoid_params(rng, 4, (3,), name="___hsigmoid_3__"))


# ---- nce -----------------------------------------------------------------------------------------

class FixedSampler:
    """Returns the given noise classes, in order (what v2 would have drawn)."""

    def __init__(self, classes):
        self.classes = np.asarray(classes)

    def __call__(self, rng, count):
        assert count == self.classes.size
        return self.classes


def nce_by_hand(x, w, b, true_classes, noise_classes, k, q, weight=1.0):
    def o(c):
        return 1 / (1 + math.exp(-(w[c] @ x + b[0, c])))
    cost = sum(-math.log(o(c) / (o(c) + k * q[c])) for c in true_classes)
    cost += sum(-math.log(k * q[c] / (o(c) + k * q[c])) for c in noise_classes)
    return weight * cost


def nce_params(rng, num_classes, width, name="___nce_layer_0__"):
    return {f"{name}.w0": rng.standard_normal((num_classes, width)),
            f"{name}.wbias": rng.standard_normal((1, num_classes))}


@pytest.mark.parametrize("distribution", [None, [0.1, 0.2, 0.3, 0.15, 0.25]])
def test_nce_is_the_documented_objective_with_fixed_samples(distribution, rng):
    noise = np.array([[1, 4, 4], [0, 2, 3]])
    x = paddle.layer.data("x", dense(3))
    label, weight = paddle.layer.data("y", ids(5)), paddle.layer.data("w", dense(1))
    cost = paddle.layer.nce(input=x, label=label, weight=weight, num_neg_samples=3,
                            neg_distribution=distribution, sampler=FixedSampler(noise.ravel()))
    params = nce_params(rng, 5, 3)
    xs, labels, weights = rng.standard_normal((2, 3)), np.array([4, 1]), np.array([[2.0], [0.5]])
    out = run_layer(cost, [(xs, None), (labels, None), (weights, None)], params).data
    q = np.full(5, 0.2) if distribution is None else np.array(distribution)
    for i in range(2):
        expected = nce_by_hand(xs[i], params["___nce_layer_0__.w0"],
                               params["___nce_layer_0__.wbias"], [labels[i]], noise[i], 3, q,
                               weights[i, 0])
        assert out[i, 0] == pytest.approx(expected, rel=1e-12)


def test_nce_multi_label_rows(rng):
    x = paddle.layer.data("x", dense(2))
    label = paddle.layer.data("y", paddle.data_type.sparse_binary_vector(4))
    cost = paddle.layer.nce(input=x, label=label, num_neg_samples=2,
                            sampler=FixedSampler([3, 3, 0, 1]))
    params = nce_params(rng, 4, 2)
    xs = rng.standard_normal((2, 2))
    rows_of_labels = SparseRows([0, 2, 3], [0, 2, 1], None, 4)
    out = run_layer(cost, [(xs, None), (rows_of_labels, None)], params).data
    w, b, q = params["___nce_layer_0__.w0"], params["___nce_layer_0__.wbias"], np.full(4, 0.25)
    np.testing.assert_allclose(out[:, 0], [nce_by_hand(xs[0], w, b, [0, 2], [3, 3], 2, q),
                                           nce_by_hand(xs[1], w, b, [1], [0, 1], 2, q)])


def test_nce_gradients_with_two_inputs_and_a_weight(rng):
    x0, x1 = paddle.layer.data("x0", dense(3)), paddle.layer.data("x1", dense(2))
    label, weight = paddle.layer.data("y", ids(6)), paddle.layer.data("w", dense(1))
    cost = paddle.layer.nce(input=[x0, x1], label=label, weight=weight, num_neg_samples=4,
                            neg_distribution=[0.3, 0.1, 0.1, 0.2, 0.2, 0.1])
    params = {"___nce_layer_0__.w0": rng.standard_normal((6, 3)),
              "___nce_layer_0__.w1": rng.standard_normal((6, 2)),
              "___nce_layer_0__.wbias": rng.standard_normal((1, 6))}
    # the default sampler draws from the run's random state, seeded alike at every call
    check_layer_gradients(cost, [(rng.standard_normal((4, 3)), None),
                                 (rng.standard_normal((4, 2)), None),
                                 (np.array([0, 5, 2, 2]), None),
                                 (rng.uniform(0.5, 2, (4, 1)), None)], params)


def test_noise_sampler_follows_the_distribution():
    rng = np.random.default_rng(0)
    assert set(NoiseSampler(4, [0, 0, 1, 0])(rng, 50).tolist()) == {2}
    draws = NoiseSampler(5)(rng, 5000)
    counts = np.bincount(draws, minlength=5) / 5000
    np.testing.assert_allclose(counts, 0.2, atol=0.03)


def test_nce_parameters_names_and_defaults_as_v2():
    x0, x1 = paddle.layer.data("x0", dense(3)), paddle.layer.data("x1", dense(2))
    cost = paddle.layer.nce(input=[x0, x1], label=paddle.layer.data("y", ids(16)))
    assert (cost.name, cost.type, cost.size, cost.num_classes, cost.num_neg_samples) == \
        ("__nce_layer_0__", "nce", 1, 16, 10)
    assert [(p.name, p.shape) for p in cost.params] == [
        ("___nce_layer_0__.w0", (16, 3)), ("___nce_layer_0__.w1", (16, 2)),
        ("___nce_layer_0__.wbias", (1, 16))]
    assert cost.params[0].default_std == pytest.approx(0.25)
    no_bias = paddle.layer.nce(input=x0, label=paddle.layer.data("y2", ids(4)), bias_attr=False)
    assert [p.name for p in no_bias.params] == ["___nce_layer_1__.w0"]


def test_nce_errors():
    x = paddle.layer.data("x", dense(3))
    y = paddle.layer.data("y", ids(3))
    with pytest.raises(ValueError, match="neg_distribution must hold num_classes=3"):
        paddle.layer.nce(input=x, label=y, neg_distribution=[0.5, 0.5])
    with pytest.raises(ValueError, match="summing to 1"):
        paddle.layer.nce(input=x, label=y, neg_distribution=[0.5, 0.4, 0.4])
    with pytest.raises(ValueError, match="num_neg_samples=0"):
        paddle.layer.nce(input=x, label=y, num_neg_samples=0)
    with pytest.raises(ValueError, match="label must be an integer_value or sparse_binary"):
        paddle.layer.nce(input=x, label=paddle.layer.data("d", dense(3)))
    with pytest.raises(ValueError, match="weight must be a data layer of size 1"):
        paddle.layer.nce(input=x, label=y, weight=paddle.layer.data("w", dense(2)))
    with pytest.raises(ValueError, match="must be dense"):
        paddle.layer.nce(input=paddle.layer.data("s", paddle.data_type.sparse_binary_vector(3)),
                         label=y)


# ---- training ------------------------------------------------------------------------------------

def _train(make_cost, passes=8):
    """Mean cost of the first and the last pass of SGD on 6 classes, each its own input."""
    paddle.layer.reset_names()
    paddle.init(seed=3)
    x = paddle.layer.data("x", dense(6))
    label = paddle.layer.data("label", ids(6))
    cost = make_cost(paddle.layer.fc(x, size=4, act=paddle.activation.Tanh()), label)
    params = paddle.parameters.create(cost)
    data = [(np.eye(6, dtype=np.float32)[c], c) for c in range(6)] * 4
    per_pass = []
    trainer = paddle.trainer.SGD(cost, params,
                                 paddle.optimizer.Momentum(learning_rate=0.05, momentum=0.9))
    trainer.train(paddle.batch(lambda: iter(data), 8), num_passes=passes,
                  event_handler=lambda e: per_pass.append([]) if isinstance(
                      e, paddle.event.BeginPass) else per_pass[-1].append(e.cost) if isinstance(
                      e, paddle.event.EndIteration) else None)
    return np.mean(per_pass[0]), np.mean(per_pass[-1])


def test_hsigmoid_trains():
    first, last = _train(lambda h, y: paddle.layer.hsigmoid(input=h, label=y))
    assert last < 0.5 * first


def test_nce_trains():
    first, last = _train(lambda h, y: paddle.layer.nce(input=h, label=y, num_neg_samples=3))
    assert last < 0.75 * first


def test_an_extra_cost_layer_is_trained_too():
    """Every layer of this file is a CostLayer: given to SGD as an extra layer, it trains."""
    x = paddle.layer.data("x", dense(6))
    label = paddle.layer.data("label", ids(6))
    hidden = paddle.layer.fc(x, size=4, act=paddle.activation.Tanh())
    main = paddle.layer.classification_cost(
        input=paddle.layer.fc(hidden, size=6, act=paddle.activation.Softmax()), label=label)
    extra = paddle.layer.hsigmoid(input=hidden, label=label)
    params = paddle.parameters.create(main)
    trainer = paddle.trainer.SGD(main, params, paddle.optimizer.Momentum(learning_rate=0.1),
                                 extra_layers=[extra])
    before = params.get("___hsigmoid_0__.w0").copy()
    data = [(np.eye(6, dtype=np.float32)[c], c) for c in range(6)]
    trainer.train(paddle.batch(lambda: iter(data), 6), num_passes=1)
    assert not np.allclose(params.get("___hsigmoid_0__.w0"), before)
