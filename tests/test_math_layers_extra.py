"""One-input math layers: row_l2_norm, slope_intercept, scale_shift, clip, repeat and resize.
Reference kernels against naive loops (hypothesis shapes), float64 gradient checks on plain
batches and ragged sequences, sizes / names / parameter shapes as v2, a tiny training run of
scale_shift, and the construction-time errors."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minidl as paddle
from minidl.backends import kernel
from minidl.core.gradcheck import check_elementwise
from minidl.functions.unary_math import Clip, Repeat, RowL2Norm

from conftest import to_numpy
from sequence_helpers import RAGGED_LENGTHS, check_layer_gradients, ragged, run_layer

L = paddle.layer
dense, dense_seq = paddle.data_type.dense_vector, paddle.data_type.dense_vector_sequence
FIXTURE_OK = settings(suppress_health_check=[HealthCheck.function_scoped_fixture],
                      max_examples=20)


# ---- naive definitions ------------------------------------------------------------------------

def naive_row_l2_norm(x):
    out = np.zeros_like(x)
    for i in range(x.shape[0]):
        length = math.sqrt(sum(v * v for v in x[i]))
        out[i] = [v / length for v in x[i]]
    return out


def naive_repeat(x, times, as_row_vector):
    out = []
    for row in x:
        if as_row_vector:
            out.append([v for _ in range(times) for v in row])
        else:
            out.append([v for v in row for _ in range(times)])
    return np.array(out)


# ---- kernels against the naive loops, on generated shapes ------------------------------------

@FIXTURE_OK
@given(n=st.integers(1, 4), d=st.integers(1, 5), times=st.integers(1, 3),
       as_row=st.booleans(), seed=st.integers(0, 2**16))
def test_unary_kernels_match_naive_loops(backend, xp, n, d, times, as_row, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)) + 0.1   # + 0.1: no all-zero row
    run = lambda op, *args: to_numpy(kernel(op)(xp.asarray(x), *args))  # noqa: E731
    np.testing.assert_allclose(run("row_l2_norm_forward"), naive_row_l2_norm(x), rtol=1e-12)
    np.testing.assert_allclose(run("slope_intercept_forward", -2.5, 0.75),
                               [[-2.5 * v + 0.75 for v in row] for row in x])
    np.testing.assert_array_equal(run("clip_forward", -0.5, 0.25),
                                  [[min(max(v, -0.5), 0.25) for v in row] for row in x])
    np.testing.assert_array_equal(run("repeat_forward", times, as_row),
                                  naive_repeat(x, times, as_row))
    w, b = xp.asarray([[1.5]]), xp.asarray([[-2.0]])
    np.testing.assert_allclose(to_numpy(kernel("scale_shift_forward")(xp.asarray(x), w, b)),
                               1.5 * x - 2.0)


def test_row_l2_norm_gives_unit_rows_and_zero_rows_nan():
    with np.errstate(invalid="ignore"):
        y = kernel("row_l2_norm_forward")(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(y[0], [0.6, 0.8])
    assert np.isnan(y[1]).all()


def test_clip_passes_no_gradient_at_or_beyond_the_bounds():
    x = np.array([[-2.0, -1.0, 0.0, 1.0, 2.0]])
    gx = kernel("clip_backward")(x, np.ones_like(x), -1.0, 1.0)
    np.testing.assert_array_equal(gx, [[0, 0, 1, 0, 0]])


@pytest.mark.parametrize("as_row", [True, False])
def test_elementwise_gradients_of_the_functions(rng, as_row):
    x = rng.standard_normal((3, 4))
    check_elementwise(lambda t: RowL2Norm()(t), x)
    check_elementwise(lambda t: Repeat(3, as_row)(t), x)
    check_elementwise(lambda t: Clip(-0.7, 0.6)(t), x + 0.01)   # away from the kinks


# ---- layers: values, sizes and gradients, plain and on sequences ------------------------------

LENGTHS = [None] + list(RAGGED_LENGTHS)


def _input(rng, lengths, width):
    if lengths is None:
        return rng.standard_normal((4, width)), None
    return ragged(rng, lengths, width)


def _data(name, width, lengths):
    return L.data(name, dense(width) if lengths is None else dense_seq(width))


@pytest.mark.parametrize("lengths", LENGTHS)
def test_row_l2_norm_layer(rng, lengths):
    layer = L.row_l2_norm(_data("x", 3, lengths))
    assert (layer.name, layer.type, layer.size, layer.params) == \
        ("__row_l2_norm_layer_0__", "row_l2_norm", 3, [])
    x, layout = _input(rng, lengths, 3)
    y = run_layer(layer, [(x, layout)])
    assert y.seq == layout
    np.testing.assert_allclose(y.data, naive_row_l2_norm(x), rtol=1e-12)
    check_layer_gradients(layer, [(x, layout)])


@pytest.mark.parametrize("lengths", LENGTHS)
def test_slope_intercept_layer(rng, lengths):
    default = L.slope_intercept(_data("x", 3, lengths))
    assert (default.name, default.type, default.slope, default.intercept) == \
        ("__slope_intercept_layer_0__", "slope_intercept", 1.0, 0.0)
    layer = L.slope_intercept(default, slope=-1.0, intercept=1.0)
    x, layout = _input(rng, lengths, 3)
    y = run_layer(layer, [(x, layout)])    # the default layer is the identity
    assert y.seq == layout and layer.size == 3
    np.testing.assert_allclose(y.data, 1.0 - x)
    check_layer_gradients(layer, [(x, layout)])


@pytest.mark.parametrize("lengths", LENGTHS)
@pytest.mark.parametrize("with_bias", [True, False])
def test_scale_shift_layer(rng, lengths, with_bias):
    layer = L.scale_shift(_data("x", 3, lengths), bias_attr=None if with_bias else False)
    assert layer.name == "__scale_shift_0__" and layer.type == "scale_shift" and layer.size == 3
    expected = {"___scale_shift_0__.w0": (1, 1)}
    if with_bias:
        expected["___scale_shift_0__.wbias"] = (1, 1)
    assert {spec.name: spec.shape for spec in layer.params} == expected
    params = {"___scale_shift_0__.w0": np.array([[1.5]])}
    if with_bias:
        params["___scale_shift_0__.wbias"] = np.array([[-0.25]])
    x, layout = _input(rng, lengths, 3)
    y = run_layer(layer, [(x, layout)], params)
    assert y.seq == layout
    np.testing.assert_allclose(y.data, 1.5 * x - (0.25 if with_bias else 0.0))
    check_layer_gradients(layer, [(x, layout)], params)


@pytest.mark.parametrize("lengths", LENGTHS)
def test_clip_layer(rng, lengths):
    layer = L.clip(_data("x", 4, lengths), min=-0.5, max=0.5)
    assert (layer.name, layer.type, layer.size) == ("__clip_0__", "clip", 4)
    x, layout = _input(rng, lengths, 4)
    y = run_layer(layer, [(x, layout)])
    assert y.seq == layout
    np.testing.assert_array_equal(y.data, np.minimum(np.maximum(x, -0.5), 0.5))
    check_layer_gradients(layer, [(x, layout)])


@pytest.mark.parametrize("lengths", LENGTHS)
@pytest.mark.parametrize("as_row", [True, False])
def test_repeat_layer(rng, lengths, as_row):
    layer = L.repeat(_data("x", 3, lengths), num_repeats=4, as_row_vector=as_row)
    assert (layer.name, layer.type, layer.size) == ("__repeat_layer_0__", "featmap_expand", 12)
    assert isinstance(layer.act, paddle.activation.Identity)
    x, layout = _input(rng, lengths, 3)
    y = run_layer(layer, [(x, layout)])
    assert y.seq == layout
    np.testing.assert_array_equal(y.data, naive_repeat(x, 4, as_row))
    check_layer_gradients(layer, [(x, layout)])


def test_repeat_layer_applies_its_activation(rng):
    layer, x = L.repeat(L.data("x", dense(2)), 2, act=paddle.activation.Relu()), rng.random((3, 2))
    np.testing.assert_array_equal(run_layer(layer, [(x - 0.5, None)]).data,
                                  np.maximum(np.tile(x - 0.5, 2), 0))


def test_resize_layer(rng):
    layer = L.resize(L.data("x", dense(6)), size=4)
    assert (layer.name, layer.type, layer.size) == ("__resize_0__", "resize", 4)
    x = rng.standard_normal((2, 6))
    y = run_layer(layer, [(x, None)])
    assert y.seq is None
    # the 12 numbers of the batch, row-major, regrouped by 4
    np.testing.assert_array_equal(y.data, np.array(list(x.flat)).reshape(3, 4))
    check_layer_gradients(layer, [(x, None)])
    with pytest.raises(ValueError, match=r"__resize_0__ \(resize\): the batch holds 1 x 6 = 6 "
                                         r"numbers, not a multiple of size=4"):
        run_layer(layer, [(x[:1], None)])


# ---- a tiny training run of the layer with parameters ----------------------------------------

def test_scale_shift_learns_a_linear_map():
    paddle.init(use_gpu=False, trainer_count=1, seed=5)
    x = L.data("x", dense(2))
    target = L.data("t", dense(2))
    out = L.scale_shift(x, name="ss")
    cost = L.square_error_cost(input=out, label=target)
    parameters = paddle.parameters.create(cost)
    assert parameters.get_shape("_ss.w0") == (1, 1) and parameters.get_shape("_ss.wbias") == (1, 1)
    rng = np.random.default_rng(0)
    samples = [(v, -3.0 * v + 0.5) for v in rng.standard_normal((64, 2)).astype(np.float32)]
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Adam(learning_rate=0.1))
    trainer.train(paddle.batch(lambda: iter(samples), 16), num_passes=40)
    np.testing.assert_allclose(parameters.get("_ss.w0"), [[-3.0]], atol=0.05)
    np.testing.assert_allclose(parameters.get("_ss.wbias"), [[0.5]], atol=0.05)


# ---- construction-time errors -----------------------------------------------------------------

def test_unary_math_build_errors():
    x = L.data("x", dense(3))
    ids = L.data("ids", paddle.data_type.integer_value(3))
    with pytest.raises(ValueError, match=r"__clip_0__: clip needs min < max, got min=1, max=1"):
        L.clip(x, min=1, max=1)
    with pytest.raises(ValueError, match=r"layer c: min='a' must be a finite number"):
        L.clip(x, min="a", max=1, name="c")
    with pytest.raises(ValueError, match=r"layer r: num_repeats=0 must be a positive integer"):
        L.repeat(x, 0, name="r")
    with pytest.raises(ValueError, match=r"layer r: as_row_vector=1 must be True or False"):
        L.repeat(x, 2, as_row_vector=1, name="r")
    with pytest.raises(ValueError, match=r"layer s: slope=nan must be a finite number"):
        L.slope_intercept(x, slope=float("nan"), name="s")
    with pytest.raises(ValueError, match=r"layer z: size=0 must be a positive integer"):
        L.resize(x, 0, name="z")
    with pytest.raises(ValueError, match=r"layer z \(resize\) takes one row per sample, but its "
                                         r"input q is a sequence"):
        L.resize(L.data("q", dense_seq(3)), 3, name="z")
    with pytest.raises(ValueError, match=r"layer n \(row_l2_norm\) computes on vectors, but its "
                                         r"input ids gives integer ids"):
        L.row_l2_norm(ids, name="n")
    with pytest.raises(ValueError, match=r"layer n: input must be a layer, got 3"):
        L.row_l2_norm(3, name="n")
    with pytest.raises(ValueError, match=r"ss param_attr must be a ParamAttr"):
        L.scale_shift(x, name="ss", param_attr="w")


def test_a_refused_layer_leaves_nothing_behind():
    from minidl.layers.base import build_listeners
    seen = []
    build_listeners.append(seen.append)
    try:
        with pytest.raises(ValueError):
            L.scale_shift(L.data("x", dense(3)), name="ss", bias_attr="b")
    finally:
        build_listeners.remove(seen.append)
    assert [layer.name for layer in seen] == ["x"]

