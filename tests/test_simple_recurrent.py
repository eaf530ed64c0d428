"""paddle.layer.recurrent (the simple full-matrix RNN): the reference kernels against a naive
row-by-row loop on ragged batches (and hypothesis-drawn ones), float64 gradient checks of
the whole layer, v2's names, dims and defaults, the build-time errors, and a short training
run through paddle.trainer.SGD."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minidl as paddle
from minidl.backends import kernel
from minidl.functions.simple_recurrent import simple_recurrent  # noqa: F401  registers
from minidl.backends.numpy_ref.simple_recurrent import timestep_rows

from conftest import to_numpy
from sequence_helpers import RAGGED_LENGTHS, check_layer_gradients, nested, ragged, run_layer

dense_seq = paddle.data_type.dense_vector_sequence
ACTS = {"tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "relu": lambda z: np.maximum(z, 0), "linear": lambda z: z,
        "softmax": lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum()}


def naive_rnn(x, w, b, starts, reverse, act="tanh"):
    """One row at a time, one sequence after another, in plain Python."""
    f = ACTS[act]
    y = np.zeros_like(x)
    for i in range(len(starts) - 1):
        order = list(range(starts[i], starts[i + 1]))
        previous = None
        for r in (order[::-1] if reverse else order):
            z = x[r] + (0 if b is None else b.reshape(-1))
            if previous is not None:
                z = z + np.array([sum(y[previous][k] * w[k, j] for k in range(len(z)))
                                  for j in range(len(z))])
            y[r] = f(z)
            previous = r
    return y


# ---- reference kernels -------------------------------------------------------------------

def test_timestep_rows_as_the_docstring_draws_them():
    starts = np.array([0, 2, 5])
    forward = [(t, r.tolist(), p.tolist()) for t, r, p in timestep_rows(starts, False)]
    assert forward == [(0, [0, 2], [-1, 1]), (1, [1, 3], [0, 2]), (2, [4], [3])]
    backward = [(t, r.tolist(), p.tolist()) for t, r, p in timestep_rows(starts, True)]
    assert backward == [(0, [1, 4], [2, 5]), (1, [0, 3], [1, 4]), (2, [2], [3])]


@pytest.mark.parametrize("lengths", RAGGED_LENGTHS + ([0, 3, 0],))
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("act", sorted(ACTS))
def test_forward_kernel_matches_the_naive_loop(backend, xp, rng, lengths, reverse, act):
    x, layout = ragged(rng, lengths, 3)
    w, b = rng.standard_normal((3, 3)), rng.standard_normal(3)
    y, z = kernel("simple_rnn_forward")(xp.asarray(x), xp.asarray(w), xp.asarray(b),
                                        layout.starts, reverse, act)
    np.testing.assert_allclose(to_numpy(y), naive_rnn(x, w, b, layout.starts, reverse, act),
                               rtol=1e-12, atol=1e-12)
    # z is what the activation was applied to, row by row
    np.testing.assert_allclose(to_numpy(y), [ACTS[act](row) for row in to_numpy(z)],
                               rtol=1e-12, atol=1e-12)


@settings(max_examples=25)
@given(lengths=st.lists(st.integers(0, 6), min_size=1, max_size=5),
       width=st.integers(1, 4), reverse=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_forward_kernel_on_generated_batches(lengths, width, reverse, seed):
    rng = np.random.default_rng(seed)
    x, layout = ragged(rng, lengths, width)
    w = rng.standard_normal((width, width))
    y, _ = kernel("simple_rnn_forward")(x, w, None, layout.starts, reverse, "tanh")
    np.testing.assert_allclose(y, naive_rnn(x, w, None, layout.starts, reverse), atol=1e-12)


def test_each_sequence_runs_alone(rng):
    """A batch computes what each of its sequences computes by itself."""
    x, layout = ragged(rng, [3, 1, 4], 2)
    w = rng.standard_normal((2, 2))
    batch, _ = kernel("simple_rnn_forward")(x, w, None, layout.starts, False, "tanh")
    for i in range(3):
        begin, end = layout.starts[i], layout.starts[i + 1]
        alone, _ = kernel("simple_rnn_forward")(x[begin:end], w, None,
                                                np.array([0, end - begin]), False, "tanh")
        np.testing.assert_allclose(batch[begin:end], alone, rtol=1e-14)


# ---- the layer -----------------------------------------------------------------------------

def build(width=3, **kw):
    x = paddle.layer.data("x", dense_seq(width))
    return paddle.layer.recurrent(input=x, **kw)


def layer_params(layer, rng):
    return {spec.name: rng.standard_normal(spec.shape) * 0.7 for spec in layer.params}


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_layer_values_and_gradients(rng, reverse, lengths):
    layer = build(3, reverse=reverse)
    params = layer_params(layer, rng)
    x, layout = ragged(rng, lengths, 3)
    y = run_layer(layer, [(x, layout)], params)
    assert y.seq == layout
    w, b = params[layer.weight.name], params[layer.bias.name]
    np.testing.assert_allclose(y.data, naive_rnn(x, w, b, layout.starts, reverse), atol=1e-12)
    check_layer_gradients(layer, [(x, layout)], params)


@pytest.mark.parametrize("act", [paddle.activation.Sigmoid(), paddle.activation.Relu(),
                                 paddle.activation.Linear(), paddle.activation.Softmax(),
                                 paddle.activation.Square()])
def test_gradients_with_other_activations_and_no_bias(rng, act):
    layer = build(4, act=act, bias_attr=False, reverse=True)
    assert layer.bias is None and [s.name for s in layer.params] == [layer.weight.name]
    params = layer_params(layer, rng)
    x, layout = ragged(rng, [2, 4, 1], 4)
    check_layer_gradients(layer, [(x, layout)], params)


def test_nested_input_runs_over_whole_sequences(rng):
    x = paddle.layer.data("x", paddle.data_type.dense_vector_sub_sequence(2))
    layer = paddle.layer.recurrent(input=x)
    assert layer.seq_level == 2
    params = layer_params(layer, rng)
    values, layout = nested(rng, [[1, 2], [3]], 2)
    y = run_layer(layer, [(values, layout)], params)
    assert y.seq == layout
    expected = naive_rnn(values, params[layer.weight.name], params[layer.bias.name],
                         layout.starts, False)
    np.testing.assert_allclose(y.data, expected, atol=1e-12)
    check_layer_gradients(layer, [(values, layout)], params)


def test_names_dims_and_defaults_as_v2():
    layer = build(5)
    assert layer.name == "__recurrent_layer_0__" and layer.type == "recurrent"
    assert layer.size == 5 and layer.reverse is False
    assert isinstance(layer.step_act, paddle.activation.Tanh) and layer.act is None
    assert [(s.name, s.shape) for s in layer.params] == [
        ("___recurrent_layer_0__.w0", (5, 5)), ("___recurrent_layer_0__.wbias", (1, 5))]
    assert math.isclose(layer.weight.default_std, 1 / math.sqrt(5)) and layer.bias.is_bias
    named = build(2, name="rnn", param_attr=paddle.attr.Param(name="shared"),
                  bias_attr=paddle.attr.Param(name="shared_b"))
    assert [s.name for s in named.params] == ["shared", "shared_b"]
    parameters = paddle.parameters.create(named)
    assert parameters.get_shape("shared") == (2, 2)


def test_build_time_errors_name_the_layer():
    data = paddle.layer.data("plain", paddle.data_type.dense_vector(3))
    with pytest.raises(ValueError, match=r"layer r \(recurrent\).*non-sequence"):
        paddle.layer.recurrent(input=data, name="r")
    ids = paddle.layer.data("ids", paddle.data_type.integer_value_sequence(10))
    with pytest.raises(ValueError, match=r"layer r2 \(recurrent\).*integer ids"):
        paddle.layer.recurrent(input=ids, name="r2")
    with pytest.raises(ValueError, match=r"layer r3 \(recurrent\): act=.*per-row activation"):
        build(3, name="r3", act=paddle.activation.SequenceSoftmax())
    with pytest.raises(ValueError, match=r"layer r4 \(recurrent\): reverse=1 must be True"):
        build(3, name="r4", reverse=1)
    with pytest.raises(ValueError, match=r"layer r5: input must be a layer"):
        paddle.layer.recurrent(input="x", name="r5")
    with pytest.raises(ValueError, match=r"layer r6 param_attr must be a ParamAttr"):
        build(3, name="r6", param_attr="w")


def test_a_value_without_its_layout_is_named(rng):
    layer = build(2, name="r")
    with pytest.raises(ValueError, match=r"layer r \(recurrent\): input x .* no sequence"):
        run_layer(layer, [(rng.standard_normal((3, 2)), None)], layer_params(layer, rng))


def test_trains_with_sgd():
    """Which of two vectors a sequence starts with, read at its LAST row: only the
    recurrence carries it there. The recurrent layer's weight must move, and the cost fall."""
    paddle.init(seed=5)
    data_rng = np.random.default_rng(11)
    x = paddle.layer.data("x", dense_seq(2))
    label = paddle.layer.data("label", paddle.data_type.integer_value(2))
    hidden = paddle.layer.fc(input=x, size=6, act=paddle.activation.Linear())
    rnn = paddle.layer.recurrent(input=hidden, name="rnn")
    out = paddle.layer.fc(input=paddle.layer.last_seq(input=rnn), size=2,
                          act=paddle.activation.Softmax())
    cost = paddle.layer.classification_cost(input=out, label=label)
    parameters = paddle.parameters.create(cost)
    before = parameters.get("_rnn.w0").copy()

    def sample():
        first = int(data_rng.integers(0, 2))
        rows = [[1.0, 0.0] if first else [0.0, 1.0]]
        rows += data_rng.normal(0, 0.1, (int(data_rng.integers(1, 4)), 2)).tolist()
        return rows, first

    train = [sample() for _ in range(128)]
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Adam(learning_rate=2e-2))
    feeding = {"x": 0, "label": 1}
    start = trainer.test(reader=paddle.batch(lambda: iter(train), 64), feeding=feeding).cost
    trainer.train(reader=paddle.batch(lambda: iter(train), 16), num_passes=5, feeding=feeding)
    end = trainer.test(reader=paddle.batch(lambda: iter(train), 64), feeding=feeding).cost
    assert np.isfinite(end) and end < start * 0.5, (start, end)
    assert not np.array_equal(parameters.get("_rnn.w0"), before)
