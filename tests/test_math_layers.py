"""Row-wise math layers: cos_sim, dot_prod, scaling, interpolation, power, sum_to_one_norm and
trans. Reference kernels against naive loops, float64 gradient checks on plain batches and on
ragged sequences (each keeps the layout), sizes and names as v2, a network fed real samples,
and the construction-time errors."""

import math

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


# ---- naive definitions ------------------------------------------------------------------------

def naive_cos(a, b, scale, size):
    n, d = a.shape
    out = np.zeros((n, size))
    for i in range(n):
        row_b = b[0] if b.shape[0] == 1 else b[i]
        for k in range(size):
            v = row_b[k * d:(k + 1) * d]
            dot = sum(a[i, j] * v[j] for j in range(d))
            norm_a = math.sqrt(sum(t * t for t in a[i]))
            norm_b = math.sqrt(sum(t * t for t in v))
            out[i, k] = scale * dot / (norm_a * norm_b)
    return out


def naive_rows(fn, *arrays):
    """``fn`` applied to each row (tuple of the arrays' rows) -> stacked rows."""
    return np.array([fn(*(array[i] for array in arrays)) for i in range(len(arrays[0]))])


# ---- kernels against the naive loops ---------------------------------------------------------

@pytest.mark.parametrize("size,b_rows", [(1, 4), (3, 4), (1, 1), (2, 1)])
def test_cos_sim_kernel(backend, xp, rng, size, b_rows):
    a = rng.standard_normal((4, 3))
    b = rng.standard_normal((b_rows, 3 * size))
    y = kernel("cos_sim_forward")(xp.asarray(a), xp.asarray(b), 2.5)
    np.testing.assert_allclose(to_numpy(y), naive_cos(a, b, 2.5, size), rtol=1e-12)


def test_row_kernels_match_naive_loops(backend, xp, rng):
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    w = rng.standard_normal((4, 1))
    positive = rng.uniform(0.5, 2.0, (4, 3))
    run = lambda op, *arrays: to_numpy(kernel(op)(*[xp.asarray(x) for x in arrays]))  # noqa
    np.testing.assert_allclose(run("dot_prod_forward", a, b),
                               naive_rows(lambda x, y: [sum(x * y)], a, b))
    np.testing.assert_allclose(run("scaling_forward", w, a),
                               naive_rows(lambda s, x: s[0] * x, w, a))
    np.testing.assert_allclose(run("interpolation_forward", w, a, b),
                               naive_rows(lambda s, x, y: s[0] * x + (1 - s[0]) * y, w, a, b))
    np.testing.assert_allclose(run("power_forward", w, positive),
                               naive_rows(lambda s, x: [t ** s[0] for t in x], w, positive))
    np.testing.assert_allclose(run("sum_to_one_norm_forward", positive),
                               naive_rows(lambda x: x / sum(x), positive))


def test_power_backward_at_zero_base(xp):
    """0 ** w (w > 0) adds nothing to the exponent's gradient instead of 0 * log 0 = NaN."""
    w, x = np.array([[2.0]]), np.array([[0.0, 3.0]])
    y = kernel("power_forward")(xp.asarray(w), xp.asarray(x))
    gw, gx = kernel("power_backward")(xp.asarray(w), xp.asarray(x), y, xp.asarray(np.ones((1, 2))))
    np.testing.assert_allclose(to_numpy(gw), [[9 * math.log(3)]])
    np.testing.assert_allclose(to_numpy(gx), [[0.0, 6.0]])


# ---- layers: values and gradients, plain and on sequences ------------------------------------

def _inputs(rng, lengths, widths, positive=()):
    """One ``(array, layout)`` per width: ragged sequences of ``lengths`` (or, with ``lengths``
    None, a plain batch of 4 rows)."""
    out = []
    for i, width in enumerate(widths):
        if lengths is None:
            x, layout = rng.standard_normal((4, width)), None
        else:
            x, layout = ragged(rng, lengths, width)
        if i in positive:
            x = np.abs(x) + 0.5
        out.append((x, layout))
    return out


def _data(name, width, lengths):
    return paddle.layer.data(name, dense(width) if lengths is None else dense_seq(width))


LENGTHS = [None] + list(RAGGED_LENGTHS)


@pytest.mark.parametrize("lengths", LENGTHS)
@pytest.mark.parametrize("size", [1, 3])
def test_cos_sim_layer(rng, lengths, size):
    layer = paddle.layer.cos_sim(_data("a", 2, lengths), _data("b", 2 * size, lengths),
                                 scale=3, size=size)
    assert layer.name == "__cos_sim_0__" and layer.size == size
    assert layer.type == ("cos" if size == 1 else "cos_vm")
    inputs = _inputs(rng, lengths, [2, 2 * size])
    y = run_layer(layer, inputs)
    assert y.seq == inputs[0][1]
    np.testing.assert_allclose(y.data, naive_cos(inputs[0][0], inputs[1][0], 3, size),
                               rtol=1e-12)
    check_layer_gradients(layer, inputs)


