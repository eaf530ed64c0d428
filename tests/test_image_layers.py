"""Parameterless image layers: pad, rotate, bilinear_interp, maxout, spp and roi_pool.
Reference kernels against naive loops over every output cell (hypothesis-drawn shapes),
float64 gradient checks through the layers, output sizes and geometry as v2 computes them,
default names, and the construction-time errors."""

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl as paddle
from minidl.backends import kernel
from minidl.functions.region_pool import spp_level

from conftest import to_numpy
from sequence_helpers import check_layer_gradients, run_layer

L = paddle.layer
dense = paddle.data_type.dense_vector


def image(name, c, h, w):
    return L.data(name=name, type=dense(c * h * w), height=h, width=w)


# ---- naive definitions: one output cell at a time -----------------------------------------

def naive_pad(x, pc, ph, pw):
    n, c, h, w = x.shape
    y = np.zeros((n, c + sum(pc), h + sum(ph), w + sum(pw)))
    for idx in np.ndindex(x.shape):
        b, k, i, j = idx
        y[b, k + pc[0], i + ph[0], j + pw[0]] = x[idx]
    return y


def naive_rotate(x):
    n, c, h, w = x.shape
    y = np.zeros((n, c, w, h))
    for b, k, j, i in np.ndindex(y.shape):
        y[b, k, j, i] = x[b, k, h - 1 - i, j]
    return y


def naive_bilinear(x, oh, ow):
    n, c, h, w = x.shape
    rh = (h - 1) / (oh - 1) if oh > 1 else 0.0
    rw = (w - 1) / (ow - 1) if ow > 1 else 0.0
    y = np.zeros((n, c, oh, ow))
    for b, k, i, j in np.ndindex(y.shape):
        ph, pw = rh * i, rw * j
        h0, w0 = int(ph), int(pw)
        h1, w1 = min(h0 + 1, h - 1), min(w0 + 1, w - 1)
        fh, fw = ph - h0, pw - w0
        y[b, k, i, j] = ((1 - fh) * ((1 - fw) * x[b, k, h0, w0] + fw * x[b, k, h0, w1])
                         + fh * ((1 - fw) * x[b, k, h1, w0] + fw * x[b, k, h1, w1]))
    return y


