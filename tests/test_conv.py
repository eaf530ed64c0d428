"""2-D convolution: kernels against naive loops and identities, gradients, and ``img_conv``.

Every kernel test runs on each backend present (``backend`` fixture) through
``get_kernel``, so a faster kernel registered later is held to the same oracles.
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minidl as paddle
from minidl.layers.activations import Linear, Relu
from minidl.layers.attrs import ParamAttr
from minidl.backends import get_kernel
from minidl.core import Tensor, as_numpy
from minidl.core.gradcheck import check_directional, check_elementwise
from minidl.functions import conv_function
from minidl.functions.basic import add
from minidl.functions.conv import conv2d, conv_output_size
from minidl.layers.graph import Network, RunContext

# The backend fixture only selects a backend; reusing it across examples is intended.
fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


# --- oracles: the definition, written as loops over output pixels and kernel offsets ---

def _padded(x, padding):
    py, px = padding
    return np.pad(x, ((0, 0), (0, 0), (py, py), (px, px)))


def _taps(x_shape, w_shape, stride, padding, dilation):
    """Yield ``(oh, ow, i, j, row, col)``: output pixel, kernel offset, padded input cell."""
    kh, kw = w_shape[2:]
    oh_n = conv_output_size(x_shape[2], kh, stride[0], padding[0], dilation[0])
    ow_n = conv_output_size(x_shape[3], kw, stride[1], padding[1], dilation[1])
    for oh in range(oh_n):
        for ow in range(ow_n):
            for i in range(kh):
                for j in range(kw):
                    yield (oh, ow, i, j, oh * stride[0] + i * dilation[0],
                           ow * stride[1] + j * dilation[1])


def _group_slices(c, f, groups):
    cg, fg = c // groups, f // groups
    return [(slice(g * cg, (g + 1) * cg), slice(g * fg, (g + 1) * fg)) for g in range(groups)]


def naive_conv(x, w, stride, padding, dilation, groups):
    n, c = x.shape[:2]
    f, _, kh, kw = w.shape
    oh = conv_output_size(x.shape[2], kh, stride[0], padding[0], dilation[0])
    ow = conv_output_size(x.shape[3], kw, stride[1], padding[1], dilation[1])
    xp, y = _padded(x, padding), np.zeros((n, f, oh, ow))
    for cs, fs in _group_slices(c, f, groups):
        for o_h, o_w, i, j, r, q in _taps(x.shape, w.shape, stride, padding, dilation):
            y[:, fs, o_h, o_w] += xp[:, cs, r, q] @ w[fs, :, i, j].T
    return y


def naive_grads(x, w, gy, stride, padding, dilation, groups):
    """d(sum(y * gy))/dx and /dw by the chain rule applied tap by tap."""
    c, f = x.shape[1], w.shape[0]
    xp = _padded(x, padding)
    gxp, gw = np.zeros_like(xp), np.zeros_like(w)
    for cs, fs in _group_slices(c, f, groups):
        for o_h, o_w, i, j, r, q in _taps(x.shape, w.shape, stride, padding, dilation):
            gxp[:, cs, r, q] += gy[:, fs, o_h, o_w] @ w[fs, :, i, j]
            gw[fs, :, i, j] += gy[:, fs, o_h, o_w].T @ xp[:, cs, r, q]
    py, px = padding
    return gxp[:, :, py:py + x.shape[2], px:px + x.shape[3]], gw


# --- geometry drawn by hypothesis -------------------------------------------------------

@st.composite
def conv_cases(draw, max_batch=3):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cg, fg = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    # image at least as large as the dilated kernel minus padding, so the output is >= 1
    h = draw(st.integers(max(1, (kh - 1) * dilation[0] + 1 - 2 * padding[0]), 9))
    w = draw(st.integers(max(1, (kw - 1) * dilation[1] + 1 - 2 * padding[1]), 9))
    n = draw(st.integers(1, max_batch))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, cg * groups, h, w))
    wt = rng.standard_normal((fg * groups, cg, kh, kw))
    return x, wt, stride, padding, dilation, groups


def _run(op, *args):
    return as_numpy(get_kernel(op)(*args))


def _on(xp, a):
    return xp.asarray(a)


@fixture_ok
@given(case=conv_cases())
def test_forward_matches_naive_loops(backend, xp, case):
    x, w, stride, padding, dilation, groups = case
    got = _run("conv2d_forward", _on(xp, x), _on(xp, w), stride, padding, dilation, groups)
    np.testing.assert_allclose(got, naive_conv(x, w, stride, padding, dilation, groups),
                               rtol=1e-10, atol=1e-10)


@fixture_ok
@given(case=conv_cases(), seed=st.integers(0, 2**16))
def test_gradients_match_naive_loops(backend, xp, case, seed):
    x, w, stride, padding, dilation, groups = case
    y_shape = naive_conv(x, w, stride, padding, dilation, groups).shape
    gy = np.random.default_rng(seed).standard_normal(y_shape)
    want_gx, want_gw = naive_grads(x, w, gy, stride, padding, dilation, groups)
    gx = _run("conv2d_grad_input", _on(xp, gy), _on(xp, w), x.shape, stride, padding,
              dilation, groups)
    gw = _run("conv2d_grad_filter", _on(xp, x), _on(xp, gy), w.shape, stride, padding,
              dilation, groups)
    np.testing.assert_allclose(gx, want_gx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gw, want_gw, rtol=1e-10, atol=1e-10)


@fixture_ok
@given(case=conv_cases(max_batch=2))
def test_float32_stays_float32(backend, xp, case):
    x, w, stride, padding, dilation, groups = case
    x, w = x.astype(np.float32), w.astype(np.float32)
    y = get_kernel("conv2d_forward")(_on(xp, x), _on(xp, w), stride, padding, dilation, groups)
    gx = get_kernel("conv2d_grad_input")(y, _on(xp, w), x.shape, stride, padding, dilation,
                                         groups)
    gw = get_kernel("conv2d_grad_filter")(_on(xp, x), y, w.shape, stride, padding, dilation,
                                          groups)
    assert (y.dtype, gx.dtype, gw.dtype) == (np.float32,) * 3
    assert gx.shape == x.shape and gw.shape == w.shape
    np.testing.assert_allclose(as_numpy(y), naive_conv(x, w, stride, padding, dilation, groups),
                               rtol=1e-4, atol=1e-4)


def test_one_by_one_conv_is_a_matmul_over_channels(backend, xp, rng):
    x, w = rng.standard_normal((3, 5, 4, 6)), rng.standard_normal((7, 5, 1, 1))
    got = _run("conv2d_forward", _on(xp, x), _on(xp, w), (1, 1), (0, 0), (1, 1), 1)
    want = np.einsum("nchw,fc->nfhw", x, w[:, :, 0, 0])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_grouped_conv_is_per_group_convs_concatenated(backend, xp, rng):
    groups, geometry = 3, ((2, 1), (1, 2), (1, 2))
    x, w = rng.standard_normal((2, 6, 7, 8)), rng.standard_normal((9, 2, 3, 2))
    got = _run("conv2d_forward", _on(xp, x), _on(xp, w), *geometry, groups)
    parts = [_run("conv2d_forward", _on(xp, x[:, 2 * g:2 * g + 2]), _on(xp, w[3 * g:3 * g + 3]),
                  *geometry, 1) for g in range(groups)]
    np.testing.assert_allclose(got, np.concatenate(parts, axis=1), rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(got.shape)
    gw = _run("conv2d_grad_filter", _on(xp, x), _on(xp, gy), w.shape, *geometry, groups)
    gw_parts = [_run("conv2d_grad_filter", _on(xp, x[:, 2 * g:2 * g + 2]),
                     _on(xp, gy[:, 3 * g:3 * g + 3]), (3, 2, 3, 2), *geometry, 1)
                for g in range(groups)]
    np.testing.assert_allclose(gw, np.concatenate(gw_parts), rtol=1e-12, atol=1e-12)


def test_gradients_are_adjoint_to_forward(backend, xp, rng):
    """<conv(x, w), gy> = <x, grad_input(gy, w)> = <w, grad_filter(x, gy)> (linearity)."""
    geometry = ((2, 3), (2, 1), (2, 1), 2)
    x, w = rng.standard_normal((2, 4, 11, 10)), rng.standard_normal((6, 2, 3, 4))
    y = _run("conv2d_forward", _on(xp, x), _on(xp, w), *geometry)
    gy = rng.standard_normal(y.shape)
    gx = _run("conv2d_grad_input", _on(xp, gy), _on(xp, w), x.shape, *geometry)
    gw = _run("conv2d_grad_filter", _on(xp, x), _on(xp, gy), w.shape, *geometry)
    inner = np.sum(y * gy)
    assert np.sum(x * gx) == pytest.approx(inner, rel=1e-10)
    assert np.sum(w * gw) == pytest.approx(inner, rel=1e-10)


# --- the cpu backend's per-image path (conv_per_image.py), below the size that selects it ---

def _per_image_args(case):
    from minidl.core.geometry import conv_geometry
    x, w, stride, padding, dilation, groups = case
    kernel, out_size = conv_geometry(x.shape, w.shape, stride, padding, dilation, groups)
    return kernel, out_size, (tuple(stride), tuple(padding), tuple(dilation)), groups


@given(case=conv_cases(max_batch=4), seed=st.integers(0, 2**16))
def test_per_image_kernels_match_naive_loops(case, seed):
    """Called directly, so the small images hypothesis draws take the per-image path too."""
    from minidl.backends.numba_cpu import conv_per_image as per_image

    x, w, stride, padding, dilation, groups = case
    kernel, out_size, geometry, groups = _per_image_args(case)
    want_y = naive_conv(x, w, stride, padding, dilation, groups)
    gy = np.random.default_rng(seed).standard_normal(want_y.shape)
    want_gx, want_gw = naive_grads(x, w, gy, stride, padding, dilation, groups)
    y = per_image.forward(x, w, kernel, out_size, geometry, groups)
    gx = per_image.grad_input(gy, w, x.shape, kernel, out_size, geometry, groups)
    gw = per_image.grad_filter(x, gy, w.shape, kernel, out_size, geometry, groups)
    np.testing.assert_allclose(y, want_y, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gx, want_gx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gw, want_gw, rtol=1e-10, atol=1e-10)


@given(case=conv_cases(max_batch=5), parts=st.integers(1, 4), relu=st.booleans(),
       seed=st.integers(0, 2**16))
def test_threads_taking_whole_images_match_naive_loops(case, parts, relu, seed):
    """conv_images.py for any number of parts, fewer or more than the images (each part
    has buffers and filter-gradient sums of its own), with and without the folded scale."""
    from minidl.backends.numba_cpu import conv_images

    x, w, stride, padding, dilation, groups = case
    kernel, out_size, geometry, groups = _per_image_args(case)
    n, f = x.shape[0], w.shape[0]
    rng = np.random.default_rng(seed)
    want_y = naive_conv(x, w, stride, padding, dilation, groups)
    gy = rng.standard_normal(want_y.shape)
    want_gx, want_gw = naive_grads(x, w, gy, stride, padding, dilation, groups)
    w2, flat_gy = w.reshape(f, -1), gy.reshape(n, f, -1)
    scale, shift = rng.standard_normal(f), rng.standard_normal(f)

    y = np.empty((n, f, flat_gy.shape[2]))
    conv_images.forward(x, w2, y, kernel, out_size, *geometry, groups, parts, scale, shift,
                        relu, False)
    np.testing.assert_allclose(y.reshape(want_y.shape), want_y, rtol=1e-10, atol=1e-10)
    conv_images.forward(x, w2, y, kernel, out_size, *geometry, groups, parts, scale, shift,
                        relu, True)
    want_scaled = want_y * scale[:, None, None] + shift[:, None, None]
    np.testing.assert_allclose(y.reshape(want_y.shape),
                               np.maximum(want_scaled, 0) if relu else want_scaled,
                               rtol=1e-10, atol=1e-10)
    gx = np.empty(x.shape)
    conv_images.grad_input(flat_gy, w2, gx, kernel, out_size, *geometry, groups, parts)
    np.testing.assert_allclose(gx, want_gx, rtol=1e-10, atol=1e-10)
    totals = np.zeros((parts, groups, w2.shape[1], f // groups))
    conv_images.grad_filter(x, flat_gy, totals, kernel, out_size, *geometry, parts)
    gw = totals.sum(axis=0).transpose(0, 2, 1).reshape(w.shape)
    np.testing.assert_allclose(gw, want_gw, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("geometry", [((1, 1), (1, 1), (1, 1), 1), ((1, 2), (2, 0), (2, 1), 2)])
def test_cpu_kernels_on_large_images_take_the_per_image_path(rng, geometry):
    from minidl.backends import numpy_ref
    from minidl.backends.numba_cpu import conv

    x, w = rng.standard_normal((3, 4, 20, 27)), rng.standard_normal((6, 4 // geometry[3], 3, 3))
    y = conv.conv2d_forward(x, w, *geometry)
    assert conv.goes_per_image(x.shape[0], y.shape[2:])
    gy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(y, numpy_ref.conv.conv2d_forward(x, w, *geometry), rtol=1e-10)
    np.testing.assert_allclose(conv.conv2d_grad_input(gy, w, x.shape, *geometry),
                               numpy_ref.conv.conv2d_grad_input(gy, w, x.shape, *geometry),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv.conv2d_grad_filter(x, gy, w.shape, *geometry),
                               numpy_ref.conv.conv2d_grad_filter(x, gy, w.shape, *geometry),
                               rtol=1e-10)


@given(size=st.integers(1, 40), kernel=st.integers(1, 7), stride=st.integers(1, 4),
       padding=st.integers(0, 3), dilation=st.integers(1, 3))
def test_output_size_counts_the_window_positions(size, kernel, stride, padding, dilation):
    extent, padded = (kernel - 1) * dilation + 1, size + 2 * padding
    got = conv_output_size(size, kernel, stride, padding, dilation)
    if padded < extent:
        assert got < 1
    else:  # one output per window start that keeps the whole window in the padded image
        assert got == len(range(0, padded - extent + 1, stride))


def test_output_size_known_values():
    assert conv_output_size(32, 3, 1, 1) == 32          # VGG 3x3 "same"
    assert conv_output_size(224, 11, 4, 2) == 55        # AlexNet conv1
    assert conv_output_size(7, 3, 2, 0, dilation=2) == 2
    assert conv_output_size(28, 5, 1, 0) == 24          # MNIST LeNet


def test_bad_shapes_are_named(backend, xp):
    x, w = xp.zeros((1, 4, 5, 5)), xp.zeros((3, 2, 3, 3))
    with pytest.raises(ValueError, match="groups=2"):
        get_kernel("conv2d_forward")(x, w, (1, 1), (0, 0), (1, 1), 2)  # F=3 not divisible
    with pytest.raises(ValueError, match="output size"):
        get_kernel("conv2d_forward")(x, xp.zeros((2, 4, 7, 7)), (1, 1), (0, 0), (1, 1), 1)


# --- the autograd Function: finite differences in float64 ------------------------------

def _conv_with_bias(geometry):
    def fn(x, w, b):
        return add(conv2d(x, w, *geometry), b)
    return fn


@pytest.mark.parametrize("geometry", [((1, 1), (1, 1), (1, 1), 1), ((2, 1), (0, 2), (1, 2), 2)])
def test_conv_directional_derivative(backend, rng, geometry):
    x, w = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 4 // geometry[3], 3, 2))
    b = rng.standard_normal((1, 6, 1, 1))
    check_directional(_conv_with_bias(geometry), x, w, b)


def test_conv_directional_derivative_on_large_images(backend, rng):
    """Images with >= 256 output positions: the cpu backend's per-image path."""
    geometry = ((1, 1), (1, 1), (1, 1), 1)
    x, w = rng.standard_normal((2, 3, 16, 17)), rng.standard_normal((4, 3, 3, 3))
    check_directional(_conv_with_bias(geometry), x, w, rng.standard_normal((1, 4, 1, 1)))