def test_cos_sim_against_a_single_row(rng):
    layer = paddle.layer.cos_sim(paddle.layer.data("a", dense(3)),
                                 paddle.layer.data("b", dense(3)))
    inputs = [(rng.standard_normal((5, 3)), None), (rng.standard_normal((1, 3)), None)]
    np.testing.assert_allclose(run_layer(layer, inputs).data,
                               naive_cos(inputs[0][0], inputs[1][0], 1, 1), rtol=1e-12)
    check_layer_gradients(layer, inputs)


@pytest.mark.parametrize("lengths", LENGTHS)
def test_dot_prod_layer(rng, lengths):
    layer = paddle.layer.dot_prod(_data("a", 3, lengths), _data("b", 3, lengths))
    assert layer.name == "__dot_prod_layer_0__" and layer.type == "dot_prod" and layer.size == 1
    inputs = _inputs(rng, lengths, [3, 3])
    y = run_layer(layer, inputs)
    assert y.seq == inputs[0][1]
    np.testing.assert_allclose(y.data, (inputs[0][0] * inputs[1][0]).sum(1, keepdims=True))
    check_layer_gradients(layer, inputs)


@pytest.mark.parametrize("lengths", LENGTHS)
def test_scaling_layer(rng, lengths):
    layer = paddle.layer.scaling(_data("x", 3, lengths), weight=_data("w", 1, lengths))
    assert layer.name == "__scaling_layer_0__" and layer.type == "scaling" and layer.size == 3
    assert [p.name for p in layer.inputs] == ["w", "x"]      # Paddle's order: weight first
    inputs = _inputs(rng, lengths, [1, 3])
    y = run_layer(layer, inputs)
    assert y.seq == inputs[0][1]
    np.testing.assert_allclose(y.data, inputs[0][0] * inputs[1][0])
    check_layer_gradients(layer, inputs)


@pytest.mark.parametrize("lengths", LENGTHS)
def test_interpolation_layer(rng, lengths):
    layer = paddle.layer.interpolation([_data("x1", 3, lengths), _data("x2", 3, lengths)],
                                       weight=_data("w", 1, lengths))
    assert layer.name == "__interpolation_layer_0__" and layer.size == 3
    assert [p.name for p in layer.inputs] == ["w", "x1", "x2"]
    inputs = _inputs(rng, lengths, [1, 3, 3])
    (w, layout), (x1, _), (x2, _) = inputs
    y = run_layer(layer, inputs)
    assert y.seq == layout
    np.testing.assert_allclose(y.data, w * x1 + (1 - w) * x2)
    check_layer_gradients(layer, inputs)


@pytest.mark.parametrize("lengths", LENGTHS)
def test_power_layer(rng, lengths):
    layer = paddle.layer.power(_data("x", 3, lengths), weight=_data("w", 1, lengths))
    assert layer.name == "__power_layer_0__" and layer.type == "power" and layer.size == 3
    assert [p.name for p in layer.inputs] == ["w", "x"]
    inputs = _inputs(rng, lengths, [1, 3], positive={1})
    y = run_layer(layer, inputs)
    assert y.seq == inputs[0][1]
    np.testing.assert_allclose(y.data, inputs[1][0] ** inputs[0][0])
    check_layer_gradients(layer, inputs)


@pytest.mark.parametrize("lengths", LENGTHS)
def test_sum_to_one_norm_layer(rng, lengths):
    layer = paddle.layer.sum_to_one_norm(_data("x", 4, lengths))
    assert layer.name == "__sum_to_one_norm_layer_0__" and layer.size == 4
    inputs = _inputs(rng, lengths, [4], positive={0})
    y = run_layer(layer, inputs)
    assert y.seq == inputs[0][1]
    np.testing.assert_allclose(y.data.sum(axis=1), 1.0)
    check_layer_gradients(layer, inputs)


def test_trans_layer(rng):
    layer = paddle.layer.trans(paddle.layer.data("x", dense(3)))
    assert layer.name == "__trans_layer_0__" and layer.type == "trans" and layer.size == 3
    x = rng.standard_normal((5, 3))
    y = run_layer(layer, [(x, None)])
    np.testing.assert_array_equal(y.data, x.T)
    check_layer_gradients(layer, [(x, None)])


