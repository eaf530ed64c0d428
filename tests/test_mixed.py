"""``mixed`` with every projection and operator: reference kernels against naive loops (the
context projection against a line-by-line transliteration of Paddle's CPU loop), float64
gradients on ragged batches, v2's sizes and parameter names, a network fed through the
Feeder, and the build-time errors."""

import math

import numpy as np
import pytest

import minidl as paddle
from minidl.backends.numpy_ref import mixed as ref
from minidl.core.tensor import Tensor
from minidl.layers.attrs import ParamAttr
from minidl.layers.graph import Network, RunContext
from minidl.training.feeding import Feeder

from sequence_helpers import RAGGED_LENGTHS, check_layer_gradients, ragged, run_layer

L = paddle.layer
dt = paddle.data_type


def _params(layer, rng, scale=1.0):
    return {spec.name: scale * rng.standard_normal(spec.shape) for spec in layer.params}


# --- reference kernels against naive loops -----------------------------------------------

def paddle_context_forward(x, pad, starts, context_len, context_start):
    """Paddle's ContextProjectionForward<CPU>, transliterated block by block."""
    width = x.shape[1]
    out = np.zeros((x.shape[0], context_len * width))
    begin_pad = max(0, -context_start)
    for i in range(len(starts) - 1):
        for j in range(context_len):
            cols = slice(j * width, (j + 1) * width)
            begin, end = starts[i] + context_start + j, starts[i + 1] + context_start + j
            dst_begin, dst_end = starts[i], starts[i + 1]
            if begin < starts[i]:
                pad_size = min(starts[i] - begin, starts[i + 1] - starts[i])
                if pad is not None:
                    out[starts[i]:starts[i] + pad_size, cols] += pad[j:j + pad_size]
                dst_begin, begin = starts[i] + pad_size, starts[i]
            if end > starts[i + 1]:
                pad_size = min(end - starts[i + 1], starts[i + 1] - starts[i])
                if pad is not None:
                    first = begin_pad + context_start + j - pad_size
                    out[starts[i + 1] - pad_size:starts[i + 1], cols] += pad[first:first + pad_size]
                dst_end, end = starts[i + 1] - pad_size, starts[i + 1]
            if end <= begin:
                continue
            out[dst_begin:dst_end, cols] += x[begin:end]
    return out


def paddle_context_backward(gy, starts, context_len, context_start, total_pad, width):
    """Paddle's ContextProjectionBackward<CPU>: (input gradient, padding gradient)."""
    gx = np.zeros((gy.shape[0], width))
    gpad = np.zeros((total_pad, width))
    begin_pad = max(0, -context_start)
    for i in range(len(starts) - 1):
        for j in range(context_len):
            cols = slice(j * width, (j + 1) * width)
            begin, end = starts[i] + context_start + j, starts[i + 1] + context_start + j
            dst_begin, dst_end = starts[i], starts[i + 1]
            if begin < starts[i]:
                pad_size = min(starts[i] - begin, starts[i + 1] - starts[i])
                gpad[j:j + pad_size] += gy[starts[i]:starts[i] + pad_size, cols]
                dst_begin, begin = starts[i] + pad_size, starts[i]
            if end > starts[i + 1]:
                pad_size = min(end - starts[i + 1], starts[i + 1] - starts[i])
                first = begin_pad + context_start + j - pad_size
                gpad[first:first + pad_size] += gy[starts[i + 1] - pad_size:starts[i + 1], cols]
                dst_end, end = starts[i + 1] - pad_size, starts[i + 1]
            if end <= begin:
                continue
            gx[begin:end] += gy[dst_begin:dst_end, cols]
    return gx, gpad


CONTEXTS = [(3, -1), (1, 0), (2, 0), (2, 1), (4, -3), (5, -2), (3, 2), (6, -7)]