def test_conv_every_gradient_entry(backend, rng):
    geometry = ((2, 1), (1, 0), (1, 1), 2)
    x, w = rng.standard_normal((2, 2, 4, 3)), rng.standard_normal((2, 1, 2, 2))
    b = rng.standard_normal((1, 2, 1, 1))
    check_elementwise(_conv_with_bias(geometry), x, w, b)


def test_input_gradient_skipped_when_not_needed(backend, rng, monkeypatch):
    called = []
    real_kernel = conv_function.kernel
    monkeypatch.setattr(conv_function, "kernel", lambda op: called.append(op) or real_kernel(op))
    x = Tensor(rng.standard_normal((1, 2, 5, 5)))                     # like a data layer
    w = Tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    conv2d(x, w).sum().backward()
    assert "conv2d_grad_input" not in called and "conv2d_grad_filter" in called
    assert w.grad.shape == (3, 2, 3, 3)


# --- the img_conv layer ---------------------------------------------------------------

def _image(name="pixel", channels=3, height=8, width=8):
    return paddle.layer.data(name, paddle.data_type.dense_vector(channels * height * width),
                             height=height, width=width)


def test_names_params_and_geometry():
    conv = paddle.layer.img_conv(input=_image(), filter_size=3, num_filters=4, padding=1)
    assert conv.name == "__conv_0__" and conv.type == "exconv"
    assert isinstance(conv.act, Relu)
    weight, bias = conv.params
    assert weight.name == "___conv_0__.w0" and bias.name == "___conv_0__.wbias"
    assert weight.shape == (1, 4 * 3 * 3 * 3) and weight.compute_shape == (4, 3, 3, 3)
    assert weight.extra == {"config_dims": (), "initial_smart": False}   # as Paddle wrote it
    assert bias.shape == (4, 1) and bias.is_bias
    assert weight.default_std == pytest.approx(math.sqrt(2.0 / (3 * 3 * 3)))
    assert conv.image_shape == (4, 8, 8) and conv.size == 4 * 8 * 8
    second = paddle.layer.img_conv(input=conv, filter_size=3, num_filters=2, stride=2)
    assert second.name == "__conv_1__" and second.image_shape == (2, 3, 3)


