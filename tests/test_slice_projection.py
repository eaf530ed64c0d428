"""slice_projection: the column-slice kernels against a naive loop (and generated ranges), a
float64 gradient check through a mixed layer, the output size and parameters as v2, a
conv -> slice network run, and the build-time errors."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minidl as paddle
from minidl.backends import kernel
from minidl.core import Tensor
from minidl.functions import column_slices  # noqa: F401  registers the kernels
from minidl.layers.graph import Network, RunContext

from conftest import to_numpy
from sequence_helpers import check_layer_gradients, run_layer

L, dt = paddle.layer, paddle.data_type


def naive_slices(x, ranges):
    return np.array([[row[c] for begin, end in ranges for c in range(begin, end)]
                     for row in x]).reshape(len(x), -1)


def image(name="img", channels=4, height=2, width=3):
    return L.data(name, dt.dense_vector(channels * height * width), height=height, width=width)


@st.composite
def ranges_of(draw, width):
    cuts = sorted(draw(st.lists(st.integers(0, width), min_size=2, max_size=6)))
    return [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]


@settings(max_examples=30)
@given(data=st.data(), rows=st.integers(1, 4), width=st.integers(1, 9))
def test_kernels_match_the_naive_loop(data, rows, width):
    ranges = data.draw(ranges_of(width))
    x = np.random.default_rng(rows * 31 + width).standard_normal((rows, width))
    y = kernel("column_slices_forward")(x, ranges)
    np.testing.assert_array_equal(y, naive_slices(x, ranges))
    gy = np.random.default_rng(7).standard_normal(y.shape)
    gx = kernel("column_slices_backward")(gy, ranges, width)
    # the backward is the adjoint of the forward: <y, gy> == <x, gx> for every x
    np.testing.assert_allclose((y * gy).sum(), (x * gx).sum(), atol=1e-12)
    covered = [c for begin, end in ranges for c in range(begin, end)]
    assert not gx[:, [c for c in range(width) if c not in covered]].any()


def test_kernels_on_every_backend(xp):
    x = xp.asarray(np.arange(12.0).reshape(2, 6))
    y = kernel("column_slices_forward")(x, ((0, 1), (3, 5)))
    np.testing.assert_array_equal(to_numpy(y), [[0, 3, 4], [6, 9, 10]])
    gx = kernel("column_slices_backward")(xp.ones((2, 3)), ((0, 1), (3, 5)), 6)
    np.testing.assert_array_equal(to_numpy(gx), [[1, 0, 0, 1, 1, 0]] * 2)


def test_output_size_parameters_and_values(rng):
    """Channels 0 and 2..3 of a 4 x 2 x 3 image: (1 + 2) * 6 = 18 values per row."""
    img = image()
    proj = L.slice_projection(input=img, slices=[(0, 1), (2, 4)])
    assert proj.type == "slice" and proj.output_size() == 18
    assert proj.column_ranges == ((0, 6), (12, 24))
    mixed = L.mixed(input=proj)
    assert mixed.size == 18 and mixed.params == []
    x = rng.standard_normal((3, 24))
    y = run_layer(mixed, [(x, None)])
    np.testing.assert_array_equal(y.data, np.concatenate([x[:, :6], x[:, 12:]], axis=1))
    check_layer_gradients(mixed, [(x, None)])


def test_a_slice_of_a_conv_output_feeds_a_network(rng):
    img = image(channels=2)
    conv = L.img_conv(input=img, filter_size=1, num_filters=5, num_channels=2,
                      act=paddle.activation.Linear(), bias_attr=False)
    picked = L.mixed(input=L.slice_projection(input=conv, slices=[(1, 2), (3, 5)]),
                     bias_attr=True)
    assert picked.size == 3 * 6 and [s.shape for s in picked.params] == [(1, 18)]
    network = Network([picked])
    w = rng.standard_normal((5, 2))
    x = rng.standard_normal((2, 12))
    params = {"___conv_0__.w0": Tensor(w.reshape(5, 2, 1, 1)),
              "___mixed_0__.wbias": Tensor(np.zeros((1, 18)))}
    out = network.forward({"img": Tensor(x)}, RunContext(params))
    channels = np.einsum("fc,ncp->nfp", w, x.reshape(2, 2, 6))      # 1x1 conv per pixel
    expected = channels[:, [1, 3, 4]].reshape(2, -1)
    np.testing.assert_allclose(out[picked.name].data, expected, rtol=1e-12)


def test_errors_name_the_projection():
    img = image()
    for slices, message in (
            ([], r"slices=\[\] must be a non-empty list"),
            ([(0, 1, 2)], r"slice \(0, 1, 2\) must be a pair of integers"),
            ([(0, 2), (1, 3)], r"slice \(1, 3\) starts before 2"),
            ([(2, 1)], r"slice \(2, 1\) ends before it starts"),
            ([(0, 5)], r"the last slice ends at channel 5, but img .* has 4 channels"),
            ([(1, 1)], r"every slice of \[\(1, 1\)\] is empty"),
            ([(0.0, 1)], r"slice \(0.0, 1\) must be a pair of integers")):
        with pytest.raises(ValueError, match=r"slice_projection\(input=img\): " + message):
            L.slice_projection(input=img, slices=slices)
    flat = L.data("flat", dt.dense_vector(8))
    with pytest.raises(ValueError, match=r"slice_projection: input flat .* has no image "
                                         r"geometry"):
        L.slice_projection(input=flat, slices=[(0, 1)])
    with pytest.raises(ValueError, match=r"slice_projection: input must be a layer"):
        L.slice_projection(input="img", slices=[(0, 1)])
    with pytest.raises(ValueError, match=r"gives 6 values per row, but the layer has size 5"):
        L.mixed(size=5, input=L.slice_projection(input=img, slices=[(0, 1)]))
