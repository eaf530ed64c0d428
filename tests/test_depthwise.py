"""Depthwise convolution: kernels against naive loops and grouped convolution, gradients,
the dispatch from ``conv2d``, and the ``img_depthwise_conv`` / ``img_separable_conv`` layers.

Kernel tests run on each backend present (``backend`` fixture) through ``get_kernel``.
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minidl as paddle
from kernel_cases import depthwise_cases, depthwise_output_shape
from minidl.layers.activations import Linear
from minidl.layers.attrs import ParamAttr
from minidl.backends import get_kernel
from minidl.core import Tensor, as_numpy
from minidl.core.gradcheck import check_directional, check_elementwise
from minidl.functions import conv_function
from minidl.functions.basic import add
from minidl.functions.conv import conv2d
from minidl.functions.depthwise import depthwise_conv2d
from minidl.layers.graph import Network, RunContext

from conftest import BACKENDS_PRESENT

fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
OPS = ("depthwise_conv2d_forward", "depthwise_conv2d_grad_input", "depthwise_conv2d_grad_filter")


# --- the oracle: the definition as loops over output pixels ------------------------------

def naive_depthwise(x, w, stride, padding):
    """``y[n, o, r, q] = sum_ij w[o, 0, i, j] * x_pad[n, o // M, r*sy + i, q*sx + j]``."""
    m = w.shape[0] // x.shape[1]
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    y = np.zeros(depthwise_output_shape(x, w, stride, padding))
    kh, kw = w.shape[2:]
    for o in range(w.shape[0]):
        for r in range(y.shape[2]):
            for q in range(y.shape[3]):
                patch = xp[:, o // m, r * stride[0]:r * stride[0] + kh,
                           q * stride[1]:q * stride[1] + kw]
                y[:, o, r, q] = (patch * w[o, 0]).sum(axis=(1, 2))
    return y


def naive_grads(x, w, gy, stride, padding):
    """d(sum(y * gy))/dx and /dw, tap by tap."""
    m = w.shape[0] // x.shape[1]
    (py, px), kh, kw = padding, w.shape[2], w.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (py, py), (px, px)))
    gxp, gw = np.zeros_like(xp), np.zeros_like(w)
    for o in range(w.shape[0]):
        for r in range(gy.shape[2]):
            for q in range(gy.shape[3]):
                rows = slice(r * stride[0], r * stride[0] + kh)
                cols = slice(q * stride[1], q * stride[1] + kw)
                g = gy[:, o, r, q][:, None, None]
                gxp[:, o // m, rows, cols] += g * w[o, 0]
                gw[o, 0] += (g * xp[:, o // m, rows, cols]).sum(axis=0)
    return gxp[:, :, py:py + x.shape[2], px:px + x.shape[3]], gw


def _run(op, xp, *args):
    return as_numpy(get_kernel(op)(*[xp.asarray(a) if isinstance(a, np.ndarray) else a
                                     for a in args]))


def _gy(case, seed):
    return np.random.default_rng(seed).standard_normal(depthwise_output_shape(*case))


# --- kernels ------------------------------------------------------------------------------

@fixture_ok
@given(case=depthwise_cases(dtype=np.float64), seed=st.integers(0, 2**16))
def test_kernels_match_naive_loops(backend, xp, case, seed):
    x, w, stride, padding = case
    gy = _gy(case, seed)
    want_gx, want_gw = naive_grads(x, w, gy, stride, padding)
    np.testing.assert_allclose(_run(OPS[0], xp, x, w, stride, padding),
                               naive_depthwise(x, w, stride, padding), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(_run(OPS[1], xp, gy, w, x.shape, stride, padding), want_gx,
                               rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(_run(OPS[2], xp, x, gy, w.shape, stride, padding), want_gw,
                               rtol=1e-10, atol=1e-10)


@fixture_ok
@given(case=depthwise_cases(dtype=np.float64), seed=st.integers(0, 2**16))
def test_kernels_equal_grouped_convolution_with_groups_c(backend, xp, case, seed):
    """Depthwise convolution is im2col convolution with ``groups = C``."""
    x, w, stride, padding = case
    groups, gy = x.shape[1], _gy(case, seed)
    geometry = (stride, padding, (1, 1), groups)
    np.testing.assert_allclose(_run(OPS[0], xp, x, w, stride, padding),
                               _run("conv2d_forward", xp, x, w, *geometry), atol=1e-10)
    np.testing.assert_allclose(_run(OPS[1], xp, gy, w, x.shape, stride, padding),
                               _run("conv2d_grad_input", xp, gy, w, x.shape, *geometry),
                               atol=1e-10)
    np.testing.assert_allclose(_run(OPS[2], xp, x, gy, w.shape, stride, padding),
                               _run("conv2d_grad_filter", xp, x, gy, w.shape, *geometry),
                               atol=1e-10)


@pytest.mark.parametrize("n, c, size, stride", [(1, 32, 112, 1), (8, 16, 14, 2), (5, 8, 7, 1),
                                                (3, 4, 13, 2)])
def test_mobilenet_shapes_stride_one_and_two(backend, xp, rng, n, c, size, stride):
    """MobileNet geometry (3x3, padding 1): realistic planes, odd sizes, batch 1 to 8."""
    x = rng.standard_normal((n, c, size, size)).astype(np.float32)
    w = rng.standard_normal((c, 1, 3, 3)).astype(np.float32)
    geometry = ((stride, stride), (1, 1))
    y = _run(OPS[0], xp, x, w, *geometry)
    want = get_kernel("conv2d_forward", "numpy")(x, w, *geometry, (1, 1), c)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    np.testing.assert_allclose(
        _run(OPS[1], xp, gy, w, x.shape, *geometry),
        get_kernel("conv2d_grad_input", "numpy")(gy, w, x.shape, *geometry, (1, 1), c),
        rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        _run(OPS[2], xp, x, gy, w.shape, *geometry),
        get_kernel("conv2d_grad_filter", "numpy")(x, gy, w.shape, *geometry, (1, 1), c),
        rtol=1e-3, atol=1e-3)


def test_gradients_are_adjoint_to_forward(backend, xp, rng):
    """<y, gy> = <x, grad_input(gy)> = <w, grad_filter(x, gy)> (the op is bilinear)."""
    geometry = ((2, 3), (2, 1))
    x, w = rng.standard_normal((2, 3, 11, 10)), rng.standard_normal((6, 1, 5, 3))
    y = _run(OPS[0], xp, x, w, *geometry)
    gy = rng.standard_normal(y.shape)
    inner = np.sum(y * gy)
    assert np.sum(x * _run(OPS[1], xp, gy, w, x.shape, *geometry)) == pytest.approx(inner,
                                                                                    rel=1e-10)
    assert np.sum(w * _run(OPS[2], xp, x, gy, w.shape, *geometry)) == pytest.approx(inner,
                                                                                    rel=1e-10)


def test_float32_stays_float32(backend, xp, rng):
    x = xp.asarray(rng.standard_normal((2, 3, 6, 5)).astype(np.float32))
    w = xp.asarray(rng.standard_normal((6, 1, 3, 3)).astype(np.float32))
    y = get_kernel(OPS[0])(x, w, (1, 2), (1, 0))
    gx = get_kernel(OPS[1])(y, w, x.shape, (1, 2), (1, 0))
    gw = get_kernel(OPS[2])(x, y, w.shape, (1, 2), (1, 0))
    assert (y.dtype, gx.dtype, gw.dtype) == (np.float32,) * 3
    assert gx.shape == x.shape and gw.shape == w.shape


def test_bad_shapes_are_named(backend, xp):
    x = xp.zeros((1, 4, 5, 5))
    with pytest.raises(ValueError, match="multiple of C"):
        get_kernel(OPS[0])(x, xp.zeros((6, 1, 3, 3)), (1, 1), (0, 0))
    with pytest.raises(ValueError, match="multiple of C"):
        get_kernel(OPS[0])(x, xp.zeros((4, 2, 3, 3)), (1, 1), (0, 0))
    with pytest.raises(ValueError, match="output size"):
        get_kernel(OPS[0])(x, xp.zeros((4, 1, 7, 7)), (1, 1), (0, 0))


@pytest.mark.skipif("cpu" not in BACKENDS_PRESENT, reason="Numba is not installed")
@pytest.mark.parametrize("stack_values", [1, 150])
def test_numba_image_groups_and_chunks(rng, monkeypatch, stack_values):
    """Images stacked in groups (a short last group) and tasks split into uneven chunks."""
    from minidl.backends.numba_cpu import depthwise as numba_depthwise
    from minidl.backends.numba_cpu import depthwise_same, loops
    monkeypatch.setattr(numba_depthwise, "STACK_VALUES", stack_values)
    monkeypatch.setattr(depthwise_same, "STACK_VALUES", 2 * stack_values)
    monkeypatch.setattr(loops, "CHUNKS_PER_THREAD", 3)
    # the "same" padding path, then the phase grid at stride 1 and 2
    for stride, padding in (((1, 1), (1, 1)), ((1, 1), (0, 1)), ((2, 2), (1, 1))):
        x, w = rng.standard_normal((5, 3, 7, 6)), rng.standard_normal((6, 1, 3, 3))
        case = (x, w, stride, padding)
        gy = _gy(case, 7)
        want_gx, want_gw = naive_grads(x, w, gy, *case[2:])
        cpu = [get_kernel(op, "cpu") for op in OPS]
        np.testing.assert_allclose(cpu[0](*case), naive_depthwise(*case), atol=1e-10)
        np.testing.assert_allclose(cpu[1](gy, w, x.shape, *case[2:]), want_gx, atol=1e-10)
        np.testing.assert_allclose(cpu[2](x, gy, w.shape, *case[2:]), want_gw, atol=1e-10)


@given(case=depthwise_cases(dtype=np.float64, batches=st.sampled_from([8, 13, 16, 21, 24])),
       seed=st.integers(0, 2**16))
def test_numba_batch_innermost_kernels_match_naive_loops(case, seed):
    """From batch 8 the cpu kernels put eight images side by side (``depthwise_lanes``):
    every stride, padding, filter size and multiplier, whole and short last groups."""
    from minidl.backends.numba_cpu import depthwise_lanes
    x, w, stride, padding = case
    assert depthwise_lanes.applies(x.shape[0], x.dtype)
    gy = _gy(case, seed)
    want_gx, want_gw = naive_grads(x, w, gy, stride, padding)
    cpu = [get_kernel(op, "cpu") for op in OPS]
    np.testing.assert_allclose(cpu[0](x, w, stride, padding),
                               naive_depthwise(x, w, stride, padding), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(cpu[1](gy, w, x.shape, stride, padding), want_gx, rtol=1e-10,
                               atol=1e-10)
    np.testing.assert_allclose(cpu[2](x, gy, w.shape, stride, padding), want_gw, rtol=1e-10,
                               atol=1e-10)


def test_numba_batch_innermost_float32_mobilenet_layers(rng):
    """The float32 vectors of the batch-innermost kernels on MobileNet's 7x7 and stride-2
    14x14 layers at batch 8, against the NumPy reference."""
    for c, size, stride in ((16, 7, 1), (8, 14, 2)):
        x = rng.standard_normal((8, c, size, size)).astype(np.float32)
        w = rng.standard_normal((c, 1, 3, 3)).astype(np.float32)
        geometry = ((stride, stride), (1, 1))
        ref, cpu = ([get_kernel(op, backend) for op in OPS] for backend in ("numpy", "cpu"))
        gy = rng.standard_normal(ref[0](x, w, *geometry).shape).astype(np.float32)
        for got, want in ((cpu[0](x, w, *geometry), ref[0](x, w, *geometry)),
                          (cpu[1](gy, w, x.shape, *geometry), ref[1](gy, w, x.shape, *geometry)),
                          (cpu[2](x, gy, w.shape, *geometry), ref[2](x, gy, w.shape, *geometry))):
            assert got.dtype == np.float32
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n, c, h, w, stride, m", [
    (13, 3, 40, 64, 1, 1),      # whole 8 x 8 blocks, a short last group, three output strips
    (8, 2, 37, 128, 2, 2),      # stride 2, two strips (the last one short), multiplier 2
    (16, 2, 21, 24, 1, 1),      # three blocks a row, one strip
])
def test_numba_batch_innermost_forward_on_wide_planes(rng, n, c, h, w, stride, m):
    """Planes whose rows are whole 8 x 8 blocks go straight into the frame, and the output
    is computed a strip of rows at a time (32 KB): against the NumPy reference."""
    x = rng.standard_normal((n, c, h, w))
    filters = rng.standard_normal((c * m, 1, 3, 3))
    geometry = ((stride, stride), (1, 1))
    np.testing.assert_allclose(get_kernel(OPS[0], "cpu")(x, filters, *geometry),
                               get_kernel(OPS[0], "numpy")(x, filters, *geometry),
                               rtol=1e-10, atol=1e-10)


def test_numba_batch_innermost_needs_a_full_vector_and_little_waste():
    from minidl.backends.numba_cpu.depthwise_lanes import applies
    assert [n for n in range(1, 27) if applies(n, np.float32)] == [8, 13, 14, 15, 16, 20, 21,
                                                                   22, 23, 24, 26]
    assert applies(8, np.float64) and not applies(8, np.int64)
    x, w = np.arange(8 * 2 * 5 * 5).reshape(8, 2, 5, 5), np.ones((2, 1, 3, 3), np.int64)
    np.testing.assert_array_equal(get_kernel(OPS[0], "cpu")(x, w, (1, 1), (1, 1)),
                                  naive_depthwise(x, w, (1, 1), (1, 1)))


# --- the autograd Function: float64 finite differences -----------------------------------

def _depthwise_with_bias(stride, padding, groups):
    def fn(x, w, b):
        return add(conv2d(x, w, stride, padding, (1, 1), groups), b)
    return fn


@pytest.mark.parametrize("stride, padding, k, m", [((1, 1), (1, 1), 3, 1), ((2, 2), (1, 1), 3, 2),
                                                   ((1, 2), (2, 0), 5, 1), ((2, 1), (2, 2), 5, 3)])
def test_depthwise_directional_derivative(backend, rng, stride, padding, k, m):
    x, w = rng.standard_normal((2, 3, 9, 8)), rng.standard_normal((3 * m, 1, k, k))
    b = rng.standard_normal((1, 3 * m, 1, 1))
    check_directional(_depthwise_with_bias(stride, padding, 3), x, w, b)


@pytest.mark.parametrize("stride", [(1, 1), (2, 2)])
def test_depthwise_every_gradient_entry(backend, rng, stride):
    x, w = rng.standard_normal((1, 2, 5, 4)), rng.standard_normal((4, 1, 3, 3))
    check_elementwise(lambda x, w: depthwise_conv2d(x, w, stride, (1, 1)), x, w)


def _count_kernel_calls(monkeypatch):
    """The depthwise kernels the convolution Functions look up, in order."""
    called = []
    real = conv_function.kernel

    def counting(op):
        if op.startswith("depthwise_conv2d"):
            called.append(op)
        return real(op)

    monkeypatch.setattr(conv_function, "kernel", counting)
    return called


def test_conv2d_sends_groups_equal_channels_to_depthwise(backend, rng, monkeypatch):
    called = _count_kernel_calls(monkeypatch)
    x = Tensor(rng.standard_normal((2, 4, 6, 6)), requires_grad=True)
    w = Tensor(rng.standard_normal((8, 1, 3, 3)), requires_grad=True)
    conv2d(x, w, (1, 1), (1, 1), (1, 1), 4).sum().backward()
    assert called == list(OPS[:1]) + ["depthwise_conv2d_grad_input",
                                      "depthwise_conv2d_grad_filter"]
    called.clear()
    conv2d(x, w, (1, 1), (2, 2), (2, 2), 4)          # dilation: the im2col path
    conv2d(x, Tensor(rng.standard_normal((4, 2, 3, 3))), groups=2)   # two channels a group
    assert called == []


# --- layers -------------------------------------------------------------------------------

def _image(name="pixel", channels=4, height=8, width=8):
    return paddle.layer.data(name, paddle.data_type.dense_vector(channels * height * width),
                             height=height, width=width)


def test_img_depthwise_conv_names_params_and_geometry():
    dw = paddle.layer.img_depthwise_conv(input=_image(), filter_size=3, num_filters=8, stride=2,
                                         padding=1)
    assert dw.name == "__depthwise_conv_0__" and dw.type == "depthwise_conv"
    assert dw.depth_multiplier == 2 and dw.groups == 4
    weight, bias = dw.params
    assert weight.name == "___depthwise_conv_0__.w0" and weight.compute_shape == (8, 1, 3, 3)
    assert weight.shape == (1, 8 * 9) and bias.shape == (8, 1)
    assert weight.default_std == pytest.approx(math.sqrt(2.0 / (3 * 3 * 4)))   # Paddle's
    assert dw.image_shape == (8, 4, 4)
    no_bias = paddle.layer.img_depthwise_conv(input=dw, filter_size=5, num_filters=8,
                                              padding=2, bias_attr=False, act=Linear())
    assert [p.name for p in no_bias.params] == ["___depthwise_conv_1__.w0"]


@pytest.mark.parametrize("num_filters", [6, 0, 2.0, True])
def test_img_depthwise_conv_rejects_non_multiples(num_filters):
    with pytest.raises(ValueError, match=f"layer dw: num_filters={num_filters!r} must be a "
                                         "positive multiple of the 4 input channels"):
        paddle.layer.img_depthwise_conv(input=_image(), filter_size=3, num_filters=num_filters,
                                        name="dw")


def test_img_depthwise_conv_needs_channels_of_a_plain_vector():
    flat = paddle.layer.data("flat", paddle.data_type.dense_vector(3 * 5 * 5))
    with pytest.raises(ValueError, match="layer dw: cannot infer num_channels"):
        paddle.layer.img_depthwise_conv(input=flat, filter_size=3, num_filters=3, name="dw")
    dw = paddle.layer.img_depthwise_conv(input=flat, filter_size=3, num_filters=6,
                                         num_channels=3)
    assert dw.image_shape == (6, 3, 3)


def _run_layer(layer, params, x, xp):
    tensors = {name: Tensor(xp.asarray(v), requires_grad=True) for name, v in params.items()}
    y = Network(layer).forward({"pixel": xp.asarray(x)}, RunContext(tensors))[layer.name]
    y.backward(xp.ones(y.shape, dtype=y.dtype))
    return as_numpy(y.data), {name: as_numpy(t.grad) for name, t in tensors.items()}


def test_img_conv_groups_c_and_img_depthwise_conv_agree(backend, xp, rng, monkeypatch):
    """Paddle's scripts' ``img_conv(groups=C, layer_type='exconv')`` and the design's layer:
    same parameters, same kernels, same values and gradients."""
    called = _count_kernel_calls(monkeypatch)
    image = _image(channels=3, height=7, width=6)
    conv = paddle.layer.img_conv(input=image, filter_size=3, num_filters=6, groups=3,
                                 stride=2, padding=1, layer_type="exconv", act=Linear(),
                                 param_attr=ParamAttr(name="w"), bias_attr=ParamAttr(name="b"))
    dw = paddle.layer.img_depthwise_conv(input=image, filter_size=3, num_filters=6, stride=2,
                                         padding=1, act=Linear(), param_attr=ParamAttr(name="w"),
                                         bias_attr=ParamAttr(name="b"))
    assert [p.compute_shape for p in conv.params] == [p.compute_shape for p in dw.params]
    params = {"w": rng.standard_normal((6, 1, 3, 3)).astype(np.float32),
              "b": rng.standard_normal((1, 6, 1, 1)).astype(np.float32)}
    x = rng.standard_normal((2, 3 * 7 * 6)).astype(np.float32)
    y_conv, g_conv = _run_layer(conv, params, x, xp)
    y_dw, g_dw = _run_layer(dw, params, x, xp)
    assert called.count("depthwise_conv2d_forward") == 2
    np.testing.assert_array_equal(y_conv, y_dw)
    want = naive_depthwise(x.reshape(2, 3, 7, 6), params["w"], (2, 2), (1, 1)) + params["b"]
    np.testing.assert_allclose(y_dw, want, rtol=1e-4, atol=1e-4)
    for name in params:
        np.testing.assert_array_equal(g_conv[name], g_dw[name])


def test_img_separable_conv_is_paddles():
    sep = paddle.networks.img_separable_conv(input=_image(), num_channels=4, num_out_channels=10,
                                             filter_size=3, stride=2, padding=1,
                                             depth_multiplier=2, bias_attr=False)
    depthwise = sep.inputs[0]
    assert sep.name == "__separable_conv_0___pointwise_conv"
    assert depthwise.name == "__separable_conv_0___depthwise_conv"
    assert depthwise.groups == 4 and depthwise.params[0].compute_shape == (8, 1, 3, 3)
    assert isinstance(depthwise.act, Linear) and sep.act.__class__.__name__ == "Relu"
    assert sep.params[0].compute_shape == (10, 8, 1, 1) and len(sep.params) == 1
    assert sep.image_shape == (10, 4, 4)
    named = paddle.networks.img_separable_conv(input=_image("other"), num_channels=4,
                                               num_out_channels=4, filter_size=3, padding=1,
                                               act=Linear(), name="sep")
    assert named.name == "sep_pointwise_conv" and named.inputs[0].name == "sep_depthwise_conv"
    assert [p.name for p in named.inputs[0].params] == ["_sep_depthwise_conv.w0",
                                                        "_sep_depthwise_conv.wbias"]


@pytest.mark.skipif("cpu" not in BACKENDS_PRESENT, reason="Numba is not installed")
@pytest.mark.parametrize("batch, stride, padding", [(1, (1, 1), (1, 1)), (1, (2, 2), (1, 1)),
                                                    (8, (1, 1), (1, 1))])
def test_numba_forward_calls_are_worked_out_once_per_geometry_and_thread_count(
        rng, batch, stride, padding):
    """Each path's kernel call (the "same"-padding one, the phase grid, eight images per
    vector) is kept per geometry, and a new thread count gets chunks of its own: the
    results stay those of naive loops."""
    import numba
    from minidl.backends.numba_cpu import depthwise as numba_depthwise
    x = rng.standard_normal((batch, 6, 9, 8)).astype(np.float32)
    w = rng.standard_normal((6, 1, 3, 3)).astype(np.float32)
    forward = get_kernel(OPS[0], "cpu")
    want = naive_depthwise(x.astype(np.float64), w.astype(np.float64), stride, padding)
    threads = numba.get_num_threads()
    calls = []
    try:
        for count in (threads, 1, threads):
            numba.set_num_threads(count)
            np.testing.assert_allclose(forward(x, w, stride, padding), want, rtol=1e-5,
                                       atol=1e-5)
            calls.append(numba_depthwise._forward_call(
                x.shape, w.shape, stride, padding, x.dtype, count,
                numba_depthwise.STACK_VALUES, numba_depthwise.loops.CHUNKS_PER_THREAD)[1])
    finally:
        numba.set_num_threads(threads)
    assert calls[0] is calls[2]                        # kept, not worked out again
    chunks = [call[-1][-1] for call in calls]           # the prange's chunks: the last argument
    assert chunks[1] <= numba_depthwise.loops.CHUNKS_PER_THREAD and chunks[0] >= chunks[1]
    if threads > 1:
        assert calls[1] is not calls[0]
