"""2-D pooling: kernels against naive loops, Paddle's geometry rules, gradients, ``img_pool``."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minidl as paddle
from minidl.backends import get_kernel
from minidl.core import Tensor, as_numpy
from minidl.core.gradcheck import check_directional, check_elementwise
from minidl.functions.pool import pool2d, pool_output_size
from minidl.layers.graph import Network, RunContext
from minidl.layers.pooling_types import Avg, CudnnAvg, CudnnMax, Max, SquareRootN, Sum

fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


# --- oracle: one window at a time, only the cells inside the image --------------------

def _windows(shape, window, stride, padding, ceil_mode):
    """Yield ``(oh, ow, rows, cols)``: each output pixel and the image cells its window holds."""
    h, w = shape[2:]
    oh_n = pool_output_size(h, window[0], stride[0], padding[0], ceil_mode)
    ow_n = pool_output_size(w, window[1], stride[1], padding[1], ceil_mode)
    for oh in range(oh_n):
        top = oh * stride[0] - padding[0]
        rows = slice(max(top, 0), max(min(top + window[0], h), 0))
        for ow in range(ow_n):
            left = ow * stride[1] - padding[1]
            yield oh, ow, rows, slice(max(left, 0), max(min(left + window[1], w), 0))


def _out_shape(shape, window, stride, padding, ceil_mode):
    return shape[:2] + tuple(pool_output_size(s, k, st_, p, ceil_mode) for s, k, st_, p in
                             zip(shape[2:], window, stride, padding))


def naive_pool(x, kind, window, stride, padding, exclude_mode, ceil_mode):
    y = np.zeros(_out_shape(x.shape, window, stride, padding, ceil_mode))
    for oh, ow, rows, cols in _windows(x.shape, window, stride, padding, ceil_mode):
        cells = x[:, :, rows, cols]
        if cells.size == 0:
            continue  # a window with no cell in the image gives 0
        if kind == "max":
            y[:, :, oh, ow] = cells.max(axis=(2, 3))
        else:
            divisor = cells.shape[2] * cells.shape[3] if exclude_mode else window[0] * window[1]
            y[:, :, oh, ow] = cells.sum(axis=(2, 3)) / divisor
    return y


def naive_pool_grad(x, gy, kind, window, stride, padding, exclude_mode, ceil_mode):
    gx = np.zeros_like(x)
    for oh, ow, rows, cols in _windows(x.shape, window, stride, padding, ceil_mode):
        cells = x[:, :, rows, cols]
        if cells.size == 0:
            continue
        if kind == "avg":
            divisor = cells.shape[2] * cells.shape[3] if exclude_mode else window[0] * window[1]
            gx[:, :, rows, cols] += gy[:, :, oh, ow, None, None] / divisor
            continue
        for n in range(x.shape[0]):
            for c in range(x.shape[1]):
                r, q = np.unravel_index(np.argmax(cells[n, c]), cells.shape[2:])
                gx[n, c, rows.start + r, cols.start + q] += gy[n, c, oh, ow]
    return gx


@st.composite
def pool_cases(draw):
    window = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    ceil_mode = draw(st.booleans())
    h = draw(st.integers(max(1, window[0] - 2 * padding[0]), 9))
    w = draw(st.integers(max(1, window[1] - 2 * padding[1]), 9))
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    x = np.random.default_rng(draw(st.integers(0, 2**16))).standard_normal((n, c, h, w))
    return x, draw(st.sampled_from(["max", "avg"])), window, stride, padding, \
        draw(st.booleans()), ceil_mode


def _geometry(case):
    return case[1:]


@fixture_ok
@given(case=pool_cases())
def test_forward_matches_naive_loops(backend, xp, case):
    x, kind, window, stride, padding, exclude_mode, ceil_mode = case
    got = get_kernel("pool2d_forward")(xp.asarray(x), kind, window, stride, padding,
                                       exclude_mode, ceil_mode)
    want = naive_pool(x, kind, window, stride, padding, exclude_mode, ceil_mode)
    np.testing.assert_allclose(as_numpy(got), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("h, w, ceil_mode", [(4, 6, True), (5, 7, True), (5, 7, False),
                                             (2, 2, True), (1, 3, True), (32, 32, True)])
def test_two_by_two_max_pool_of_even_and_odd_planes(backend, xp, rng, h, w, ceil_mode):
    """2x2 windows, stride 2: the cpu backend's written-out kernel when every window is
    inside the image (even sizes, or odd ones in floor mode), the general loop else."""
    x = rng.standard_normal((2, 3, h, w)).astype(np.float32)
    got = get_kernel("pool2d_forward")(xp.asarray(x), "max", (2, 2), (2, 2), (0, 0), True,
                                       ceil_mode)
    want = naive_pool(x, "max", (2, 2), (2, 2), (0, 0), True, ceil_mode)
    np.testing.assert_array_equal(as_numpy(got), want)


@pytest.mark.parametrize("window, stride", [((2, 2), (2, 2)), ((3, 3), (2, 2))])
def test_a_nan_in_a_max_window_gives_nan_as_in_the_reference(backend, xp, rng, window, stride):
    x = rng.standard_normal((1, 2, 6, 6)).astype(np.float32)
    x[0, 1, 2, 3] = np.nan
    got = as_numpy(get_kernel("pool2d_forward")(xp.asarray(x), "max", window, stride, (0, 0)))
    want = naive_pool(x.astype(np.float64), "max", window, stride, (0, 0), True, True)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    assert np.isnan(got).any()


def _grad(xp, x, gy, kind, window, stride, padding, exclude_mode, ceil_mode):
    if kind == "max":
        return get_kernel("max_pool2d_grad_input")(xp.asarray(x), xp.asarray(gy), window, stride,
                                                   padding, ceil_mode)
    return get_kernel("avg_pool2d_grad_input")(xp.asarray(gy), x.shape, window, stride, padding,
                                               exclude_mode, ceil_mode)


# --- the cpu backend's gradient kernels (numba_cpu/pool_grad.py) against the reference ---

#: values that make ties, -inf-only windows and NaN common
_AWKWARD = st.sampled_from([-math.inf, -1.0, 0.0, 0.0, 1.0, 2.0, math.nan])


@given(case=pool_cases(), data=st.data(), seed=st.integers(0, 2**16))
def test_cpu_max_gradient_matches_the_reference_on_ties_infinities_and_nan(case, data, seed):
    """Which cell gets each window's gradient, exactly as the reference decides it."""
    from minidl.backends.numba_cpu import pool_grad
    from minidl.backends.numpy_ref import pool as reference

    x, _, window, stride, padding, _, ceil_mode = case
    x = np.array(data.draw(st.lists(_AWKWARD, min_size=x.size, max_size=x.size)),
                 dtype=data.draw(st.sampled_from([np.float32, np.float64]))).reshape(x.shape)
    gy = np.random.default_rng(seed).standard_normal(
        _out_shape(x.shape, window, stride, padding, ceil_mode)).astype(x.dtype)
    got = pool_grad.max_pool2d_grad_input(x, gy, window, stride, padding, ceil_mode)
    want = reference.max_pool2d_grad_input(x, gy, window, stride, padding, ceil_mode)
    assert got.dtype == want.dtype
    # a cell that several windows route to sums their gradients, in another order than
    # the reference's: rounding of a few additions (a misrouted gradient is off by ~|gy|)
    np.testing.assert_allclose(got, want, rtol=1e-6,
                               atol=16 * np.finfo(x.dtype).eps * float(np.abs(gy).max()))