@pytest.mark.parametrize("context_len,context_start", CONTEXTS)
@pytest.mark.parametrize("lengths", RAGGED_LENGTHS + ([2, 1, 5, 1],))
def test_context_projection_kernels_match_paddles_loop(context_len, context_start, lengths):
    rng = np.random.default_rng(1)
    x, layout = ragged(rng, lengths, 2)
    total_pad = max(0, -context_start) + max(0, context_start + context_len - 1)
    pad = rng.standard_normal((total_pad, 2))
    for padding in (None, pad):
        np.testing.assert_allclose(
            ref.context_projection_forward(x, padding, layout.starts, context_len,
                                           context_start),
            paddle_context_forward(x, padding, layout.starts, context_len, context_start))
    gy = rng.standard_normal((layout.num_rows, context_len * 2))
    gx, gpad = paddle_context_backward(gy, layout.starts, context_len, context_start,
                                       total_pad, 2)
    np.testing.assert_allclose(ref.context_projection_grad_input(
        gy, layout.starts, context_len, context_start), gx)
    np.testing.assert_allclose(ref.context_projection_grad_padding(
        gy, layout.starts, context_len, context_start, total_pad), gpad)


def test_context_projection_example_of_the_v2_docs():
    """[A B C D E F G], context_len 3, zero padding -> [0AB ABC BCD CDE DEF EFG FG0]."""
    x = np.arange(1.0, 8.0)[:, None]
    y = ref.context_projection_forward(x, None, np.array([0, 7]), 3, -1)
    expected = [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 6], [5, 6, 7], [6, 7, 0]]
    np.testing.assert_array_equal(y, expected)


def test_table_lookup_kernels_match_loops():
    rng = np.random.default_rng(2)
    table = rng.standard_normal((6, 3))
    ids = np.array([4, 0, 4, 5, 1, 4])
    y = ref.table_lookup(table, ids)
    for r, i in enumerate(ids):
        np.testing.assert_array_equal(y[r], table[i])
    gy = rng.standard_normal((6, 3))
    grad = ref.table_lookup_grad(ids, gy, 6)
    expected = np.zeros((6, 3))
    for r, i in enumerate(ids):
        expected[i] += gy[r]
    np.testing.assert_allclose(grad, expected)
    assert not grad[[2, 3]].any()


def _naive_conv(x, w, stride, padding):
    n, c, h, width = x.shape
    _, f, _, kh, kw = w.shape
    (sy, sx), (py, px) = stride, padding
    oh, ow = (h + 2 * py - kh) // sy + 1, (width + 2 * px - kw) // sx + 1
    y = np.zeros((n, f, oh, ow))
    for s in range(n):
        for o in range(f):
            for a in range(oh):
                for b in range(ow):
                    for ch in range(c):
                        for i in range(kh):
                            for j in range(kw):
                                r, q = a * sy + i - py, b * sx + j - px
                                if 0 <= r < h and 0 <= q < width:
                                    y[s, o, a, b] += w[s, o, ch, i, j] * x[s, ch, r, q]
    return y


@pytest.mark.parametrize("stride,padding,filter_hw", [((1, 1), (0, 0), (2, 2)),
                                                      ((2, 1), (1, 0), (3, 2)),
                                                      ((1, 2), (1, 1), (1, 3))])
def test_conv_operator_kernels_match_loops(stride, padding, filter_hw):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 5, 4))
    w = rng.standard_normal((2, 3, 2) + filter_hw)
    y = ref.conv_operator_forward(x, w, stride, padding)
    np.testing.assert_allclose(y, _naive_conv(x, w, stride, padding), atol=1e-12)
    # gradients of sum(y * gy) by the same loops: linear in x and in w
    gy = rng.standard_normal(y.shape)
    gx = ref.conv_operator_grad_input(gy, w, x.shape, stride, padding)
    gw = ref.conv_operator_grad_filter(x, gy, w.shape, stride, padding)
    basis_x = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        basis_x[index] = 1
        assert math.isclose(gx[index], np.sum(_naive_conv(basis_x, w, stride, padding) * gy),
                            abs_tol=1e-10)
        basis_x[index] = 0
    for index in [(0, 0, 0, 0, 0), (1, 2, 1) + tuple(k - 1 for k in filter_hw)]:
        basis_w = np.zeros_like(w)
        basis_w[index] = 1
        assert math.isclose(gw[index], np.sum(_naive_conv(x, basis_w, stride, padding) * gy),
                            abs_tol=1e-10)


# --- gradients through the layer on ragged batches -------------------------------------

def _seq_data(name, width):
    return L.data(name, dt.dense_vector_sequence(width))


