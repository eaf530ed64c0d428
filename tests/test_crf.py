"""paddle.layer.crf / crf_decoding: the CRF cost against brute-force enumeration of every tag
path, Viterbi against brute force, float64 gradients of input and parameter on ragged
batches, v2's parameter layout (row 0 start, row 1 end, rows 2.. transitions [from, to]),
decoding errors against a label, and the errors of bad labels and bad networks."""

import io
import itertools
import math

import numpy as np
import pytest

import minidl as paddle
from minidl.backends import kernel
from minidl.core.gradcheck import check_elementwise
from minidl.core.sequence import SequenceLayout
from minidl.core.tensor import Tensor
from minidl.functions.crf import crf_cost
from minidl.training.parameters import Parameters

from sequence_helpers import check_layer_gradients, ragged, run_layer

K = 3   # tags in most tests: 3^5 = 243 paths for the longest brute-force sequence


# --- brute force: every tag path of one sequence ------------------------------------------

def path_score(x, w, path):
    """score(s) = a[s0] + b[s_last] + sum_k x[k, s_k] + sum_k W[s_{k-1}, s_k] (v2's layout)."""
    a, b, trans = w[0], w[1], w[2:]
    score = a[path[0]] + b[path[-1]] + sum(x[k, s] for k, s in enumerate(path))
    return score + sum(trans[path[k - 1], path[k]] for k in range(1, len(path)))


def brute_force(x, w):
    """(log Z, every path, their scores) of one sequence ``x: (L, K)``."""
    paths = list(itertools.product(range(x.shape[1]), repeat=len(x)))
    scores = np.array([path_score(x, w, p) for p in paths])
    top = scores.max()
    return top + math.log(np.exp(scores - top).sum()), paths, scores


def crf_net(size=K, name="crf", weight=False, coeff=1.0, param="crfw"):
    feature = paddle.layer.data("feature", paddle.data_type.dense_vector_sequence(size))
    label = paddle.layer.data("tags", paddle.data_type.integer_value_sequence(size))
    w = paddle.layer.data("w", paddle.data_type.dense_vector(1)) if weight else None
    cost = paddle.layer.crf(input=feature, label=label, size=size, weight=w, name=name,
                            coeff=coeff, param_attr=paddle.attr.Param(name=param))
    return cost, feature, label


def random_case(rng, lengths, size=K):
    x, layout = ragged(rng, lengths, size)
    labels = rng.integers(0, size, layout.num_rows)
    w = rng.standard_normal((size + 2, size))
    return x, labels, layout, w


# --- the cost ------------------------------------------------------------------------------

@pytest.mark.parametrize("length", [1, 2, 3, 5])
def test_cost_is_minus_log_probability_of_the_label_path(length):
    rng = np.random.default_rng(length)
    x, labels, layout, w = random_case(rng, [length])
    log_z, _, _ = brute_force(x, w)
    expected = log_z - path_score(x, w, labels)
    cost, _, kernel_log_z = kernel("crf_forward")(x, w, labels, layout.starts)
    assert cost.shape == (1,)
    np.testing.assert_allclose(cost[0], expected, rtol=1e-12)
    np.testing.assert_allclose(kernel_log_z[0], log_z, rtol=1e-12)


def test_costs_of_a_ragged_batch_are_those_of_each_sequence_alone():
    rng = np.random.default_rng(1)
    lengths = [2, 1, 5, 3]
    x, labels, layout, w = random_case(rng, lengths)
    cost, feature, label = crf_net()
    out = run_layer(cost, [(x, layout), (labels, layout)], {"crfw": w})
    assert out.shape == (4, 1) and out.seq is None          # one cost per sequence
    for i, (begin, end) in enumerate(zip(layout.starts[:-1], layout.starts[1:])):
        log_z, _, _ = brute_force(x[begin:end], w)
        np.testing.assert_allclose(out.data[i, 0],
                                   log_z - path_score(x[begin:end], w, labels[begin:end]),
                                   rtol=1e-12)


def test_probabilities_of_all_paths_sum_to_one():
    rng = np.random.default_rng(2)
    x, _, layout, w = random_case(rng, [3])
    paths = np.array(list(itertools.product(range(K), repeat=3)))
    costs = [kernel("crf_forward")(x, w, p, layout.starts)[0][0] for p in paths]
    np.testing.assert_allclose(np.exp(-np.array(costs)).sum(), 1.0, rtol=1e-12)


