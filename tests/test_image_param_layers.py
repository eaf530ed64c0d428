"""Image layers with parameters: conv_projection (in mixed), cross_channel_norm and prelu.
Kernels against naive loops, float64 gradient checks of inputs and parameters, parameter
names, shapes and initial values as v2 declares them, construction-time errors, and a few
steps of ``paddle.trainer.SGD`` that lower the cost."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl as paddle
from minidl.backends import kernel
from minidl.io.paramconfig import config_dims

from conftest import to_numpy
from sequence_helpers import RAGGED_LENGTHS, check_layer_gradients, ragged, run_layer

L = paddle.layer
dense = paddle.data_type.dense_vector


def image(name, c, h, w):
    return L.data(name=name, type=dense(c * h * w), height=h, width=w)


def train_costs(cost, samples, passes=8, learning_rate=0.05):
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Adam(learning_rate=learning_rate))
    costs = []
    trainer.train(paddle.batch(lambda: iter(samples), 4), num_passes=passes,
                  event_handler=lambda e: costs.append(e.cost)
                  if isinstance(e, paddle.event.EndIteration) else None)
    assert np.all(np.isfinite(costs))
    return costs, parameters


# ---- naive definitions -----------------------------------------------------------------------

def naive_channel_norm(x, scale):
    n, c, s = x.shape
    y = np.zeros_like(x)
    for b, p in np.ndindex(n, s):
        norm = math.sqrt(sum(x[b, k, p] ** 2 for k in range(c)))
        for k in range(c):
            y[b, k, p] = scale[k] * x[b, k, p] / norm
    return y


def naive_prelu(x, w, partial_sum):
    y = np.zeros_like(x)
    for i, j in np.ndindex(x.shape):
        y[i, j] = x[i, j] if x[i, j] > 0 else w[j // partial_sum] * x[i, j]
    return y


def naive_conv(x, w, stride, padding, groups):
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    oh = 1 + (h + 2 * padding[0] - kh) // stride[0]
    ow = 1 + (wd + 2 * padding[1] - kw) // stride[1]
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    y = np.zeros((n, f, oh, ow))
    for b, o, i, j in np.ndindex(y.shape):
        g = o // (f // groups)
        for k, r, q in np.ndindex(cg, kh, kw):
            y[b, o, i, j] += w[o, k, r, q] * xp[b, g * cg + k, i * stride[0] + r,
                                                j * stride[1] + q]
    return y


# ---- kernels ---------------------------------------------------------------------------------

@settings(max_examples=25)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 5), st.integers(0, 2 ** 31 - 1))
def test_channel_norm_kernel(n, c, s, seed):
    rng = np.random.default_rng(seed)
    x, scale = rng.standard_normal((n, c, s)), rng.standard_normal(c)
    np.testing.assert_allclose(kernel("cross_channel_norm_forward")(x, scale),
                               naive_channel_norm(x, scale), rtol=1e-12)


def test_channel_norm_of_a_zero_pixel_is_zero():
    y = kernel("cross_channel_norm_forward")(np.zeros((1, 3, 2)), np.ones(3))
    np.testing.assert_array_equal(y, 0.0)


@settings(max_examples=25)
@given(st.integers(1, 3), st.sampled_from([1, 2, 3, 6]), st.integers(0, 2 ** 31 - 1))
def test_prelu_kernel(n, partial_sum, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((n, 6)), rng.standard_normal(6 // partial_sum)
    np.testing.assert_array_equal(kernel("prelu_forward")(x, w, partial_sum),
                                  naive_prelu(x, w, partial_sum))


# ---- conv_projection --------------------------------------------------------------------------

def test_conv_projection_in_mixed(rng):
    x = image("x", 4, 5, 6)
    proj = L.conv_projection(input=x, filter_size=(3, 2), num_filters=6, stride=(1, 2),
                             padding=1, groups=2)
    m = L.mixed(input=proj, bias_attr=True)
    # (x, y) pairs: width 6 -> filter 3, stride 1: 6; height 5 -> filter 2, stride 2: 3
    assert m.image_shape == (6, 3, 6) and m.size == 6 * 3 * 6
    w, bias = m.params
    assert w.name == "_" + m.name + ".w0" and w.shape == (1, 6 * 2 * 2 * 3)
    assert w.compute_shape == (6, 2, 2, 3) and config_dims(w) == ()
    assert w.default_std == pytest.approx(math.sqrt(2.0 / (3 * 3 * 4)))
    assert bias.shape == (1, 6)                      # one bias per filter, shared by pixels
    values = rng.standard_normal((2, 120))
    wv, bv = rng.standard_normal((6, 2, 2, 3)), rng.standard_normal((1, 6, 1))
    out = to_numpy(run_layer(m, [(values, None)], {w.name: wv, bias.name: bv}).data)
    expected = naive_conv(values.reshape(2, 4, 5, 6), wv, (2, 1), (1, 1), 2) + bv[..., None]
    np.testing.assert_allclose(out, expected.reshape(2, -1), rtol=1e-10)
    check_layer_gradients(m, [(values, None)], {w.name: wv, bias.name: bv})


def test_two_conv_projections_share_the_bias_blocks_as_paddle(rng):
    """Two projections of F filters: the bias has 2F values, value b shifting the b-th run of
    size / 2F outputs (Paddle's shared bias over the layer's row)."""
    x = image("x", 1, 2, 2)
    projections = [L.conv_projection(input=x, filter_size=1, num_filters=2) for _ in range(2)]
    m = L.mixed(input=projections, bias_attr=True)
    assert m.size == 8 and m.params[-1].shape == (1, 4)
    values = rng.standard_normal((3, 4))
    ws = {m.params[0].name: np.ones((2, 1, 1, 1)), m.params[1].name: np.ones((2, 1, 1, 1)),
          m.params[2].name: np.arange(4.0).reshape(1, 4, 1)}
    out = to_numpy(run_layer(m, [(values, None)] * 2, ws).data)   # x feeds both terms
    expected = 2 * np.tile(values, 2) + np.repeat(np.arange(4.0), 2)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_transposed_conv_projection_equals_img_conv_trans(rng):
    """mixed(conv_projection(trans=True)) computes what img_conv(trans=True) computes."""
    x = image("x", 2, 3, 3)
    mixed = L.mixed(input=L.conv_projection(input=x, filter_size=2, num_filters=4, stride=2,
                                            groups=2, trans=True),
                    bias_attr=False, name="tmix")
    conv = L.img_conv(input=x, filter_size=2, num_filters=4, stride=2, groups=2, trans=True,
                      act=paddle.activation.Linear(), bias_attr=False, name="tconv")
    assert mixed.image_shape == conv.image_shape == (4, 6, 6)
    parameters = paddle.parameters.create([mixed, conv])
    assert parameters.get_shape("_tmix.w0") == parameters.get_shape("_tconv.w0") == (1, 16)
    parameters.set("_tconv.w0", parameters.get("_tmix.w0"))
    data = [(row,) for row in rng.standard_normal((2, 18)).astype(np.float32)]
    np.testing.assert_allclose(paddle.infer(output_layer=mixed, parameters=parameters,
                                            input=data),
                               paddle.infer(output_layer=conv, parameters=parameters,
                                            input=data), rtol=1e-5, atol=1e-6)


def test_conv_projection_errors():
    x = image("x", 4, 5, 5)
    flat = L.data(name="flat", type=dense(10))
    cases = [
        (lambda: L.conv_projection(input=x, filter_size=3, num_filters=0), r"num_filters=0"),
        (lambda: L.conv_projection(input=x, filter_size=3, num_filters=6, groups=3),
         r"groups=3 must divide both the input channels \(4\) and num_filters \(6\)"),
        (lambda: L.conv_projection(input=x, filter_size=7, num_filters=2),
         r"filter \(7, 7\) .* does not fit the 5x5 image"),
        (lambda: L.conv_projection(input=flat, filter_size=1, num_filters=2),
         r"cannot infer num_channels"),
        (lambda: L.mixed(input=[L.conv_projection(input=x, filter_size=1, num_filters=1),
                                L.identity_projection(input=image("y", 1, 5, 5))]),
         r"first term is a conv_projection, so every term must be one"),
        (lambda: L.mixed(size=10, input=L.conv_projection(input=x, filter_size=1,
                                                          num_filters=1)),
         r"gives 25 values per row, but the layer has size 10"),
    ]
    for build, message in cases:
        with pytest.raises(ValueError, match=message):
            build()


# ---- cross_channel_norm ------------------------------------------------------------------------

def test_cross_channel_norm_layer(rng):
    x = image("x", 3, 2, 2)
    y = L.cross_channel_norm(input=x)
    assert y.name == "__cross_channel_norm_0__" and y.type == "norm"
    assert y.size == 12 and y.image_shape == (3, 2, 2)
    (scale,) = y.params
    assert scale.shape == (3, 1) and scale.default_std == pytest.approx(1 / math.sqrt(3))
    values, s = rng.standard_normal((2, 12)), rng.standard_normal((3, 1))
    out = to_numpy(run_layer(y, [(values, None)], {scale.name: s.ravel()}).data)
    np.testing.assert_allclose(out, naive_channel_norm(values.reshape(2, 3, 4), s.ravel())
                               .reshape(2, -1), rtol=1e-12)
    check_layer_gradients(y, [(values, None)], {scale.name: s.ravel()})
    with pytest.raises(ValueError, match=r"needs an image input"):
        L.cross_channel_norm(input=L.data(name="flat", type=dense(12)))


# ---- prelu -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,slopes", [({}, 12), ({"partial_sum": 3}, 4),
                                           ({"channel_shared": False}, 3),
                                           ({"channel_shared": True}, 1)])
def test_prelu_layer(rng, kwargs, slopes):
    x = image("x", 3, 2, 2)
    y = L.prelu(input=x, **kwargs)
    assert y.name == "__prelu_layer_0__" and y.size == 12 and y.image_shape == (3, 2, 2)
    (w,) = y.params
    assert w.shape == (1, slopes) and config_dims(w) == ()
    assert (w.default_mean, w.default_std) == (0.25, 0.0)
    values, wv = rng.standard_normal((2, 12)), rng.standard_normal((1, slopes))
    out = to_numpy(run_layer(y, [(values, None)], {w.name: wv}).data)
    np.testing.assert_array_equal(out, naive_prelu(values, wv.ravel(), 12 // slopes))
    check_layer_gradients(y, [(values, None)], {w.name: wv})


def test_prelu_keeps_a_sequence_layout(rng):
    y = L.prelu(input=L.data(name="s", type=paddle.data_type.dense_vector_sequence(4)),
                partial_sum=2)
    values, layout = ragged(rng, RAGGED_LENGTHS[0], 4)
    out = run_layer(y, [(values, layout)], {y.params[0].name: np.full((1, 2), 0.5)})
    assert out.seq == layout
    check_layer_gradients(y, [(values, layout)], {y.params[0].name: rng.standard_normal((1, 2))})


def test_prelu_errors():
    flat = L.data(name="flat", type=dense(10))
    with pytest.raises(ValueError, match=r"partial_sum=3 must divide the input size 10"):
        L.prelu(input=flat, partial_sum=3)
    with pytest.raises(ValueError, match=r"channel_shared needs an image input"):
        L.prelu(input=flat, channel_shared=True)
    with pytest.raises(ValueError, match=r"partial_sum=0 must be an integer >= 1"):
        L.prelu(input=flat, partial_sum=0)


# ---- training --------------------------------------------------------------------------------

def test_conv_projection_norm_and_prelu_train(rng):
    """A tiny classifier through all three learns its training set: the cost falls."""
    paddle.init(seed=1)
    x = image("pixels", 2, 4, 4)
    conv = L.mixed(input=L.conv_projection(input=x, filter_size=3, num_filters=4, padding=1),
                   bias_attr=True)
    normed = L.cross_channel_norm(input=conv,
                                  param_attr=paddle.attr.ParamAttr(initial_mean=2.0,
                                                                   initial_std=0.0))
    act = L.prelu(input=normed, channel_shared=False)
    out = L.fc(input=act, size=2, act=paddle.activation.Softmax())
    label = L.data(name="label", type=paddle.data_type.integer_value(2))
    cost = L.classification_cost(input=out, label=label)
    samples = []
    for i in range(16):
        cls = i % 2
        pixels = rng.standard_normal(32) * 0.3 + (1.0 if cls else -1.0) * np.tile([1, 0], 16)
        samples.append((pixels.astype(np.float32), cls))
    costs, parameters = train_costs(cost, samples)
    assert np.mean(costs[-4:]) < 0.6 * np.mean(costs[:4])
    assert parameters.get(act.params[0].name).shape == (1, 4)     # one slope per filter