@given(n=st.integers(1, 3), c=st.integers(1, 3), h=st.integers(2, 9), w=st.integers(2, 9),
       ceil_mode=st.booleans(), ties=st.booleans(), seed=st.integers(0, 2**16))
def test_cpu_two_by_two_gradients_match_the_reference(n, c, h, w, ceil_mode, ties, seed):
    """2x2 windows at stride 2: the written-out max kernel (every window inside the image)
    or the general loop (ceil-mode overhang), and the average's gradient."""
    from minidl.backends.numba_cpu import pool_grad
    from minidl.backends.numpy_ref import pool as reference

    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, (n, c, h, w)) if ties else rng.standard_normal((n, c, h, w))
    x = x.astype(np.float32)
    geometry = ((2, 2), (2, 2), (0, 0))
    gy = rng.standard_normal(_out_shape(x.shape, *geometry, ceil_mode)).astype(np.float32)
    np.testing.assert_array_equal(
        pool_grad.max_pool2d_grad_input(x, gy, *geometry, ceil_mode),
        reference.max_pool2d_grad_input(x, gy, *geometry, ceil_mode))
    for exclude_mode in (True, False):
        np.testing.assert_allclose(
            pool_grad.avg_pool2d_grad_input(gy, x.shape, *geometry, exclude_mode, ceil_mode),
            reference.avg_pool2d_grad_input(gy, x.shape, *geometry, exclude_mode, ceil_mode),
            rtol=1e-6, atol=1e-7)