def test_non_square_geometry_and_y_arguments():
    conv = paddle.layer.img_conv(input=_image(height=9, width=12), filter_size=3,
                                 filter_size_y=5, num_filters=2, stride=2, stride_y=1,
                                 padding=1, padding_y=0, dilation=1, dilation_y=2)
    # height: 1 + (9 - 9) // 1 = 1; width: 1 + (12 + 2 - 3) // 2 = 6
    assert conv.image_shape == (2, 1, 6)
    assert conv.params[0].compute_shape == (2, 3, 5, 3)
    # Paddle's "smart" std uses the x filter size squared and all input channels
    assert conv.params[0].default_std == pytest.approx(math.sqrt(2.0 / (3 * 3 * 3)))
    pair = paddle.layer.img_conv(input=_image(height=9, width=12), filter_size=(3, 5),
                                 num_filters=2, name="pair")
    assert pair.params[0].compute_shape == (2, 3, 5, 3)     # (x, y) sequence as in Paddle


def test_groups_and_unshared_biases():
    conv = paddle.layer.img_conv(input=_image(channels=4), filter_size=3, num_filters=6,
                                 groups=2, shared_biases=False)
    assert conv.params[0].compute_shape == (6, 2, 3, 3)
    assert conv.params[0].default_std == pytest.approx(math.sqrt(2.0 / (3 * 3 * 4)))
    assert conv.params[1].shape == (6 * 6 * 6, 1)
    assert conv.params[1].compute_shape == (1, 6, 6, 6)
    no_bias = paddle.layer.img_conv(input=_image(), filter_size=1, num_filters=2,
                                    bias_attr=False, name="nb")
    assert [p.name for p in no_bias.params] == ["_nb.w0"]