@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_gradients_of_every_per_row_projection(lengths):
    rng = np.random.default_rng(4)
    x, y = _seq_data("x", 3), _seq_data("y", 4)
    m = L.mixed(size=4, bias_attr=True, act=paddle.activation.Tanh(), input=[
        L.full_matrix_projection(x),
        L.trans_full_matrix_projection(x),
        L.identity_projection(y),
        L.dotmul_projection(y),
        L.scaling_projection(y),
        L.dotmul_operator(a=y, b=y, scale=0.5),
    ])
    xv, layout = ragged(rng, lengths, 3)
    yv = rng.standard_normal((layout.num_rows, 4))
    # inputs: one per term (x, x, y, y, y, y), then the operator's second input (y)
    inputs = [(xv, layout), (xv, layout)] + [(yv, layout)] * 5
    out = run_layer(m, inputs, _params(m, rng))
    assert out.shape == (layout.num_rows, 4) and out.seq == layout
    check_layer_gradients(m, inputs, _params(m, rng))


@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_gradients_of_the_identity_offset_slice(lengths):
    rng = np.random.default_rng(5)
    x = _seq_data("x", 6)
    m = L.mixed(size=3, input=[L.identity_projection(x, offset=2),
                               L.full_matrix_projection(x)])
    xv, layout = ragged(rng, lengths, 6)
    params = _params(m, rng)
    out = run_layer(m, [(xv, layout)] * 2, params)
    np.testing.assert_allclose(out.data, xv[:, 2:5] + xv @ params["___mixed_0__.w1"])
    check_layer_gradients(m, [(xv, layout)] * 2, params)


@pytest.mark.parametrize("context_len,context_start", [(3, None), (4, -3), (2, 1), (5, -1)])
@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_gradients_of_context_projection_and_its_trainable_padding(context_len, context_start,
                                                                   lengths):
    rng = np.random.default_rng(6)
    x = _seq_data("x", 2)
    m = L.mixed(input=L.context_projection(x, context_len, context_start,
                                           padding_attr=ParamAttr(initial_std=0.1)))
    start = -(context_len - 1) // 2 if context_start is None else context_start
    total_pad = max(0, -start) + max(0, start + context_len - 1)
    assert [spec.shape for spec in m.params] == [(total_pad, 2)]
    xv, layout = ragged(rng, lengths, 2)
    params = _params(m, rng)
    out = run_layer(m, [(xv, layout)], params)
    np.testing.assert_allclose(out.data, paddle_context_forward(
        xv, params["___mixed_0__.w0"], layout.starts, context_len, start))
    check_layer_gradients(m, [(xv, layout)], params)


@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_gradients_of_context_projection_with_zero_padding_on_nested_input(lengths):
    """A nested input: the windows stop at the edges of the (outer) sequences."""
    rng = np.random.default_rng(7)
    x = L.data("x", dt.dense_vector_sub_sequence(2))
    m = L.mixed(input=L.context_projection(x, 3, padding_attr=False))
    assert m.params == [] and m.size == 6 and m.seq_level == 2
    from minidl.core.sequence import SequenceLayout
    sub = [[n] if n < 2 else [1, n - 1] for n in lengths]
    layout = SequenceLayout.from_lengths(None, sub)
    xv = rng.standard_normal((layout.num_rows, 2))
    out = run_layer(m, [(xv, layout)])
    np.testing.assert_allclose(out.data, paddle_context_forward(xv, None, layout.starts, 3, -1))
    assert out.seq == layout
    check_layer_gradients(m, [(xv, layout)])


@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_gradients_of_table_projection_on_id_sequences(lengths):
    rng = np.random.default_rng(8)
    ids = L.data("w", dt.integer_value_sequence(7))
    x = _seq_data("x", 3)
    m = L.mixed(size=3, input=[L.table_projection(ids), L.full_matrix_projection(x)])
    xv, layout = ragged(rng, lengths, 3)
    idv = rng.integers(0, 7, layout.num_rows)
    params = _params(m, rng)
    out = run_layer(m, [(idv, layout), (xv, layout)], params)
    np.testing.assert_allclose(out.data, params["___mixed_0__.w0"][idv]
                               + xv @ params["___mixed_0__.w1"])
    check_layer_gradients(m, [(idv, layout), (xv, layout)], params)