@fixture_ok
@given(case=pool_cases(), seed=st.integers(0, 2**16))
def test_gradient_matches_naive_loops(backend, xp, case, seed):
    x, kind, window, stride, padding, exclude_mode, ceil_mode = case
    gy = np.random.default_rng(seed).standard_normal(
        _out_shape(x.shape, window, stride, padding, ceil_mode))
    got = _grad(xp, x, gy, *_geometry(case))
    want = naive_pool_grad(x, gy, *_geometry(case))
    np.testing.assert_allclose(as_numpy(got), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_float32_stays_float32(backend, xp, rng, kind):
    x = rng.standard_normal((2, 3, 7, 7)).astype(np.float32)
    args = (kind, (3, 3), (2, 2), (1, 1), True, True)
    y = get_kernel("pool2d_forward")(xp.asarray(x), *args)
    gx = _grad(xp, x, as_numpy(y), *args)
    assert y.dtype == np.float32 and gx.dtype == np.float32 and gx.shape == x.shape


def test_padding_never_wins_a_max(backend, xp, rng):
    x = -1.0 - rng.random((1, 2, 5, 5))                  # every value below the zero padding
    y = as_numpy(get_kernel("pool2d_forward")(xp.asarray(x), "max", (3, 3), (2, 2), (1, 1)))
    assert y.shape == (1, 2, 3, 3) and np.all(y < -1.0)
    np.testing.assert_array_equal(y[:, :, 0, 0], x[:, :, :2, :2].max(axis=(2, 3)))


def test_max_ties_send_the_gradient_to_the_first_cell_only(backend, xp):
    # Ties are common after a ReLU. Paddle's CPU kernel gave the full gradient to every tied
    # cell; minidl gives it to the first one in row-major window order, as cuDNN and
    # PyTorch do, so the input gradient stays the true gradient of one linear piece.
    x, gy = np.zeros((1, 1, 4, 6)), np.arange(1.0, 7.0).reshape(1, 1, 2, 3)
    gx = as_numpy(_grad(xp, x, gy, "max", (2, 2), (2, 2), (0, 0), True, True))
    want = np.zeros_like(x)
    want[0, 0, ::2, ::2] = gy[0, 0]
    np.testing.assert_array_equal(gx, want)


def test_windows_entirely_outside_the_image_give_zero(backend, xp, rng):
    # 4 rows, window 1, stride 2, padding 1, ceil: windows start at rows -1, 1, 3, 5
    x = rng.standard_normal((1, 1, 4, 4))
    for kind in ("max", "avg"):
        y = as_numpy(get_kernel("pool2d_forward")(xp.asarray(x), kind, (1, 1), (2, 2), (1, 1)))
        assert y.shape == (1, 1, 4, 4) and np.all(np.isfinite(y))
        assert np.all(y[0, 0, [0, 3], :] == 0) and np.all(y[0, 0, :, [0, 3]] == 0)
        np.testing.assert_array_equal(y[0, 0, 1:3, 1:3], x[0, 0, 1::2, 1::2])
        gx = as_numpy(_grad(xp, x, np.ones(y.shape), kind, (1, 1), (2, 2), (1, 1), True, True))
        assert gx.sum() == 4                              # only the 4 windows with a cell


def test_exclude_mode_decides_what_an_average_divides_by(backend, xp):
    x = np.ones((1, 1, 3, 3))
    kernel = get_kernel("pool2d_forward")
    corner_in = as_numpy(kernel(xp.asarray(x), "avg", (3, 3), (1, 1), (1, 1), True))
    corner_out = as_numpy(kernel(xp.asarray(x), "avg", (3, 3), (1, 1), (1, 1), False))
    np.testing.assert_allclose(corner_in, np.ones((1, 1, 3, 3)))          # only image cells
    np.testing.assert_allclose(corner_out[0, 0, 0, 0], 4 / 9)             # padding counts
    np.testing.assert_allclose(corner_out[0, 0, 1, 1], 1.0)


def test_output_size_ceil_and_floor():
    assert pool_output_size(32, 2, 2, 0) == 16
    assert pool_output_size(7, 3, 2, 0) == 3 and pool_output_size(7, 3, 2, 0, False) == 3
    assert pool_output_size(8, 3, 2, 0) == 4 and pool_output_size(8, 3, 2, 0, False) == 3
    assert pool_output_size(5, 2, 2, 1) == 4 and pool_output_size(5, 2, 2, 1, False) == 3


@given(size=st.integers(1, 40), window=st.integers(1, 6), stride=st.integers(1, 4),
       padding=st.integers(0, 3), ceil_mode=st.booleans())
def test_output_size_formula(size, window, stride, padding, ceil_mode):
    span = (size + 2 * padding - window) / stride
    want = 1 + (math.ceil(span) if ceil_mode else math.floor(span))
    assert pool_output_size(size, window, stride, padding, ceil_mode) == want


# --- the autograd Function: finite differences in float64 ------------------------------

@pytest.mark.parametrize("kind, exclude_mode", [("max", True), ("avg", True), ("avg", False)])
def test_pool_directional_derivative(backend, rng, kind, exclude_mode):
    x = rng.standard_normal((2, 3, 7, 6))
    check_directional(lambda t: pool2d(t, kind, (3, 2), (2, 2), (1, 1), exclude_mode), x)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_two_by_two_pool_directional_derivative(backend, rng, kind):
    """VGG's 2x2 windows at stride 2 (the cpu backend's written-out gradient kernels)."""
    x = rng.standard_normal((2, 3, 8, 6))
    check_directional(lambda t: pool2d(t, kind, (2, 2), (2, 2), (0, 0), True), x)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool_every_gradient_entry(backend, rng, kind):
    x = rng.standard_normal((1, 2, 5, 4))
    check_elementwise(lambda t: pool2d(t, kind, (2, 3), (2, 1), (1, 0), True), x)


def test_max_pool_keeps_its_input_and_avg_does_not(backend, rng):
    x = Tensor(rng.standard_normal((1, 1, 4, 4)), requires_grad=True)
    y_max, y_avg = pool2d(x, "max", (2, 2), (2, 2)), pool2d(x, "avg", (2, 2), (2, 2))
    assert len(y_max.creator.saved) == 1 and y_avg.creator.saved == ()


# --- the img_pool layer ---------------------------------------------------------------

def _image(channels=3, height=8, width=8, name="pixel"):
    return paddle.layer.data(name, paddle.data_type.dense_vector(channels * height * width),
                             height=height, width=width)


def test_names_geometry_and_defaults():
    pool = paddle.layer.img_pool(input=_image(height=7, width=8), pool_size=3, stride=2)
    assert pool.name == "__pool_0__" and pool.type == "pool" and pool.params == []
    assert pool.kind == "max" and pool.exclude_mode is True and pool.act is None
    assert pool.image_shape == (3, 3, 4) and pool.size == 3 * 3 * 4    # ceil by default
    floor = paddle.layer.img_pool(input=_image(height=7, width=8), pool_size=3, stride=2,
                                  ceil_mode=False)
    assert floor.name == "__pool_1__" and floor.image_shape == (3, 3, 3)


def test_y_arguments_and_pool_types():
    pool = paddle.layer.img_pool(input=_image(height=9, width=8), pool_size=2, pool_size_y=3,
                                 stride=2, stride_y=3, padding=1, padding_y=0,
                                 pool_type=Avg(), exclude_mode=False)
    assert pool.window == (3, 2) and pool.stride == (3, 2) and pool.padding == (0, 1)
    assert pool.image_shape == (3, 3, 5) and pool.kind == "avg" and pool.exclude_mode is False
    for pool_type, kind in ((CudnnMax(), "max"), (CudnnAvg(), "avg"), (Max, "max")):
        assert paddle.layer.img_pool(input=_image(), pool_size=2,
                                     pool_type=pool_type).kind == kind


@pytest.mark.parametrize("kwargs, message", [
    (dict(pool_type=Sum()), "pool_type=Sum\\(\\) is not an image pooling"),
    (dict(pool_type=SquareRootN()), "pool_type=SquareRootN\\(\\) is not an image pooling"),
    (dict(pool_size=20), "output would be -11x-11"),
    (dict(stride=0), "stride=\\(0, 0\\) \\(height, width\\) must be >= 1"),
    (dict(num_channels=4), "num_channels=4 but input pixel has 3 channels"),
])
def test_construction_errors_name_the_layer(kwargs, message):
    args = dict(input=_image(), pool_size=2, name="p1")
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"layer p1: {message}"):
        paddle.layer.img_pool(**args)