def test_num_channels_makes_a_square_image_of_a_plain_vector():
    flat = paddle.layer.data("flat", paddle.data_type.dense_vector(2 * 5 * 5))
    conv = paddle.layer.img_conv(input=flat, filter_size=3, num_filters=1, num_channels=2)
    assert conv.image_shape == (1, 3, 3)


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_channels=4), "num_channels=4 but input pixel has 3 channels"),
    (dict(groups=2), "groups=2 must divide both the input channels \\(3\\)"),
    (dict(num_filters=5, groups=3), "groups=3 must divide .* num_filters \\(5\\)"),
    (dict(filter_size=11), "output would be -2x-2"),
    (dict(trans=True, layer_type="cudnn_conv"), "layer_type='cudnn_conv' with trans=True"),
    (dict(layer_type="fc"), "layer_type='fc'"),
    (dict(stride=0), "stride=0 must be >= 1"),
    (dict(num_filters=0), "num_filters=0"),
])
def test_construction_errors_name_the_layer(kwargs, message):
    args = dict(input=_image(), filter_size=3, num_filters=6, name="c1")
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"layer c1: {message}"):
        paddle.layer.img_conv(**args)


def test_missing_num_channels_and_non_square_input():
    flat = paddle.layer.data("flat", paddle.data_type.dense_vector(3 * 6 * 8))
    with pytest.raises(ValueError, match="layer __conv_0__: cannot infer num_channels"):
        paddle.layer.img_conv(input=flat, filter_size=3, num_filters=2)
    with pytest.raises(ValueError, match="not a square image"):
        paddle.layer.img_conv(input=flat, filter_size=3, num_filters=2, num_channels=3)