def test_large_scores_do_not_overflow():
    rng = np.random.default_rng(3)
    x, labels, layout, w = random_case(rng, [4])
    x32 = (x * 500).astype(np.float32)                        # exp(500) overflows
    cost = kernel("crf_forward")(x32, (w * 200).astype(np.float32), labels, layout.starts)[0]
    assert np.isfinite(cost).all() and cost[0] >= -1e-3


def test_weight_multiplies_the_cost_and_coeff_only_the_gradient():
    rng = np.random.default_rng(4)
    x, labels, layout, w = random_case(rng, [2, 3])
    weights = np.array([[2.0], [0.5]])
    plain = crf_cost(Tensor(x), Tensor(w), labels, layout.starts).data
    weighted = crf_cost(Tensor(x), Tensor(w), labels, layout.starts, Tensor(weights)).data
    np.testing.assert_allclose(weighted, plain * weights)
    grads = []
    for coeff in (1.0, 3.0):
        xt, wt = Tensor(x.copy(), requires_grad=True), Tensor(w.copy(), requires_grad=True)
        out = crf_cost(xt, wt, labels, layout.starts, coeff=coeff)
        np.testing.assert_allclose(out.data, plain)           # the reported cost is unscaled
        out.backward(np.ones_like(out.data))
        grads.append((xt.grad, wt.grad))
    np.testing.assert_allclose(grads[1][0], 3 * grads[0][0])
    np.testing.assert_allclose(grads[1][1], 3 * grads[0][1])


# --- gradients --------------------------------------------------------------------------------

GRADIENT_BATCHES = ([1, 2, 5], [5, 1, 2, 2, 1], [1], [5])


@pytest.mark.parametrize("lengths", GRADIENT_BATCHES)
def test_gradients_of_input_and_parameter(lengths):
    rng = np.random.default_rng(sum(lengths))
    x, labels, layout, w = random_case(rng, lengths)
    cost, _, _ = crf_net()
    check_layer_gradients(cost, [(x, layout), (labels, layout)], {"crfw": w})


@pytest.mark.parametrize("lengths", [[1, 2, 5], [1]])
def test_gradients_with_weight_and_coeff(lengths):
    rng = np.random.default_rng(7)
    x, labels, layout, w = random_case(rng, lengths, size=4)
    weights = rng.random((len(lengths), 1)) + 0.5
    cost, _, _ = crf_net(size=4, weight=True, coeff=1.0)
    check_layer_gradients(cost, [(x, layout), (labels, layout), (weights, None)], {"crfw": w})


def test_every_gradient_entry_on_a_tiny_batch():
    """Element by element (a random direction could hide one wrong entry)."""
    rng = np.random.default_rng(8)
    x, labels, layout, w = random_case(rng, [1, 3, 2])

    def fn(xt, wt):
        return crf_cost(xt, wt, labels, layout.starts)
    check_elementwise(fn, x, w)


def test_parameter_gradient_is_expected_minus_observed_counts():
    """By brute force: d cost / d W[i, j] = E[#(i -> j)] - #(i -> j) on the label path."""
    rng = np.random.default_rng(9)
    x, labels, layout, w = random_case(rng, [4])
    log_z, paths, scores = brute_force(x, w)
    p = np.exp(scores - log_z)
    expected = np.zeros_like(w)
    for path, prob in zip(paths, p):
        expected[0, path[0]] += prob
        expected[1, path[-1]] += prob
        for k in range(1, len(path)):
            expected[2 + path[k - 1], path[k]] += prob
    observed = np.zeros_like(w)
    observed[0, labels[0]] += 1
    observed[1, labels[-1]] += 1
    for k in range(1, len(labels)):
        observed[2 + labels[k - 1], labels[k]] += 1
    cost, alpha, log_z_kernel = kernel("crf_forward")(x, w, labels, layout.starts)
    _, gw = kernel("crf_backward")(x, w, labels, layout.starts, alpha, log_z_kernel,
                                   np.ones(1))
    np.testing.assert_allclose(gw, expected - observed, atol=1e-12)