def test_gradients_of_conv_operator_with_a_filter_per_sample():
    rng = np.random.default_rng(9)
    img = L.data("img", dt.dense_vector(2 * 5 * 5), height=5, width=5)
    filt = L.data("filt", dt.dense_vector(3 * 2 * 3 * 3))
    op = L.conv_operator(img=img, filter=filt, filter_size=3, num_filters=3, stride=2, padding=1)
    m = L.mixed(input=op, bias_attr=True)
    assert m.size == 3 * 3 * 3 and m.image_shape == (3, 3, 3)
    assert [spec.shape for spec in m.params] == [(1, 27)]
    for n in (1, 3):
        x = rng.standard_normal((n, 50))
        w = rng.standard_normal((n, 54))
        params = _params(m, rng)
        out = run_layer(m, [(x, None), (w, None)], params)
        expected = _naive_conv(x.reshape(n, 2, 5, 5), w.reshape(n, 3, 2, 3, 3), (2, 2), (1, 1))
        np.testing.assert_allclose(out.data, expected.reshape(n, -1) + params["___mixed_0__.wbias"])
        check_layer_gradients(m, [(x, None), (w, None)], params)


# --- sizes, parameter names and shapes as v2 makes them ----------------------------------

def test_parameter_names_follow_the_input_index_and_skip_terms_without_parameters():
    x, y, z = _seq_data("x", 3), _seq_data("y", 5), _seq_data("z", 5)
    with L.mixed(size=5, bias_attr=True) as m:
        m += L.full_matrix_projection(x)
        m += L.dotmul_operator(y, z)
        m += L.identity_projection(y)
        m += L.trans_full_matrix_projection(x)
        m += L.context_projection(z, 1, 0, padding_attr=ParamAttr())
    assert m.name == "__mixed_0__" and m.type == "mixed" and m.size == 5
    # the operator's second input comes after the first input of every term
    assert [p.name for p in m.inputs] == ["x", "y", "y", "x", "z", "z"]
    assert [(s.name, s.shape) for s in m.params] == [
        ("___mixed_0__.w0", (3, 5)), ("___mixed_0__.w3", (5, 3)),
        ("___mixed_0__.wbias", (1, 5))]
    assert isinstance(m.act, paddle.activation.Linear)
    assert L.mixed(size=2, input=L.full_matrix_projection(x)).name == "__mixed_1__"


def test_default_initialisation_is_paddles_smart_one():
    x = _seq_data("x", 4)
    ids = L.data("w", dt.integer_value_sequence(9))
    m = L.mixed(size=4, input=[L.full_matrix_projection(x), L.trans_full_matrix_projection(x),
                               L.table_projection(ids), L.dotmul_projection(x),
                               L.scaling_projection(x)])
    c = L.mixed(input=L.context_projection(x, 3))
    stds = {s.name.split(".")[-1]: (s.shape, s.default_std, s.attr.initial_std)
            for s in m.params}
    assert stds["w0"][:2] == ((4, 4), 0.5) and stds["w1"][:2] == ((4, 4), 0.5)
    assert stds["w2"][:2] == ((9, 4), 1 / 3)
    assert stds["w3"][:2] == ((1, 4), 1.0) and stds["w4"][:2] == ((1, 1), 1.0)
    # context padding: trainable by default (Paddle's wrap_bias_attr_default), starting at 0
    (pad,) = c.params
    assert (pad.name, pad.shape, pad.attr.initial_mean, pad.attr.initial_std) == (
        "___mixed_1__.w0", (2, 4), 0.0, 0.0)
    params = paddle.parameters.create([m, c])
    assert not params.get("___mixed_1__.w0").any()
    assert params.get_shape("___mixed_0__.w2") == (9, 4)


@pytest.mark.parametrize("padding_attr,has_param", [(None, True), (True, True), (False, False),
                                                    (ParamAttr(name="pad"), True)])
def test_context_padding_attr(padding_attr, has_param):
    x = _seq_data("x", 3)
    m = L.mixed(input=L.context_projection(x, 5, padding_attr=padding_attr))
    assert m.size == 15
    assert [s.shape for s in m.params] == ([(4, 3)] if has_param else [])
    if isinstance(padding_attr, ParamAttr):
        assert m.params[0].name == "pad"