def test_layer_forward_and_backward_through_a_network(backend, xp, rng):
    image = _image(channels=2, height=5, width=6)
    conv = paddle.layer.img_conv(input=image, filter_size=3, num_filters=3, padding=1,
                                 stride=(1, 2), act=Linear(), param_attr=ParamAttr(name="w"))
    net = Network(conv)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal((1, 3, 1, 1)).astype(np.float32)
    params = {"w": Tensor(xp.asarray(w), requires_grad=True),
              "___conv_0__.wbias": Tensor(xp.asarray(b), requires_grad=True)}
    x = rng.standard_normal((2, 60)).astype(np.float32)
    y = net.forward({"pixel": xp.asarray(x)}, RunContext(params))[conv.name]
    assert y.shape == (2, 3, 3, 6) and y.dtype == np.float32   # stride (x=1, y=2)
    want = naive_conv(x.reshape(2, 2, 5, 6), w, (2, 1), (1, 1), (1, 1), 1) + b
    np.testing.assert_allclose(as_numpy(y.data), want, rtol=1e-4, atol=1e-4)
    y.sum().backward()
    np.testing.assert_allclose(as_numpy(params["___conv_0__.wbias"].grad).ravel(),
                               [2 * 3 * 6] * 3)
    assert params["w"].grad.shape == (3, 2, 3, 3)