# --- decoding ---------------------------------------------------------------------------------

@pytest.mark.parametrize("length", [1, 2, 4, 5])
def test_viterbi_finds_the_best_path(length):
    for seed in range(5):
        rng = np.random.default_rng(100 * length + seed)
        x, _, layout, w = random_case(rng, [length])
        _, paths, scores = brute_force(x, w)
        ids = kernel("crf_decode")(x, w, layout.starts)
        assert ids.dtype == np.int64
        assert tuple(ids) == paths[int(scores.argmax())]


def test_viterbi_on_a_ragged_batch_decodes_each_sequence_alone():
    rng = np.random.default_rng(11)
    x, _, layout, w = random_case(rng, [3, 1, 4, 2], size=4)
    ids = kernel("crf_decode")(x, w, layout.starts)
    for begin, end in zip(layout.starts[:-1], layout.starts[1:]):
        _, paths, scores = brute_force(x[begin:end], w)
        assert tuple(ids[begin:end]) == paths[int(scores.argmax())]


def test_parameter_rows_are_start_end_then_transitions_from_to():
    """v2's LinearChainCRF: row 0 a (start), row 1 b (end), rows 2.. W[from, to]."""
    layout = SequenceLayout.from_lengths([3])
    x = np.zeros((3, K))
    w = np.zeros((K + 2, K))
    w[0, 2] = 5.0                 # start in tag 2
    w[2 + 2, 0] = 5.0             # then 2 -> 0
    w[1, 1] = 5.0                 # end in tag 1
    assert kernel("crf_decode")(x, w, layout.starts).tolist() == [2, 0, 1]
    # a single-row sequence sees start and end weights together
    one = SequenceLayout.from_lengths([1])
    w1 = np.zeros((K + 2, K))
    w1[0] = [0.0, 1.0, 0.0]
    w1[1] = [0.0, 0.0, 1.5]
    assert kernel("crf_decode")(np.zeros((1, K)), w1, one.starts).tolist() == [2]
    # ties go to the smallest tag (Paddle's strict '>')
    assert kernel("crf_decode")(np.zeros((3, K)), np.zeros((K + 2, K)),
                                layout.starts).tolist() == [0, 0, 0]


def decoding_net(with_label, size=K):
    feature = paddle.layer.data("feature", paddle.data_type.dense_vector_sequence(size))
    label = paddle.layer.data("tags", paddle.data_type.integer_value_sequence(size))
    dec = paddle.layer.crf_decoding(input=feature, size=size,
                                    label=label if with_label else None,
                                    param_attr=paddle.attr.Param(name="crfw"))
    return dec


def test_crf_decoding_outputs_ids_with_the_input_layout():
    rng = np.random.default_rng(12)
    x, _, layout, w = random_case(rng, [2, 1, 3])
    dec = decoding_net(with_label=False)
    assert dec.name == "__crf_decoding_layer_0__" and dec.size == 1
    out = run_layer(dec, [(x, layout)], {"crfw": w})
    assert out.data.dtype == np.int64 and out.data.shape == (6,)
    assert out.seq == layout
    np.testing.assert_array_equal(out.data, kernel("crf_decode")(x, w, layout.starts))


def test_crf_decoding_with_a_label_outputs_per_timestep_errors():
    rng = np.random.default_rng(13)
    x, _, layout, w = random_case(rng, [2, 1, 3])
    decoded = kernel("crf_decode")(x, w, layout.starts)
    labels = decoded.copy()
    labels[[0, 4]] = (labels[[0, 4]] + 1) % K            # two wrong tags
    dec = decoding_net(with_label=True)
    out = run_layer(dec, [(x, layout), (labels, layout)], {"crfw": w})
    assert out.data.shape == (6, 1) and out.data.dtype == x.dtype
    np.testing.assert_array_equal(out.data[:, 0], [1, 0, 0, 0, 1, 0])
    np.testing.assert_array_equal(out.ids, decoded)      # the decoded ids ride along
    assert out.seq == layout