def test_output_sizes():
    x, ids = _seq_data("x", 6), L.data("w", dt.integer_value_sequence(20))
    assert L.mixed(input=L.identity_projection(x)).size == 6
    assert L.mixed(input=L.dotmul_projection(x)).size == 6
    assert L.mixed(input=L.scaling_projection(x)).size == 6
    assert L.mixed(input=L.context_projection(x, 4)).size == 24
    assert L.mixed(input=L.full_matrix_projection(x, size=7)).size == 7
    assert L.mixed(input=L.table_projection(ids, size=5)).size == 5
    assert L.mixed(input=L.dotmul_operator(x, x)).size == 6
    # a projection's size 0 takes the layer's; identity with offset never fixes it
    assert L.mixed(size=2, input=L.identity_projection(x, offset=4)).size == 2


# --- a network fed through the Feeder ----------------------------------------------------

def test_a_network_of_mixed_layers_runs_on_fed_samples():
    rng = np.random.default_rng(10)
    words = L.data("words", dt.integer_value_sequence(8))
    feats = L.data("feats", dt.dense_vector_sequence(2))
    emb = L.embedding(words, size=3)
    with L.mixed(size=4, act=paddle.activation.Relu(), bias_attr=True) as hidden:
        hidden += L.full_matrix_projection(L.mixed(input=L.context_projection(emb, 3)))
        hidden += L.full_matrix_projection(feats)
    samples = [([1, 7, 2], [[0.5, 1.0], [2.0, -1.0], [0.0, 0.0]]),
               ([3], [[1.0, 1.0]]),
               ([0, 0, 5, 6, 7, 1, 2], rng.standard_normal((7, 2)).tolist())]
    net = Network(hidden)
    feed = Feeder(net.data_layers)(samples)
    params = {s.name: rng.standard_normal(s.shape) for s in net.param_specs.values()}
    ctx = RunContext({k: Tensor(v) for k, v in params.items()})
    out = net.forward(feed, ctx)[hidden.name]
    assert out.seq.lengths.tolist() == [3, 1, 7]
    # the same by hand, one sequence at a time
    # the with block named its layer first: hidden is __mixed_0__, the context one __mixed_1__
    table, pad = params["___embedding_0__.w0"], params["___mixed_1__.w0"]
    w_ctx, w_feat = params["___mixed_0__.w0"], params["___mixed_0__.w1"]
    rows = []
    for ids, f in samples:
        e = table[ids]
        padded = np.concatenate([pad[:1], e, pad[1:]])    # begin_pad 1, end_pad 1
        windows = np.concatenate([padded[:-2], padded[1:-1], padded[2:]], axis=1)
        rows.append(np.maximum(windows @ w_ctx + np.asarray(f) @ w_feat
                               + params["___mixed_0__.wbias"], 0))
    np.testing.assert_allclose(out.data, np.concatenate(rows), rtol=1e-5, atol=1e-6)


# --- build-time errors -------------------------------------------------------------------

def _raises(match, build):
    with pytest.raises(ValueError, match=match):
        build()


def test_errors_name_the_layer_and_what_was_expected():
    x, y = _seq_data("x", 4), _seq_data("y", 3)
    dense = L.data("dense", dt.dense_vector(4))
    ids = L.data("ids", dt.integer_value_sequence(10))
    _raises(r"layer m \(mixed\): table_projection .*integer_value.*x \(dense_vector_sequence",
            lambda: L.mixed(size=2, name="m", input=L.table_projection(x)))
    _raises(r"layer m \(mixed\): full_matrix_projection .*ids .*integer ids",
            lambda: L.mixed(size=2, name="m", input=L.full_matrix_projection(ids)))
    _raises(r"layer m \(mixed\): identity_projection\(input=y\) gives 3 values per row, but "
            r"the layer has size 4 \(from identity_projection\(input=x\)\)",
            lambda: L.mixed(name="m", input=[L.identity_projection(x), L.identity_projection(y)]))
    _raises(r"layer m \(mixed\): .* gives 4 values per row, but the layer has size 5 \(from "
            r"size=5\)", lambda: L.mixed(size=5, name="m", input=L.identity_projection(x)))
    _raises(r"layer m \(mixed\): size is not set .*give mixed\(size=...\)",
            lambda: L.mixed(name="m", input=L.full_matrix_projection(x)))
    _raises(r"layer m \(mixed\): context_projection .*dense \(dense_vector\(4\) data\) is a "
            r"non-sequence", lambda: L.mixed(name="m", input=L.context_projection(dense, 3)))
    _raises(r"layer m \(mixed\): identity_projection\(offset=2\) takes columns \[2, 5\).*at most 1",
            lambda: L.mixed(size=3, name="m", input=L.identity_projection(x, offset=2)))
    _raises(r"layer m \(mixed\): dotmul_operator\(x, x\) gives 4 values per row, but the "
            r"layer has size 3", lambda: L.mixed(size=3, name="m", input=L.dotmul_operator(x, x)))
    _raises(r"dotmul_operator: inputs x .* and y .* same size", lambda: L.dotmul_operator(x, y))
    _raises(r"layer m \(mixed\) acts on each row of its inputs, which must all be of one kind",
            lambda: L.mixed(size=4, name="m", input=[L.full_matrix_projection(x),
                                                     L.full_matrix_projection(dense)]))
    _raises(r"context_projection: context_len=0", lambda: L.context_projection(x, 0))
    _raises(r"full_matrix_projection: input must be a layer",
            lambda: L.full_matrix_projection("x"))