def naive_maxout(x, groups):
    n, c, h, w = x.shape
    y = np.zeros((n, c // groups, h, w))
    for b, o, i, j in np.ndindex(y.shape):
        y[b, o, i, j] = max(x[b, o * groups + k, i, j] for k in range(groups))
    return y


def naive_window_pool(x, kind, window, stride, padding, out_hw):
    """Pool windows, counting only the cells inside the image."""
    n, c, h, w = x.shape
    y = np.zeros((n, c) + tuple(out_hw))
    for b, k, i, j in np.ndindex(y.shape):
        cells = [x[b, k, r, q]
                 for r in range(i * stride[0] - padding[0], i * stride[0] - padding[0] + window[0])
                 for q in range(j * stride[1] - padding[1], j * stride[1] - padding[1] + window[1])
                 if 0 <= r < h and 0 <= q < w]
        y[b, k, i, j] = max(cells) if kind == "max" else sum(cells) / len(cells)
    return y


def naive_spp(x, kind, levels):
    """Level l: ``2^l`` windows a side, ``ceil(size / 2^l)`` wide, padded evenly."""
    n, c, h, w = x.shape
    parts = []
    for level in range(levels):
        bins = 2 ** level
        window = (math.ceil(h / bins), math.ceil(w / bins))
        padding = ((window[0] * bins - h + 1) // 2, (window[1] * bins - w + 1) // 2)
        parts.append(naive_window_pool(x, kind, window, window, padding, (bins, bins))
                     .reshape(n, -1))
    return np.concatenate(parts, axis=1)


def naive_roi_pool(x, rois, ph, pw, scale):
    n, c, h, w = x.shape
    y = np.zeros((len(rois), c, ph, pw))
    for r, roi in enumerate(rois):
        b = int(roi[0])
        # C's round: halves away from zero (Decimal's ROUND_HALF_UP)
        x1, y1, x2, y2 = (int(Decimal(float(v * scale)).quantize(Decimal(1), ROUND_HALF_UP))
                          for v in roi[1:5])
        rh, rw = max(y2 - y1 + 1, 1), max(x2 - x1 + 1, 1)
        for k, i, j in np.ndindex(c, ph, pw):
            h0 = min(max(y1 + math.floor(i * rh / ph), 0), h)
            h1 = min(max(y1 + math.ceil((i + 1) * rh / ph), 0), h)
            w0 = min(max(x1 + math.floor(j * rw / pw), 0), w)
            w1 = min(max(x1 + math.ceil((j + 1) * rw / pw), 0), w)
            cells = [x[b, k, p, q] for p in range(h0, h1) for q in range(w0, w1)]
            y[r, k, i, j] = max(cells) if cells else 0.0
    return y


# ---- kernels against the naive loops ---------------------------------------------------------

small = st.integers(1, 4)


@settings(max_examples=25)
@given(st.tuples(small, small, small, small), st.tuples(small, small), st.tuples(small, small),
       st.tuples(small, small), st.integers(0, 2 ** 31 - 1))
def test_pad_and_rotate_kernels(shape, pc, ph, pw, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    pads = (tuple(v - 1 for v in pc), tuple(v - 1 for v in ph), tuple(v - 1 for v in pw))
    np.testing.assert_array_equal(kernel("image_pad_forward")(x, *pads), naive_pad(x, *pads))
    np.testing.assert_array_equal(kernel("image_rotate_forward")(x), naive_rotate(x))
    # four quarter turns give the image back; the backward is the turn undone
    y = x
    for _ in range(4):
        y = kernel("image_rotate_forward")(y)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(kernel("image_rotate_backward")(
        kernel("image_rotate_forward")(x)), x)


@settings(max_examples=25)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 7), st.integers(1, 7),
       st.integers(0, 2 ** 31 - 1))
def test_bilinear_kernel(h, w, oh, ow, seed):
    x = np.random.default_rng(seed).standard_normal((2, 3, h, w))
    y = kernel("bilinear_interp_forward")(x, (oh, ow))
    np.testing.assert_allclose(y, naive_bilinear(x, oh, ow), rtol=1e-12, atol=1e-12)


def test_bilinear_keeps_corners_and_linear_ramps():
    """Corners align, and a linear ramp stays exactly linear at any size."""
    ramp = np.add.outer(2.0 * np.arange(3), 5.0 * np.arange(4))[None, None]   # 2h + 5w
    y = kernel("bilinear_interp_forward")(ramp, (5, 7))
    expected = np.add.outer(2.0 * np.linspace(0, 2, 5), 5.0 * np.linspace(0, 3, 7))
    np.testing.assert_allclose(y[0, 0], expected, rtol=1e-12)
    same = kernel("bilinear_interp_forward")(ramp, (3, 4))
    np.testing.assert_allclose(same, ramp, rtol=1e-12)


@settings(max_examples=25)
@given(st.integers(1, 3), st.sampled_from([2, 3, 4]), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 2 ** 31 - 1))
def test_maxout_kernel(out_channels, groups, h, w, seed):
    x = np.random.default_rng(seed).standard_normal((2, out_channels * groups, h, w))
    np.testing.assert_array_equal(kernel("maxout_forward")(x, groups), naive_maxout(x, groups))


def test_maxout_gradient_goes_to_the_first_maximum():
    x = np.array([[[[1.0]], [[3.0]], [[3.0]], [[-1.0]]]])      # one group of 4, tie at 1, 2
    gx = kernel("maxout_backward")(x, np.array([[[[5.0]]]]), 4)
    np.testing.assert_array_equal(gx.ravel(), [0.0, 5.0, 0.0, 0.0])


@settings(max_examples=20)
@given(st.integers(4, 9), st.integers(4, 9), st.sampled_from(["max", "avg"]),
       st.integers(0, 2 ** 31 - 1))
def test_spp_against_naive_pyramid(h, w, kind, seed):
    from minidl.core import Tensor
    from minidl.functions.region_pool import spp
    x = np.random.default_rng(seed).standard_normal((2, 3, h, w))
    levels = 2 if min(h, w) < 8 else 3
    if any(spp_level((h, w), level)[3] != (2 ** level,) * 2 for level in range(levels)):
        return   # a size the layer refuses (tested below)
    y = spp(Tensor(x), kind, levels).data
    np.testing.assert_allclose(y, naive_spp(x, kind, levels), rtol=1e-12)


def test_roi_pool_kernel_against_loops(rng):
    x = rng.standard_normal((2, 3, 6, 7))
    rois = np.array([[0, 0, 0, 6, 5, 9.0],       # the whole map (a sixth column is ignored)
                     [1, 2.4, 1.6, 4.5, 3.5, 0],  # rounding: 2, 2, 5 (away from zero), 4
                     [1, 5, 4, 2, 1, 0],          # end before start: one cell
                     [0, -3, -3, 1, 1, 0],        # partly outside the map
                     [1, 20, 20, 30, 30, 0]])     # wholly outside: empty bins give 0
    for scale, (ph, pw) in ((1.0, (2, 3)), (0.5, (3, 2)), (1.0, (4, 4))):
        y = kernel("roi_pool_forward")(x, rois[:, :5] if pw == 2 else rois, (ph, pw), scale)
        np.testing.assert_allclose(y, naive_roi_pool(x, rois, ph, pw, scale), rtol=1e-12)


def test_roi_pool_refuses_a_box_naming_a_missing_image(rng):
    with pytest.raises(ValueError, match=r"box 0 names image 2;.*\[0, 2\)"):
        kernel("roi_pool_forward")(rng.standard_normal((2, 1, 3, 3)),
                                   np.array([[2.0, 0, 0, 1, 1]]), (1, 1), 1.0)


# ---- layers: sizes, geometry, values, gradients -------------------------------------------

def test_pad_layer_size_values_and_gradient(rng):
    x = image("x", 2, 3, 4)
    y = L.pad(input=x, pad_c=[1, 2], pad_h=[0, 1], pad_w=[2, 0])
    assert y.name == "__pad_0__" and y.type == "pad"
    assert y.image_shape == (5, 4, 6) and y.size == 5 * 4 * 6
    assert L.pad(input=x).image_shape == (2, 3, 4)      # no padding by default
    values = rng.standard_normal((3, 24))
    out = to_numpy(run_layer(y, [(values, None)]).data)
    np.testing.assert_array_equal(out, naive_pad(values.reshape(3, 2, 3, 4), (1, 2), (0, 1),
                                                 (2, 0)).reshape(3, -1))
    check_layer_gradients(y, [(values, None)])


def test_rotate_layer(rng):
    x = L.data(name="x", type=dense(2 * 3 * 5))
    y = L.rotate(input=x, height=3, width=5)
    assert y.name == "__rotate_layer_0__" and y.size == 30 and y.image_shape == (2, 5, 3)
    values = rng.standard_normal((2, 30))
    out = to_numpy(run_layer(y, [(values, None)]).data)
    np.testing.assert_array_equal(out, naive_rotate(values.reshape(2, 2, 3, 5)).reshape(2, -1))
    check_layer_gradients(y, [(values, None)])


def test_bilinear_interp_layer(rng):
    conv = L.img_conv(input=image("x", 1, 4, 4), filter_size=3, num_filters=2, padding=1,
                      act=paddle.activation.Linear())
    y = L.bilinear_interp(input=conv, out_size_x=6, out_size_y=5)
    assert y.name == "__bilinear_interp_layer_0__"
    assert y.image_shape == (2, 5, 6) and y.size == 60
    values = rng.standard_normal((2, 32))
    out = to_numpy(run_layer(y, [(values, None)]).data)
    np.testing.assert_allclose(out, naive_bilinear(values.reshape(2, 2, 4, 4), 5, 6)
                               .reshape(2, -1), rtol=1e-12)
    check_layer_gradients(y, [(values, None)])


def test_maxout_layer(rng):
    conv = L.img_conv(input=image("x", 1, 3, 3), filter_size=1, num_filters=6,
                      act=paddle.activation.Linear())
    y = L.maxout(input=conv, groups=3)
    assert y.name == "__maxout_layer_0__" and y.image_shape == (2, 3, 3) and y.size == 18
    values = rng.standard_normal((2, 54))
    out = to_numpy(run_layer(y, [(values, None)]).data)
    np.testing.assert_array_equal(out, naive_maxout(values.reshape(2, 6, 3, 3), 3).reshape(2, -1))
    check_layer_gradients(y, [(values, None)])
    assert L.maxout(input=image("z", 4, 2, 2), groups=2).size == 8   # a data layer: no act


@pytest.mark.parametrize("levels,pool", [(1, None), (2, paddle.pooling.Avg()),
                                         (3, paddle.pooling.Max())])
def test_spp_layer(rng, levels, pool):
    x = image("x", 3, 8, 9)
    y = L.spp(input=x, pyramid_height=levels, pool_type=pool)
    width = (4 ** levels - 1) // 3
    assert y.name == "__spp_0__" and y.size == 3 * width and y.image_shape == (3, 1, width)
    values = rng.standard_normal((2, 3 * 8 * 9))
    out = to_numpy(run_layer(y, [(values, None)]).data)
    kind = "avg" if isinstance(pool, paddle.pooling.Avg) else "max"
    np.testing.assert_allclose(out, naive_spp(values.reshape(2, 3, 8, 9), kind, levels),
                               rtol=1e-12)
    check_layer_gradients(y, [(values, None)])


def test_roi_pool_layer(rng):
    feature = image("feature", 2, 5, 6)
    rois = L.data(name="rois", type=dense(5))
    y = L.roi_pool(input=feature, rois=rois, pooled_width=3, pooled_height=2,
                   spatial_scale=0.5)
    assert y.name == "__roi_pool_0__" and y.size == 12 and y.image_shape == (2, 2, 3)
    x = rng.standard_normal((2, 60))
    boxes = np.array([[0, 0, 0, 10, 8], [1, 2, 2, 7, 9], [1, 4, 0, 4, 0.0]])
    out = to_numpy(run_layer(y, [(x, None), (boxes, None)]).data)
    assert out.shape == (3, 12)      # one row per box
    np.testing.assert_allclose(out, naive_roi_pool(x.reshape(2, 2, 5, 6), boxes, 2, 3, 0.5)
                               .reshape(3, -1), rtol=1e-12)
    check_layer_gradients(y, [(x, None), (boxes, None)], wrt_inputs=[0])


# ---- construction-time errors ----------------------------------------------------------------

def test_image_layers_refuse_bad_arguments():
    x = image("x", 4, 3, 3)
    flat = L.data(name="flat", type=dense(10))
    seq = L.data(name="seq", type=paddle.data_type.dense_vector_sequence(36))
    ids = L.data(name="ids", type=paddle.data_type.integer_value(10))
    relu = L.img_conv(input=x, filter_size=1, num_filters=4)
    cases = [
        (lambda: L.pad(input=x, pad_c=[1]), r"pad_c=\[1\] must be a list of two"),
        (lambda: L.pad(input=x, pad_h=[-1, 0]), r"pad_h=-1 must be an integer >= 0"),
        (lambda: L.pad(input=flat), r"cannot infer num_channels"),
        (lambda: L.pad(input=seq), r"takes one image per sample.*is a sequence"),
        (lambda: L.rotate(input=flat, height=3, width=3), r"size 10, not a whole number"),
        (lambda: L.rotate(input=x, height=0, width=3), r"height=0 must be an integer >= 1"),
        (lambda: L.bilinear_interp(input=x, out_size_x=4), r"out_size_y=None"),
        (lambda: L.bilinear_interp(input=x, out_size_x=0, out_size_y=2), r"out_size_x=0"),
        (lambda: L.maxout(input=x, groups=1), r"groups=1 must be an integer >= 2"),
        (lambda: L.maxout(input=x, groups=3), r"groups=3 must divide the input's 4 channels"),
        (lambda: L.maxout(input=relu, groups=2), r"activation Relu\(\).*Linear"),
        (lambda: L.spp(input=x), r"needs pyramid_height"),
        (lambda: L.spp(input=x, pyramid_height=3), r"3x3 image cannot be pooled on level 2"),
        (lambda: L.spp(input=x, pyramid_height=1, pool_type=paddle.pooling.Sum()),
         r"pool_type=Sum\(\)"),
        (lambda: L.roi_pool(input=x, rois=flat, pooled_width=0, pooled_height=1,
                            spatial_scale=1.0), r"pooled_width=0"),
        (lambda: L.roi_pool(input=x, rois=L.data(name="r4", type=dense(4)), pooled_width=1,
                            pooled_height=1, spatial_scale=1.0), r"needs at least 5 values"),
        (lambda: L.roi_pool(input=x, rois=flat, pooled_width=1, pooled_height=1,
                            spatial_scale=0), r"spatial_scale=0 must be a number > 0"),
        (lambda: L.pad(input=ids), r"gives integer ids"),
    ]
    for build, message in cases:
        with pytest.raises(ValueError, match=message):
            build()
    with pytest.raises(TypeError, match=r"rois must be a layer"):
        L.roi_pool(input=x, rois="boxes", pooled_width=1, pooled_height=1, spatial_scale=1.0)