def test_crf_decoding_through_infer_shares_the_trained_parameter():
    cost, feature, label = crf_net()
    dec = paddle.layer.crf_decoding(input=feature, size=K,
                                    param_attr=paddle.attr.Param(name="crfw"))
    parameters = paddle.parameters.create([cost, dec])
    assert parameters.names() == ["crfw"]
    rng = np.random.default_rng(14)
    w = rng.standard_normal((K + 2, K)).astype(np.float32)
    parameters.set("crfw", w)
    x = rng.standard_normal((4, K)).astype(np.float32)
    ids = paddle.infer(output_layer=dec, parameters=parameters,
                       input=[(x[:3].tolist(),), (x[3:].tolist(),)], field="id")
    _, paths, scores = brute_force(x[:3].astype(np.float64), w.astype(np.float64))
    assert tuple(ids[:3]) == paths[int(scores.argmax())]
    assert ids[3] == int(np.argmax(w[0] + w[1] + x[3]))


# --- parameter: names, shape, tarball -----------------------------------------------------------

def test_parameter_name_shape_and_tarball_dims():
    feature = paddle.layer.data("feature", paddle.data_type.dense_vector_sequence(4))
    label = paddle.layer.data("tags", paddle.data_type.integer_value_sequence(4))
    cost = paddle.layer.crf(input=feature, label=label)      # size from the input
    assert cost.name == "__crf_layer_0__" and cost.size == 1
    assert [(p.name, p.shape) for p in cost.params] == [("___crf_layer_0__.w0", (6, 4))]
    parameters = paddle.parameters.create(cost)
    assert parameters.get_shape("___crf_layer_0__.w0") == (6, 4)
    buffer = io.BytesIO()
    parameters.to_tar(buffer)
    buffer.seek(0)
    loaded = Parameters.from_tar(buffer)
    config = loaded.config("___crf_layer_0__.w0")
    assert (config.size, list(config.dims)) == (24, [6, 4])
    # Paddle's smart default: normal(0, 1 / sqrt(dims[0]))
    assert config.initial_smart and config.initial_std == pytest.approx(1 / math.sqrt(6))
    np.testing.assert_array_equal(loaded.get("___crf_layer_0__.w0"),
                                  parameters.get("___crf_layer_0__.w0"))


# --- training -----------------------------------------------------------------------------------

def test_training_reports_the_mean_cost_per_sequence_and_learns():
    rng = np.random.default_rng(15)
    cost, _, _ = crf_net()
    parameters = paddle.parameters.create(cost)
    parameters.set("crfw", rng.standard_normal((K + 2, K)).astype(np.float32))
    w = parameters.get("crfw").astype(np.float64)
    samples = []
    for n in (1, 3, 2, 4):
        x = rng.standard_normal((n, K))
        samples.append((x.tolist(), list(np.argmax(x, axis=1))))
    expected = np.mean([brute_force(np.array(x), w)[0] - path_score(np.array(x), w, tags)
                        for x, tags in samples])
    costs = []
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Momentum(learning_rate=0.1))
    trainer.train(paddle.batch(lambda: iter(samples), 4), num_passes=30,
                  event_handler=lambda e: isinstance(e, paddle.event.EndIteration) and
                  costs.append(e.cost))
    assert costs[0] == pytest.approx(expected, rel=1e-4)
    assert costs[-1] < costs[0] * 0.75


# --- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad, position", [(3, "sample 1 of the batch has label 3 at timestep 2"),
                                           (-1, "sample 1 of the batch has label -1 at "
                                                "timestep 2")])
def test_a_label_out_of_range_names_the_sample(bad, position):
    rng = np.random.default_rng(16)
    x, labels, layout, w = random_case(rng, [2, 4])
    labels[2 + 2] = bad
    cost, _, _ = crf_net()
    with pytest.raises(ValueError, match=f"layer crf .crf.: {position}, outside \\[0, 3\\)"):
        run_layer(cost, [(x, layout), (labels, layout)], {"crfw": w})
    dec = decoding_net(with_label=True)
    with pytest.raises(ValueError, match=position):
        run_layer(dec, [(x, layout), (labels, layout)], {"crfw": w})


def test_a_label_out_of_range_from_the_feeder_names_the_sample():
    """The feeder checks integer_value_sequence ids first, naming the sample too."""
    cost, _, _ = crf_net()
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Momentum(learning_rate=0.1))
    samples = [([[0.0] * K], [1]), ([[0.0] * K] * 2, [0, 7])]
    with pytest.raises(ValueError, match="data layer tags, sample 1, timestep 1: id 7 is out "
                                         "of range"):
        trainer.train(paddle.batch(lambda: iter(samples), 2), num_passes=1)


