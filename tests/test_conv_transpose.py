"""Transposed convolution (``img_conv(trans=True)``, Paddle's ``exconvt``): the Function
against a naive scatter loop and the adjoint identity on every backend, float64 gradient
checks, and the layer's sizes, parameters, errors and a training run."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minidl as paddle
from minidl.core import Tensor, as_numpy
from minidl.core.gradcheck import check_directional, check_elementwise
from minidl.core.geometry import transposed_conv_output_size
from minidl.functions.conv import conv2d
from minidl.functions.conv_transpose import conv_transpose2d

fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture],
                      max_examples=30)


def naive_conv_transpose(x, w, stride, padding, dilation, groups):
    """Each input value scatters the taps of its filter into the output (then cropped)."""
    n, c, h, wd = x.shape
    _, fg, kh, kw = w.shape
    (sy, sx), (py, px), (dy, dx) = stride, padding, dilation
    oh = transposed_conv_output_size(h, kh, sy, py, dy)
    ow = transposed_conv_output_size(wd, kw, sx, px, dx)
    full = np.zeros((n, fg * groups, oh + 2 * py, ow + 2 * px))
    cg = c // groups
    for b in range(n):
        for ci in range(c):
            g = ci // cg
            for i in range(h):
                for j in range(wd):
                    for f in range(fg):
                        for a in range(kh):
                            for e in range(kw):
                                full[b, g * fg + f, i * sy + a * dy, j * sx + e * dx] += \
                                    x[b, ci, i, j] * w[ci, f, a, e]
    return full[:, :, py:py + oh, px:px + ow]


@st.composite
def cases(draw):
    groups = draw(st.sampled_from([1, 1, 2]))
    cg, fg = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((draw(st.integers(1, 2)), cg * groups, h, w))
    wt = rng.standard_normal((cg * groups, fg, kh, kw))
    geometry = (stride, padding, dilation, groups)
    for size, k, s, p, d in zip((h, w), (kh, kw), stride, padding, dilation):
        if transposed_conv_output_size(size, k, s, p, d) < 1:
            geometry = (stride, (0, 0), dilation, groups)
    return x, wt, geometry


@fixture_ok
@given(case=cases())
def test_forward_matches_a_naive_scatter(backend, xp, case):
    x, w, geometry = case
    y = conv_transpose2d(Tensor(xp.asarray(x)), Tensor(xp.asarray(w)), *geometry)
    np.testing.assert_allclose(as_numpy(y.data), naive_conv_transpose(x, w, *geometry),
                               rtol=1e-9, atol=1e-9)


@fixture_ok
@given(case=cases(), seed=st.integers(0, 2**16))
def test_it_is_the_adjoint_of_the_convolution(backend, xp, case, seed):
    """<conv_transpose(x, w), y> = <x, conv(y, w)> for every y of the output's shape."""
    x, w, geometry = case
    y_shape = naive_conv_transpose(x, w, *geometry).shape
    y = np.random.default_rng(seed).standard_normal(y_shape)
    left = np.sum(as_numpy(conv_transpose2d(Tensor(xp.asarray(x)), Tensor(xp.asarray(w)),
                                             *geometry).data) * y)
    right = np.sum(x * as_numpy(conv2d(Tensor(xp.asarray(y)), Tensor(xp.asarray(w)),
                                       *geometry).data))
    assert left == pytest.approx(right, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("geometry", [((1, 1), (0, 0), (1, 1), 1), ((2, 1), (1, 0), (1, 2), 2)])
def test_gradients_in_float64(backend, rng, geometry):
    x, w = rng.standard_normal((2, 4, 3, 4)), rng.standard_normal((4, 3, 3, 2))
    check_directional(lambda a, b: conv_transpose2d(a, b, *geometry), x, w)
    check_elementwise(lambda a, b: conv_transpose2d(a, b, *geometry), x[:1, :, :2, :2], w)


def _image(size=4, channels=2, name="img"):
    return paddle.layer.data(name, paddle.data_type.dense_vector(channels * size * size),
                             height=size, width=size)


def test_layer_sizes_and_parameters_as_exconvt():
    img = _image()
    up = paddle.layer.img_conv(input=img, filter_size=4, num_filters=3, num_channels=2,
                               stride=2, padding=1, trans=True, name="up")
    assert (up.type, up.image_shape, up.size) == ("exconvt", (3, 8, 8), 3 * 8 * 8)
    assert up.weight.compute_shape == (2, 3, 4, 4) and up.weight.shape == (1, 96)
    assert up.bias.shape == (3, 1)
    same = paddle.layer.img_conv(input=img, filter_size=3, num_filters=3, num_channels=2,
                                 layer_type="exconvt", name="same")
    assert same.type == "exconvt" and same.image_shape == (3, 6, 6)
    with pytest.raises(ValueError, match="layer bad: layer_type='exconv' with trans=True"):
        paddle.layer.img_conv(input=img, filter_size=3, num_filters=3, trans=True,
                              layer_type="exconv", name="bad")


def test_layer_output_equals_the_function_plus_bias(rng):
    img = _image()
    up = paddle.layer.img_conv(input=img, filter_size=3, num_filters=2, num_channels=2,
                               stride=2, trans=True, act=paddle.activation.Linear(), name="up")
    parameters = paddle.parameters.create(up)
    x = rng.standard_normal((3, 2 * 16)).astype(np.float32)
    out = paddle.infer(output_layer=up, parameters=parameters, input=[(row,) for row in x])
    w = parameters.get("_up.w0").reshape(2, 2, 3, 3)
    bias = parameters.get("_up.wbias").reshape(1, 2, 1, 1)
    expected = naive_conv_transpose(x.reshape(3, 2, 4, 4).astype(np.float64), w,
                                    (2, 2), (0, 0), (1, 1), 1) + bias
    np.testing.assert_allclose(out, expected.reshape(3, -1), rtol=1e-4, atol=1e-5)


def test_a_transposed_convolution_learns_to_upsample(rng):
    """Learn the 2x nearest-neighbour upsampling of one-channel 2x2 images."""
    img = _image(size=2, channels=1)
    target = paddle.layer.data("target", paddle.data_type.dense_vector(16))
    up = paddle.layer.img_conv(input=img, filter_size=2, num_filters=1, num_channels=1,
                               stride=2, trans=True, act=paddle.activation.Linear())
    cost = paddle.layer.square_error_cost(input=up, label=target)
    parameters = paddle.parameters.create(cost)
    data = []
    for _ in range(32):
        x = rng.uniform(-1, 1, (2, 2)).astype(np.float32)
        data.append((x.reshape(-1), np.kron(x, np.ones((2, 2), np.float32)).reshape(-1)))
    costs = []
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Momentum(learning_rate=0.005))
    trainer.train(paddle.batch(lambda: iter(data), 8), num_passes=30,
                  event_handler=lambda e: costs.append(e.cost)
                  if isinstance(e, paddle.event.EndIteration) else None)
    assert costs[-1] < 0.01 * costs[0]
