"""One-dimensional and sequence-making layers: conv_shift, row_conv and block_expand.
Kernels against naive loops (hypothesis-drawn sizes), float64 gradient checks through the
layers on plain rows and ragged sequences, sizes, parameter shapes and default names as v2,
construction-time errors, and a few ``paddle.trainer.SGD`` steps through row_conv."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl as paddle
from minidl.backends import kernel
from minidl.core.sequence import SequenceLayout

from conftest import to_numpy
from sequence_helpers import RAGGED_LENGTHS, check_layer_gradients, ragged, run_layer

L = paddle.layer
dense = paddle.data_type.dense_vector
dense_seq = paddle.data_type.dense_vector_sequence


# ---- naive definitions -----------------------------------------------------------------------

def naive_conv_shift(a, b):
    n, m = a.shape
    half = (b.shape[1] - 1) // 2
    y = np.zeros_like(a)
    for r, i in np.ndindex(n, m):
        for j in range(-half, half + 1):
            y[r, i] += a[r, (i + j) % m] * b[r, j + half]
    return y


def naive_row_conv(x, w, lengths):
    y, start = np.zeros_like(x), 0
    for length in lengths:
        for t in range(length):
            for j in range(w.shape[0]):
                if t + j < length:
                    y[start + t] += w[j] * x[start + t + j]
        start += length
    return y


def naive_block_expand(x, block, stride, padding):
    n, c, h, w = x.shape
    oh = 1 + math.ceil((h + 2 * padding[0] - block[0]) / stride[0])
    ow = 1 + math.ceil((w + 2 * padding[1] - block[1]) / stride[1])
    rows = []
    for b, i, j in np.ndindex(n, oh, ow):
        row = []
        for k, p, q in np.ndindex(c, block[0], block[1]):
            r, s = i * stride[0] + p - padding[0], j * stride[1] + q - padding[1]
            row.append(x[b, k, r, s] if 0 <= r < h and 0 <= s < w else 0.0)
        rows.append(row)
    return np.array(rows), (oh, ow)


# ---- kernels ---------------------------------------------------------------------------------

@settings(max_examples=25)
@given(st.integers(1, 3), st.integers(1, 6), st.sampled_from([1, 3, 5, 9]),
       st.integers(0, 2 ** 31 - 1))
def test_conv_shift_kernel(n, m, k, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((n, m)), rng.standard_normal((n, k))
    np.testing.assert_allclose(kernel("conv_shift_forward")(a, b), naive_conv_shift(a, b),
                               rtol=1e-12, atol=1e-12)


def test_conv_shift_with_a_one_hot_kernel_rolls():
    """A one at offset +1 reads the cell to the right: the row rolls left by one."""
    a = np.arange(5.0)[None]
    np.testing.assert_array_equal(kernel("conv_shift_forward")(a, np.array([[0, 0, 1.0]])),
                                  np.roll(a, -1))


@settings(max_examples=25)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=4), st.integers(1, 4),
       st.integers(0, 2 ** 31 - 1))
def test_row_conv_kernel(lengths, k, seed):
    rng = np.random.default_rng(seed)
    layout = SequenceLayout.from_lengths(lengths)
    x, w = rng.standard_normal((layout.num_rows, 3)), rng.standard_normal((k, 3))
    np.testing.assert_allclose(kernel("row_conv_forward")(x, w, layout.starts),
                               naive_row_conv(x, w, lengths), rtol=1e-12, atol=1e-12)


@settings(max_examples=25)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 3), st.integers(1, 3), st.integers(0, 1), st.integers(0, 1),
       st.integers(0, 2 ** 31 - 1))
def test_block_expand_kernel(h, w, by, bx, sy, sx, py, px, seed):
    if h + 2 * py < by or w + 2 * px < bx:
        return   # no block fits (the layer refuses it)
    x = np.random.default_rng(seed).standard_normal((2, 2, h, w))
    expected, _ = naive_block_expand(x, (by, bx), (sy, sx), (py, px))
    np.testing.assert_array_equal(
        kernel("block_expand_forward")(x, (by, bx), (sy, sx), (py, px)), expected)


def test_block_expand_backward_is_the_adjoint(rng):
    """<expand(x), g> == <x, expand^T(g)> for the ceil-overhanging geometry."""
    x = rng.standard_normal((2, 3, 5, 4))
    geometry = ((2, 3), (2, 2), (1, 0))
    y = kernel("block_expand_forward")(x, *geometry)
    g = rng.standard_normal(y.shape)
    gx = kernel("block_expand_backward")(g, x.shape, *geometry)
    assert np.isclose(np.sum(y * g), np.sum(x * gx), rtol=1e-12)


# ---- layers ----------------------------------------------------------------------------------

def test_conv_shift_layer(rng):
    a, b = L.data(name="a", type=dense(6)), L.data(name="b", type=dense(3))
    y = L.conv_shift(a=a, b=b)
    assert y.name == "__conv_shift_layer_0__" and y.size == 6 and not y.params
    av, bv = rng.standard_normal((4, 6)), rng.standard_normal((4, 3))
    out = to_numpy(run_layer(y, [(av, None), (bv, None)]).data)
    np.testing.assert_allclose(out, naive_conv_shift(av, bv), rtol=1e-12)
    check_layer_gradients(y, [(av, None), (bv, None)])


def test_conv_shift_on_sequences_keeps_the_layout(rng):
    y = L.conv_shift(a=L.data(name="a", type=dense_seq(4)), b=L.data(name="b", type=dense_seq(1)))
    av, layout = ragged(rng, RAGGED_LENGTHS[1], 4)
    bv = rng.standard_normal((layout.num_rows, 1))
    assert run_layer(y, [(av, layout), (bv, layout)]).seq == layout
    check_layer_gradients(y, [(av, layout), (bv, layout)])


@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_row_conv_layer(rng, lengths):
    x = L.data(name="x", type=dense_seq(3))
    y = L.row_conv(input=x, context_len=3)
    assert y.name == "__row_conv_layer_0__" and y.size == 3 and y.type == "row_conv"
    (w,) = y.params
    assert w.name == "___row_conv_layer_0__.w0" and w.shape == (3, 3)
    assert w.default_std == pytest.approx(1 / math.sqrt(3))
    values, layout = ragged(rng, lengths, 3)
    wv = rng.standard_normal((3, 3))
    out = run_layer(y, [(values, layout)], {w.name: wv})
    assert out.seq == layout
    np.testing.assert_allclose(to_numpy(out.data), naive_row_conv(values, wv, lengths),
                               rtol=1e-12)
    check_layer_gradients(y, [(values, layout)], {w.name: wv})


def test_block_expand_layer_makes_one_sequence_per_image(rng):
    x = L.data(name="x", type=dense(2 * 4 * 5), height=4, width=5)
    y = L.block_expand(input=x, block_x=2, block_y=3, stride_x=2, stride_y=2, padding_y=1)
    assert y.name == "__block_expand_layer_0__" and y.type == "blockexpand"
    assert y.size == 2 * 3 * 2 and y.seq_level == 1 and not y.params
    values = rng.standard_normal((3, 40))
    out = run_layer(y, [(values, None)])
    expected, (oh, ow) = naive_block_expand(values.reshape(3, 2, 4, 5), (3, 2), (2, 2), (1, 0))
    assert (oh, ow) == (3, 3)                      # ceil: the last column block overhangs
    assert out.seq == SequenceLayout.from_lengths([oh * ow] * 3)
    np.testing.assert_array_equal(to_numpy(out.data), expected)
    check_layer_gradients(y, [(values, None)])


def test_block_expand_then_a_sequence_layer(rng):
    x = L.data(name="x", type=dense(9), height=3, width=3)
    pooled = L.pooling(input=L.block_expand(input=x, block_x=2, block_y=2, stride_x=1,
                                            stride_y=1), pooling_type=paddle.pooling.Max())
    values = rng.standard_normal((2, 9))
    out = run_layer(pooled, [(run_layer(pooled.inputs[0], [(values, None)]).data,
                              SequenceLayout.from_lengths([4, 4]))])
    blocks, _ = naive_block_expand(values.reshape(2, 1, 3, 3), (2, 2), (1, 1), (0, 0))
    np.testing.assert_allclose(to_numpy(out.data), blocks.reshape(2, 4, 4).max(axis=1))


def test_shift_layers_refuse_bad_arguments():
    a, odd = L.data(name="a", type=dense(6)), L.data(name="odd", type=dense(3))
    img = L.data(name="img", type=dense(12), height=3, width=4)
    seq = L.data(name="seq", type=dense_seq(3))
    cases = [
        (lambda: L.conv_shift(a=a, b=L.data(name="even", type=dense(2))),
         r"have size 2; conv_shift needs an odd size"),
        (lambda: L.conv_shift(a=seq, b=odd), r"must all be of one kind"),
        (lambda: L.row_conv(input=a, context_len=2), r"is a non-sequence; feed a sequence"),
        (lambda: L.row_conv(input=seq, context_len=0), r"context_len=0 must be an integer >= 1"),
        (lambda: L.block_expand(input=img, block_x=2, block_y=2), r"stride_y=0 must be an "
                                                                   r"integer >= 1"),
        (lambda: L.block_expand(input=img, block_x=5, block_y=1, stride_x=1, stride_y=1),
         r"block \(1, 5\) .* does not fit the 3x4 image"),
        (lambda: L.block_expand(input=seq, block_x=1, block_y=1, stride_x=1, stride_y=1),
         r"takes one image per sample"),
    ]
    for build, message in cases:
        with pytest.raises(ValueError, match=message):
            build()
    with pytest.raises(TypeError, match=r"b must be a layer"):
        L.conv_shift(a=a, b=[1, 2, 3])


def test_row_conv_trains(rng):
    """row_conv learns a lookahead target: y[t] = x[t + 1] within each sequence."""
    paddle.init(seed=2)
    x = L.data(name="x", type=dense_seq(2))
    target = L.data(name="target", type=dense_seq(2))
    y = L.row_conv(input=x, context_len=2)
    cost = L.square_error_cost(input=y, label=target)
    samples = []
    for length in (3, 5, 2, 4, 6, 3, 2, 5):
        seq = rng.standard_normal((length, 2)).astype(np.float32)
        shifted = np.vstack([seq[1:], np.zeros((1, 2), np.float32)])
        samples.append((seq.tolist(), shifted.tolist()))
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Adam(learning_rate=0.05))
    costs = []
    trainer.train(paddle.batch(lambda: iter(samples), 4), num_passes=25,
                  event_handler=lambda e: costs.append(e.cost)
                  if isinstance(e, paddle.event.EndIteration) else None)
    assert np.all(np.isfinite(costs)) and np.mean(costs[-2:]) < 0.2 * np.mean(costs[:2])
    w = parameters.get(y.params[0].name)
    np.testing.assert_allclose(w, [[0, 0], [1, 1]], atol=0.2)   # learned: the next row