def test_missing_num_channels_is_an_error():
    flat = paddle.layer.data("flat", paddle.data_type.dense_vector(2 * 4 * 4))
    with pytest.raises(ValueError, match="layer __pool_0__: cannot infer num_channels"):
        paddle.layer.img_pool(input=flat, pool_size=2)
    assert paddle.layer.img_pool(input=flat, pool_size=2, stride=2,
                                 num_channels=2).image_shape == (2, 2, 2)


@pytest.mark.parametrize("pool_type", [Max(), Avg()])
def test_layer_forward_and_backward_through_a_network(backend, xp, rng, pool_type):
    pool = paddle.layer.img_pool(input=_image(channels=2, height=5, width=6), pool_size=2,
                                 stride=2, padding=1, pool_type=pool_type)
    x = rng.standard_normal((3, 60)).astype(np.float32)
    y = Network(pool).forward({"pixel": xp.asarray(x)}, RunContext({}))[pool.name]
    assert y.shape == (3,) + pool.image_shape and y.dtype == np.float32
    want = naive_pool(x.reshape(3, 2, 5, 6).astype(np.float64), pool.kind, (2, 2), (2, 2),
                      (1, 1), True, True)
    np.testing.assert_allclose(as_numpy(y.data), want, rtol=1e-6, atol=1e-6)