@pytest.mark.parametrize("channels,filters,size,groups", [(2, 3, 3, 1), (2, 4, 1, 1),
                                                          (4, 4, 3, 2), (2, 2, 3, 2)])
def test_an_empty_batch_gives_empty_outputs_and_zero_filter_gradients(backend, xp, channels,
                                                                      filters, size, groups):
    """A batch of no images: outputs and input gradients with no rows, filter gradients of
    zeros (a sum of nothing), and the same from the batch norm folded into the
    convolution, on every backend (3x3, 1x1, grouped and depthwise)."""
    padding = (size // 2, size // 2)
    x = xp.zeros((0, channels, 5, 5), dtype=xp.float32)
    w = xp.ones((filters, channels // groups, size, size), dtype=xp.float32)
    gy = xp.zeros((0, filters, 5, 5), dtype=xp.float32)
    geometry = ((1, 1), padding, (1, 1), groups)
    assert get_kernel("conv2d_forward")(x, w, *geometry).shape == (0, filters, 5, 5)
    assert get_kernel("conv2d_grad_input")(gy, w, x.shape, *geometry).shape == x.shape
    gw = as_numpy(get_kernel("conv2d_grad_filter")(x, gy, w.shape, *geometry))
    np.testing.assert_array_equal(gw, np.zeros(w.shape))
    stats = [xp.ones(filters, dtype=xp.float32)] * 5
    folded = get_kernel("conv2d_batch_norm_act")(x, w, *stats, 1e-5, True, *geometry)
    assert folded.shape == (0, filters, 5, 5)