def test_sparse_rows_reach_only_full_matrix_projections():
    sparse = L.data("s", dt.sparse_binary_vector(100))
    m = L.mixed(size=3, input=L.full_matrix_projection(sparse))
    assert [s.shape for s in m.params] == [(100, 3)]
    _raises(r"layer m \(mixed\): identity_projection cannot read the sparse rows of s "
            r"\(sparse_binary_vector\(100\) data\)",
            lambda: L.mixed(name="m", input=L.identity_projection(sparse)))
    _raises(r"layer m \(mixed\): table_projection .*s \(sparse_binary_vector",
            lambda: L.mixed(size=3, name="m", input=L.table_projection(sparse)))


def test_conv_operator_errors():
    img = L.data("img", dt.dense_vector(2 * 4 * 4), height=4, width=4)
    filt = L.data("filt", dt.dense_vector(10))
    _raises(r"layer m \(mixed\): conv_operator filter input filt .* must give num_filters \* "
            r"num_channels \* filter_size_y \* filter_size = 3\*2\*2\*2 = 24 values",
            lambda: L.mixed(name="m", input=L.conv_operator(img, filt, 2, 3)))
    _raises(r"layer m: num_channels=3 but input img has 2 channels",
            lambda: L.mixed(name="m", input=L.conv_operator(img, filt, 2, 3, num_channels=3)))
    _raises(r"trans=True", lambda: L.conv_operator(img, filt, 2, 3, trans=True))


def test_with_block_rules():
    x = _seq_data("x", 3)
    m = L.mixed(size=3, name="m")
    _raises(r"layer m \(mixed\): takes projections and operators .*got <DataLayer x",
            lambda: m.__iadd__(x))
    with m:
        m += L.identity_projection(x)
        _raises(r"layer m \(mixed\) is used before its inputs are complete",
                lambda: L.fc(input=m, size=2))
    assert L.fc(input=m, size=2).size == 2
    _raises(r"layer m \(mixed\): its inputs are complete", lambda: m.__iadd__(
        L.identity_projection(x)))
    done = L.mixed(size=3, name="d", input=L.identity_projection(x))
    _raises(r"layer d \(mixed\): already has its inputs", lambda: done.__enter__())

    def empty():
        with L.mixed(size=3, name="e"):
            pass
    _raises(r"layer e \(mixed\): needs at least one projection or operator", empty)


def test_an_embedding_table_shared_with_a_trans_full_matrix_projection():
    """The usual tied output layer: the (V, D) table serves as the (size=V, in=D) weight."""
    rng = np.random.default_rng(11)
    words = L.data("words", dt.integer_value_sequence(7))
    emb = L.embedding(words, size=3, param_attr=ParamAttr(name="table"))
    logits = L.mixed(size=7, input=L.trans_full_matrix_projection(
        emb, size=7, param_attr=ParamAttr(name="table")))
    net = Network(logits)
    assert list(net.param_specs) == ["table"] and net.param_specs["table"].shape == (7, 3)
    table = rng.standard_normal((7, 3))
    feed = Feeder(net.data_layers)([([1, 4, 4],), ([6],)])
    out = net.forward(feed, RunContext({"table": Tensor(table)}))[logits.name]
    np.testing.assert_allclose(out.data, table[[1, 4, 4, 6]] @ table.T, rtol=1e-6)