def test_math_layers_pass_dropout_and_keep_layouts_through_it(rng):
    from minidl.layers.attrs import ExtraAttr
    layer = paddle.layer.dot_prod(paddle.layer.data("a", dense_seq(2)),
                                  paddle.layer.data("b", dense_seq(2)),
                                  layer_attr=ExtraAttr(drop_rate=0.5))
    inputs = _inputs(rng, [1, 2, 7], [2, 2])
    y = run_layer(layer, inputs, is_train=True)
    assert y.seq == inputs[0][1] and y.shape == (10, 1)


# ---- a network fed real samples ---------------------------------------------------------------

def test_network_of_math_layers_fed_by_the_feeder():
    query = paddle.layer.data("query", dense_seq(2))
    key = paddle.layer.data("key", dense_seq(2))
    gate = paddle.layer.data("gate", dense_seq(1))
    similarity = paddle.layer.cos_sim(query, key)
    mixed = paddle.layer.interpolation([query, key], weight=gate)
    scaled = paddle.layer.scaling(key, weight=similarity)
    normalised = paddle.layer.sum_to_one_norm(paddle.layer.power(mixed, weight=gate))
    network = Network([similarity, scaled, normalised])
    samples = [([[1, 0], [1, 1]], [[0, 1], [2, 2]], [[1], [0.5]]),
               ([[3, 4]], [[3, 4]], [[2]])]
    feed = Feeder(network.data_layers)(samples)
    values = network.forward(feed, RunContext({}))
    np.testing.assert_allclose(values[similarity.name].data[:, 0], [0, 1, 1], atol=1e-6)
    assert values[similarity.name].seq.lengths.tolist() == [2, 1]
    np.testing.assert_allclose(values[scaled.name].data, [[0, 0], [2, 2], [3, 4]], rtol=1e-6)
    # interpolation rows: [1, 0], [1.5, 1.5], [3, 4]; then ** gate, then sum to one
    expected = np.array([[1, 0], [1.5 ** .5, 1.5 ** .5], [9, 16]])
    np.testing.assert_allclose(values[normalised.name].data,
                               expected / expected.sum(axis=1, keepdims=True), rtol=1e-6)


# ---- construction-time errors ---------------------------------------------------------------

def test_math_layer_size_errors():
    a, b = paddle.layer.data("a", dense(3)), paddle.layer.data("b", dense(4))
    w2 = paddle.layer.data("w2", dense(2))
    with pytest.raises(ValueError, match=r"__cos_sim_0__: cos_sim of a \(size 3\) and b "
                                         r"\(size 4\) needs equal sizes"):
        paddle.layer.cos_sim(a, b)
    with pytest.raises(ValueError, match="size=2 similarities per row need b = b of size "
                                         "size \\* a.size = 6, got 4"):
        paddle.layer.cos_sim(a, b, size=2)
    with pytest.raises(ValueError, match="size=0 must be a positive integer"):
        paddle.layer.cos_sim(a, a, size=0)
    with pytest.raises(ValueError, match="dot_prod inputs must have the same size; a has 3, "
                                         "b has 4"):
        paddle.layer.dot_prod(a, b)
    for build in (paddle.layer.scaling, paddle.layer.power):
        with pytest.raises(ValueError, match="weight w2 must have size 1 .*got size 2"):
            build(a, weight=w2)
    with pytest.raises(ValueError, match="interpolation inputs must have the same size"):
        paddle.layer.interpolation([a, b], weight=paddle.layer.data("w", dense(1)))
    with pytest.raises(ValueError, match="interpolation input must be a list of two layers"):
        paddle.layer.interpolation(a, weight=paddle.layer.data("w1", dense(1)))


def test_math_layers_refuse_mixed_kinds_ids_and_trans_of_sequences():
    seq, flat = paddle.layer.data("seq", dense_seq(3)), paddle.layer.data("flat", dense(3))
    with pytest.raises(ValueError, match="__dot_prod_layer_0__ .*must all be of one kind"):
        paddle.layer.dot_prod(seq, flat)
    ids = paddle.layer.data("ids", paddle.data_type.integer_value(3))
    with pytest.raises(ValueError, match="__sum_to_one_norm_layer_0__ .* ids gives integer ids"):
        paddle.layer.sum_to_one_norm(ids)
    with pytest.raises(ValueError, match="__trans_layer_0__ .*seq is a sequence"):
        paddle.layer.trans(seq)


def test_math_layer_run_time_row_mismatch(rng):
    layer = paddle.layer.scaling(paddle.layer.data("x", dense(3)),
                                 weight=paddle.layer.data("w", dense(1)))
    with pytest.raises(ValueError, match=r"__scaling_layer_0__ .* got rows w \(2\), x \(3\)"):
        run_layer(layer, [(np.ones((2, 1)), None), (np.ones((3, 3)), None)])