def test_float_labels_and_mismatched_layouts_are_refused_at_run_time():
    rng = np.random.default_rng(17)
    x, labels, layout, w = random_case(rng, [2, 3])
    cost, _, _ = crf_net()
    with pytest.raises(ValueError, match="labels must be integer tag ids"):
        run_layer(cost, [(x, layout), (labels.astype(np.float64), layout)], {"crfw": w})
    other = SequenceLayout.from_lengths([3, 2])
    with pytest.raises(ValueError, match="different lengths"):
        run_layer(cost, [(x, layout), (labels, other)], {"crfw": w})
    with pytest.raises(ValueError, match="carries no sequence layout"):
        run_layer(cost, [(x, None), (labels, None)], {"crfw": w})


def test_construction_errors_name_the_layer():
    seq = paddle.layer.data("seq", paddle.data_type.dense_vector_sequence(4))
    flat = paddle.layer.data("flat", paddle.data_type.dense_vector(4))
    tags = paddle.layer.data("tags", paddle.data_type.integer_value_sequence(4))
    tags5 = paddle.layer.data("tags5", paddle.data_type.integer_value_sequence(5))
    dense_tags = paddle.layer.data("dense_tags", paddle.data_type.dense_vector_sequence(4))
    ids = paddle.layer.data("ids", paddle.data_type.integer_value_sequence(4))
    one = paddle.layer.data("one", paddle.data_type.dense_vector_sequence(1))
    with pytest.raises(ValueError, match="layer c: size=5 but input seq"):
        paddle.layer.crf(input=seq, label=tags, size=5, name="c")
    with pytest.raises(ValueError, match="layer c \\(crf\\): its input flat is a non-sequence"):
        paddle.layer.crf(input=flat, label=tags, name="c")
    with pytest.raises(ValueError, match="label tags5 holds ids in \\[0, 5\\)"):
        paddle.layer.crf(input=seq, label=tags5, name="c")
    with pytest.raises(ValueError, match="the label must be integer tag ids"):
        paddle.layer.crf(input=seq, label=dense_tags, name="c")
    with pytest.raises(ValueError, match="computes on vectors"):
        paddle.layer.crf(input=ids, label=tags, name="c")
    with pytest.raises(ValueError, match="weight one must give one value per sequence"):
        paddle.layer.crf(input=seq, label=tags, weight=one, name="c")
    with pytest.raises(ValueError, match="at least 2 tags"):
        paddle.layer.crf(input=one, label=paddle.layer.data(
            "t1", paddle.data_type.integer_value_sequence(1)), name="c")
    with pytest.raises(ValueError, match="layer d: size=3 but input seq"):
        paddle.layer.crf_decoding(input=seq, size=3, name="d")
    with pytest.raises(ValueError, match="layer d \\(crf_decoding\\): its input flat"):
        paddle.layer.crf_decoding(input=flat, size=4, name="d")
    with pytest.raises(ValueError, match="label tags5 holds ids"):
        paddle.layer.crf_decoding(input=seq, size=4, label=tags5, name="d")
    # crf and crf_decoding of different sizes cannot share one parameter
    c = paddle.layer.crf(input=seq, label=tags, param_attr=paddle.attr.Param(name="shared"))
    other = paddle.layer.data("other", paddle.data_type.dense_vector_sequence(3))
    d = paddle.layer.crf_decoding(input=other, size=3, param_attr=paddle.attr.Param(name="shared"))
    with pytest.raises(ValueError, match="parameter shared is shared by layers"):
        paddle.parameters.create([c, d])


def test_v2_names_and_defaults():
    import inspect

    assert str(inspect.signature(paddle.layer.crf)) == (
        "(input, label, size=None, weight=None, param_attr=None, name=None, coeff=1.0, "
        "layer_attr=None)")
    assert str(inspect.signature(paddle.layer.crf_decoding)) == (
        "(input, size, label=None, param_attr=None, name=None, layer_attr=None)")
    assert "crf" in paddle.layer.__all__ and "crf_decoding" in paddle.layer.__all__
