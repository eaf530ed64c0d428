"""Sequence layers: pooling, last_seq, first_seq, expand, seq_concat, seq_reshape (and concat
of sequences). Reference kernels against naive loops, float64 gradient checks on ragged and
nested batches, output sizes and layouts as v2, a network fed real samples, and the
construction-time errors."""

import numpy as np
import pytest

import minidl as paddle
from minidl.backends import kernel
from minidl.core.sequence import SequenceLayout
from minidl.layers.graph import Network, RunContext
from minidl.layers.sequence import stride_windows
from minidl.training.feeding import Feeder

from conftest import to_numpy
from sequence_helpers import RAGGED_LENGTHS, check_layer_gradients, nested, ragged, run_layer

dense = paddle.data_type.dense_vector
dense_seq = paddle.data_type.dense_vector_sequence
dense_sub = paddle.data_type.dense_vector_sub_sequence
AggregateLevel = paddle.layer.AggregateLevel
ExpandLevel = paddle.layer.ExpandLevel
NESTED_LENGTHS = ([[1], [2, 3], [1, 1, 2]], [[4]], [[1, 2, 1, 3]])
POOLS = [("max", paddle.pooling.Max()), ("average", paddle.pooling.Avg()),
         ("sum", paddle.pooling.Sum()), ("squarerootn", paddle.pooling.SquareRootN())]


# ---- naive definitions: plain Python over lists of rows --------------------------------------

def naive_pool(x, starts, strategy):
    out = []
    for i in range(len(starts) - 1):
        block = [list(x[r]) for r in range(starts[i], starts[i + 1])]
        n = len(block)
        row = []
        for d in range(x.shape[1]):
            column = [block[t][d] for t in range(n)]
            if strategy == "max":
                row.append(max(column))
            else:
                total = sum(column)
                row.append({"average": total / n, "sum": total,
                            "squarerootn": total / n ** 0.5}[strategy])
        out.append(row)
    return np.array(out)


def naive_instance(x, starts, first):
    return np.array([x[starts[i]] if first else x[starts[i + 1] - 1]
                     for i in range(len(starts) - 1)])


def naive_expand(x, starts):
    return np.array([x[i] for i in range(len(starts) - 1)
                     for _ in range(starts[i], starts[i + 1])])


def naive_concat(a, starts_a, b, starts_b):
    out = []
    for i in range(len(starts_a) - 1):
        out += [a[r] for r in range(starts_a[i], starts_a[i + 1])]
        out += [b[r] for r in range(starts_b[i], starts_b[i + 1])]
    return np.array(out)


def naive_windows(lengths, stride, from_end):
    """Window lengths per sequence, cut from the start (or from the end)."""
    out = []
    for n in lengths:
        cuts = [stride] * (n // stride)
        if n % stride:
            cuts = [n % stride] + cuts if from_end else cuts + [n % stride]
        out.append(cuts)
    return out


# ---- reference kernels against the naive loops -----------------------------------------------

@pytest.mark.parametrize("strategy", ["max", "average", "sum", "squarerootn"])
@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_pool_kernels_match_naive_loops(backend, xp, rng, strategy, lengths):
    x, layout = ragged(rng, lengths, 3)
    if strategy == "max":
        y, argmax = kernel("seq_max_pool_forward")(xp.asarray(x), layout.starts)
        winners = to_numpy(argmax)                      # each a row of its own sequence
        np.testing.assert_array_equal(layout.row_sequence()[winners],
                                      np.arange(len(lengths))[:, None].repeat(3, axis=1))
        np.testing.assert_array_equal(to_numpy(y), x[winners, np.arange(3)])
    else:
        y = kernel("seq_pool_forward")(xp.asarray(x), layout.starts, strategy)
    np.testing.assert_allclose(to_numpy(y), naive_pool(x, layout.starts, strategy), rtol=1e-12)


def test_max_pool_keeps_the_first_maximum_and_lets_nan_win(xp):
    x = np.array([[1.0, 5.0], [3.0, 5.0], [3.0, np.nan], [0.0, 1.0]])
    starts = np.array([0, 3, 4])
    y, argmax = kernel("seq_max_pool_forward")(xp.asarray(x), starts)
    np.testing.assert_array_equal(to_numpy(argmax), [[1, 2], [3, 3]])
    assert to_numpy(y)[0, 0] == 3.0 and np.isnan(to_numpy(y)[0, 1])
    g = kernel("seq_max_pool_backward")(xp.asarray(np.ones((2, 2))), argmax, 4)
    np.testing.assert_array_equal(to_numpy(g), [[0, 0], [1, 0], [0, 1], [1, 1]])


def test_pool_backward_kernels_spread_the_gradient(xp):
    starts = np.array([0, 1, 4])
    gy = np.array([[2.0], [6.0]])
    for strategy, second in [("average", 2.0), ("sum", 6.0), ("squarerootn", 6 / 3 ** 0.5)]:
        g = to_numpy(kernel("seq_pool_backward")(xp.asarray(gy), starts, strategy))
        np.testing.assert_allclose(g[:, 0], [2.0, second, second, second])


@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_instance_expand_concat_kernels_match_naive_loops(backend, xp, rng, lengths):
    x, layout = ragged(rng, lengths, 2)
    starts = layout.starts
    for first in (True, False):
        got = kernel("seq_instance_forward")(xp.asarray(x), starts, first)
        np.testing.assert_array_equal(to_numpy(got), naive_instance(x, starts, first))
    short = rng.standard_normal((len(lengths), 2))
    np.testing.assert_array_equal(to_numpy(kernel("seq_expand_forward")(xp.asarray(short),
                                                                       starts)),
                                  naive_expand(short, starts))
    other, other_layout = ragged(rng, list(reversed(lengths)), 2)
    joined = kernel("seq_concat_forward")(xp.asarray(x), starts, xp.asarray(other),
                                          other_layout.starts)
    np.testing.assert_array_equal(to_numpy(joined),
                                  naive_concat(x, starts, other, other_layout.starts))
    ga, gb = kernel("seq_concat_backward")(joined, starts, other_layout.starts)
    np.testing.assert_array_equal(to_numpy(ga), x)
    np.testing.assert_array_equal(to_numpy(gb), other)


@pytest.mark.parametrize("stride", [1, 2, 3, 5, 9])
@pytest.mark.parametrize("from_end", [False, True])
def test_stride_windows_match_naive_cuts(stride, from_end):
    lengths = [1, 2, 7, 9, 5]
    windows, out = stride_windows(SequenceLayout.from_lengths(lengths).starts, stride, from_end)
    cuts = naive_windows(lengths, stride, from_end)
    np.testing.assert_array_equal(np.diff(windows), [n for inner in cuts for n in inner])
    np.testing.assert_array_equal(out.lengths, [len(inner) for inner in cuts])


def test_stride_windows_as_paddle_documents_them():
    starts = np.array([0, 9, 14, 17, 30])
    windows, out = stride_windows(starts, 5)
    assert windows.tolist() == [0, 5, 9, 14, 17, 22, 27, 30]
    assert out.starts.tolist() == [0, 2, 3, 4, 7]
    assert stride_windows(starts, 5, from_end=True)[0].tolist() == [0, 4, 9, 14, 17, 20, 25, 30]


# ---- pooling, last_seq, first_seq: values, layouts, gradients ---------------------------------

@pytest.mark.parametrize("strategy,pool", POOLS)
@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_pooling_values_and_gradients(rng, strategy, pool, lengths):
    x, layout = ragged(rng, lengths, 3)
    layer = paddle.layer.pooling(paddle.layer.data("x", dense_seq(3)), pooling_type=pool)
    y = run_layer(layer, [(x, layout)])
    assert y.seq is None and layer.seq_level == 0
    np.testing.assert_allclose(y.data, naive_pool(x, layout.starts, strategy), rtol=1e-12)
    check_layer_gradients(layer, [(x, layout)])


@pytest.mark.parametrize("strategy,pool", POOLS)
def test_pooling_with_a_bias(rng, strategy, pool):
    x, layout = ragged(rng, [1, 2, 7], 4)
    layer = paddle.layer.pooling(paddle.layer.data("x", dense_seq(4)), pooling_type=pool,
                                 bias_attr=True)
    [spec] = layer.params
    assert spec.name == f"_{layer.name}.wbias" and spec.shape == (1, 4) and spec.is_bias
    bias = rng.standard_normal((1, 4))
    y = run_layer(layer, [(x, layout)], {spec.name: bias})
    np.testing.assert_allclose(y.data, naive_pool(x, layout.starts, strategy) + bias)
    check_layer_gradients(layer, [(x, layout)], {spec.name: bias})


@pytest.mark.parametrize("strategy,pool", POOLS)
@pytest.mark.parametrize("sub_lengths", NESTED_LENGTHS)
def test_pooling_nested_batches_at_both_levels(rng, strategy, pool, sub_lengths):
    x, layout = nested(rng, sub_lengths, 2)
    data = paddle.layer.data("x", dense_sub(2))
    whole = paddle.layer.pooling(data, pooling_type=pool)
    each = paddle.layer.pooling(data, pooling_type=pool, agg_level=AggregateLevel.TO_SEQUENCE)
    assert whole.seq_level == 0 and each.seq_level == 1
    y = run_layer(whole, [(x, layout)])
    assert y.seq is None
    np.testing.assert_allclose(y.data, naive_pool(x, layout.starts, strategy), rtol=1e-12)
    y = run_layer(each, [(x, layout)])
    np.testing.assert_allclose(y.data, naive_pool(x, layout.sub_starts, strategy), rtol=1e-12)
    assert y.seq == SequenceLayout.from_lengths([len(inner) for inner in sub_lengths])
    check_layer_gradients(whole, [(x, layout)])
    check_layer_gradients(each, [(x, layout)])


@pytest.mark.parametrize("strategy,pool", POOLS)
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_pooling_with_stride_gives_a_sequence_of_windows(rng, strategy, pool, stride):
    lengths = [1, 2, 7]
    x, layout = ragged(rng, lengths, 2)
    layer = paddle.layer.pooling(paddle.layer.data("x", dense_seq(2)), pooling_type=pool,
                                 stride=stride)
    assert layer.seq_level == 1
    y = run_layer(layer, [(x, layout)])
    cuts = naive_windows(lengths, stride, from_end=False)
    windows = SequenceLayout.from_lengths([n for inner in cuts for n in inner]).starts
    np.testing.assert_allclose(y.data, naive_pool(x, windows, strategy), rtol=1e-12)
    assert y.seq == SequenceLayout.from_lengths([len(inner) for inner in cuts])
    check_layer_gradients(layer, [(x, layout)])


@pytest.mark.parametrize("first", [False, True])
@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_last_and_first_seq(rng, first, lengths):
    x, layout = ragged(rng, lengths, 3)
    build = paddle.layer.first_seq if first else paddle.layer.last_seq
    layer = build(paddle.layer.data("x", dense_seq(3)))
    assert layer.type == ("seqfirstins" if first else "seqlastins")
    assert layer.name == ("__first_seq_0__" if first else "__last_seq_0__")
    assert layer.size == 3 and layer.params == [] and layer.seq_level == 0
    y = run_layer(layer, [(x, layout)])
    assert y.seq is None
    np.testing.assert_array_equal(y.data, naive_instance(x, layout.starts, first))
    check_layer_gradients(layer, [(x, layout)])


@pytest.mark.parametrize("first", [False, True])
@pytest.mark.parametrize("sub_lengths", NESTED_LENGTHS)
def test_last_and_first_seq_of_nested_batches(rng, first, sub_lengths):
    x, layout = nested(rng, sub_lengths, 2)
    build = paddle.layer.first_seq if first else paddle.layer.last_seq
    data = paddle.layer.data("x", dense_sub(2))
    whole = build(data)
    each = build(data, agg_level=AggregateLevel.TO_SEQUENCE)
    np.testing.assert_array_equal(run_layer(whole, [(x, layout)]).data,
                                  naive_instance(x, layout.starts, first))
    y = run_layer(each, [(x, layout)])
    np.testing.assert_array_equal(y.data, naive_instance(x, layout.sub_starts, first))
    assert y.seq == layout.sequences_of_subsequences()
    check_layer_gradients(each, [(x, layout)])


@pytest.mark.parametrize("first", [False, True])
def test_last_and_first_seq_with_stride(rng, first):
    lengths = [1, 2, 7]
    x, layout = ragged(rng, lengths, 2)
    build = paddle.layer.first_seq if first else paddle.layer.last_seq
    layer = build(paddle.layer.data("x", dense_seq(2)), stride=3)
    y = run_layer(layer, [(x, layout)])
    cuts = naive_windows(lengths, 3, from_end=first)      # first_seq: windows from the end
    windows = SequenceLayout.from_lengths([n for inner in cuts for n in inner]).starts
    np.testing.assert_array_equal(y.data, naive_instance(x, windows, first))
    assert y.seq.lengths.tolist() == [1, 1, 3]
    check_layer_gradients(layer, [(x, layout)])


def test_aggregate_levels_are_v2s():
    assert AggregateLevel.TO_NO_SEQUENCE == AggregateLevel.EACH_TIMESTEP == "non-seq"
    assert AggregateLevel.TO_SEQUENCE == AggregateLevel.EACH_SEQUENCE == "seq"
    assert ExpandLevel.FROM_NO_SEQUENCE == ExpandLevel.FROM_TIMESTEP == "non-seq"
    assert ExpandLevel.FROM_SEQUENCE == "seq"


def test_pooling_defaults_and_types():
    data = paddle.layer.data("x", dense_seq(5))
    layer = paddle.layer.pooling(data)
    assert layer.name == "__seq_pooling_0__" and layer.type == "max" and layer.size == 5
    assert layer.params == [] and layer.act is None
    assert paddle.layer.pooling(data, pooling_type=paddle.pooling.Sum).type == "average"
    assert paddle.layer.pooling(data, pooling_type=paddle.pooling.SquareRootN()).strategy \
        == "squarerootn"


# ---- expand --------------------------------------------------------------------------------

@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_expand_from_no_sequence(rng, lengths):
    x, layout = ragged(rng, lengths, 2)
    short = rng.standard_normal((len(lengths), 3))
    layer = paddle.layer.expand(paddle.layer.data("v", dense(3)),
                                expand_as=paddle.layer.data("s", dense_seq(2)))
    assert layer.name == "__expand_layer_0__" and layer.type == "expand"
    assert layer.size == 3 and layer.seq_level == 1 and layer.params == []
    y = run_layer(layer, [(short, None), (x, layout)])
    assert y.seq == layout
    np.testing.assert_array_equal(y.data, naive_expand(short, layout.starts))
    check_layer_gradients(layer, [(short, None), (x, layout)], wrt_inputs=[0])


def test_expand_reads_only_the_layout_of_expand_as(rng):
    """expand_as gives no gradient (and its values, even integer ids, are never read)."""
    layer = paddle.layer.expand(paddle.layer.data("v", dense(2)),
                                paddle.layer.data("s", paddle.data_type.integer_value_sequence(9)))
    layout = SequenceLayout.from_lengths([2, 1])
    y = run_layer(layer, [(np.ones((2, 2)), None), (np.array([1, 2, 3]), layout)])
    assert y.seq == layout and y.shape == (3, 2)


@pytest.mark.parametrize("sub_lengths", NESTED_LENGTHS)
def test_expand_to_nested_sequences_at_both_levels(rng, sub_lengths):
    target, layout = nested(rng, sub_lengths, 1)
    shape = paddle.layer.data("s", dense_sub(1))
    # FROM_NO_SEQUENCE: one row per sample over the whole nested sequence
    per_sample = rng.standard_normal((len(sub_lengths), 2))
    layer = paddle.layer.expand(paddle.layer.data("v", dense(2)), shape)
    assert layer.seq_level == 2
    y = run_layer(layer, [(per_sample, None), (target, layout)])
    assert y.seq == layout
    np.testing.assert_array_equal(y.data, naive_expand(per_sample, layout.starts))
    check_layer_gradients(layer, [(per_sample, None), (target, layout)], wrt_inputs=[0])
    # FROM_SEQUENCE: a sequence of one row per subsequence
    per_sub = rng.standard_normal((len(layout.sub_starts) - 1, 2))
    layer = paddle.layer.expand(paddle.layer.data("w", dense_seq(2)), shape,
                                expand_level=ExpandLevel.FROM_SEQUENCE)
    source_layout = layout.sequences_of_subsequences()
    y = run_layer(layer, [(per_sub, source_layout), (target, layout)])
    assert y.seq == layout
    np.testing.assert_array_equal(y.data, naive_expand(per_sub, layout.sub_starts))
    check_layer_gradients(layer, [(per_sub, source_layout), (target, layout)], wrt_inputs=[0])


def test_expand_with_a_bias(rng):
    layer = paddle.layer.expand(paddle.layer.data("v", dense(2)),
                                paddle.layer.data("s", dense_seq(1)), bias_attr=True)
    [spec] = layer.params
    x, layout = ragged(rng, [1, 2, 7], 1)
    short, bias = rng.standard_normal((3, 2)), rng.standard_normal((1, 2))
    y = run_layer(layer, [(short, None), (x, layout)], {spec.name: bias})
    np.testing.assert_allclose(y.data, naive_expand(short, layout.starts) + bias)
    check_layer_gradients(layer, [(short, None), (x, layout)], {spec.name: bias},
                          wrt_inputs=[0])


def test_expand_run_time_mismatches_name_the_layers(rng):
    layer = paddle.layer.expand(paddle.layer.data("v", dense(2)),
                                paddle.layer.data("s", dense_seq(1)))
    x, layout = ragged(rng, [1, 2, 7], 1)
    with pytest.raises(ValueError, match=r"__expand_layer_0__.*v has 2 rows but s has 3"):
        run_layer(layer, [(np.ones((2, 2)), None), (x, layout)])
    nested_layer = paddle.layer.expand(paddle.layer.data("w", dense_seq(2)),
                                       paddle.layer.data("n", dense_sub(1)),
                                       expand_level=ExpandLevel.FROM_SEQUENCE)
    target, nested_layout = nested(rng, [[1, 2], [3]], 1)
    with pytest.raises(ValueError, match="one row per subsequence"):
        run_layer(nested_layer, [(np.ones((3, 2)), SequenceLayout.from_lengths([1, 2])),
                                 (target, nested_layout)])


# ---- seq_concat, seq_reshape, concat --------------------------------------------------------

@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_seq_concat(rng, lengths):
    a, la = ragged(rng, lengths, 3)
    b, lb = ragged(rng, list(reversed(lengths)), 3)
    layer = paddle.layer.seq_concat(paddle.layer.data("a", dense_seq(3)),
                                    paddle.layer.data("b", dense_seq(3)))
    assert layer.name == "__seqconcat_0__" and layer.type == "seqconcat" and layer.size == 3
    assert isinstance(layer.act, paddle.activation.Identity) and layer.seq_level == 1
    y = run_layer(layer, [(a, la), (b, lb)])
    np.testing.assert_array_equal(y.data, naive_concat(a, la.starts, b, lb.starts))
    assert y.seq == SequenceLayout.from_lengths(la.lengths + lb.lengths)
    check_layer_gradients(layer, [(a, la), (b, lb)])


def test_seq_concat_with_an_activation_and_a_bias(rng):
    layer = paddle.layer.seq_concat(paddle.layer.data("a", dense_seq(2)),
                                    paddle.layer.data("b", dense_seq(2)),
                                    act=paddle.activation.Tanh(), bias_attr=True)
    [spec] = layer.params
    a, la = ragged(rng, [1, 2, 7], 2)
    b, lb = ragged(rng, [2, 1, 1], 2)
    bias = rng.standard_normal((1, 2))
    y = run_layer(layer, [(a, la), (b, lb)], {spec.name: bias})
    np.testing.assert_allclose(y.data, np.tanh(naive_concat(a, la.starts, b, lb.starts) + bias))
    check_layer_gradients(layer, [(a, la), (b, lb)], {spec.name: bias})


@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_seq_reshape(rng, lengths):
    x, layout = ragged(rng, lengths, 4)
    layer = paddle.layer.seq_reshape(paddle.layer.data("x", dense_seq(4)), reshape_size=2)
    assert layer.name == "__seqreshape_0__" and layer.type == "seqreshape" and layer.size == 2
    y = run_layer(layer, [(x, layout)])
    np.testing.assert_array_equal(y.data, x.reshape(-1, 2))
    assert y.seq == SequenceLayout.from_lengths([2 * n for n in lengths])
    check_layer_gradients(layer, [(x, layout)])


def test_seq_reshape_to_wider_rows_and_of_non_sequences(rng):
    x, layout = ragged(rng, [2, 4], 3)
    layer = paddle.layer.seq_reshape(paddle.layer.data("x", dense_seq(3)), reshape_size=6)
    y = run_layer(layer, [(x, layout)])
    np.testing.assert_array_equal(y.data, x.reshape(-1, 6))
    assert y.seq.lengths.tolist() == [1, 2]
    flat = paddle.layer.seq_reshape(paddle.layer.data("f", dense(6)), reshape_size=2)
    assert flat.seq_level == 1
    y = run_layer(flat, [(rng.standard_normal((2, 6)), None)])
    assert y.shape == (6, 2) and y.seq.lengths.tolist() == [3, 3]


def test_seq_reshape_refuses_a_sequence_that_does_not_divide(rng):
    layer = paddle.layer.seq_reshape(paddle.layer.data("x", dense_seq(3)), reshape_size=2)
    x, layout = ragged(rng, [2, 3], 3)
    with pytest.raises(ValueError, match=r"__seqreshape_0__: sequence 1 of input x holds 9 "
                                         r"values .*reshape_size=2"):
        run_layer(layer, [(x, layout)])


@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_concat_of_sequences_keeps_their_layout(rng, lengths):
    a, layout = ragged(rng, lengths, 2)
    b, _ = ragged(rng, lengths, 3)
    layer = paddle.layer.concat([paddle.layer.data("a", dense_seq(2)),
                                 paddle.layer.data("b", dense_seq(3))])
    assert layer.seq_level == 1 and layer.size == 5
    y = run_layer(layer, [(a, layout), (b, layout)])
    assert y.seq == layout
    np.testing.assert_array_equal(y.data, np.concatenate([a, b], axis=1))
    check_layer_gradients(layer, [(a, layout), (b, layout)])


def test_concat_of_nested_sequences_keeps_their_layout(rng):
    a, layout = nested(rng, [[1, 2], [3]], 2)
    layer = paddle.layer.concat([paddle.layer.data("a", dense_sub(2)),
                                 paddle.layer.data("b", dense_sub(2))])
    assert layer.seq_level == 2
    assert run_layer(layer, [(a, layout), (a, layout)]).seq == layout


def test_concat_refuses_sequences_of_different_lengths(rng):
    layer = paddle.layer.concat([paddle.layer.data("a", dense_seq(2)),
                                 paddle.layer.data("b", dense_seq(2))])
    a, la = ragged(rng, [1, 2], 2)
    b, lb = ragged(rng, [2, 1], 2)
    with pytest.raises(ValueError, match="different lengths"):
        run_layer(layer, [(a, la), (b, lb)])


# ---- a network fed real samples ---------------------------------------------------------------

def test_network_of_sequence_layers_fed_by_the_feeder(rng):
    words = paddle.layer.data("words", dense_seq(3))
    sentences = paddle.layer.data("sentences", dense_sub(3))
    per_sample = paddle.layer.data("feature", dense(2))
    hidden = paddle.layer.fc(words, size=4, act=paddle.activation.Tanh())
    pooled = paddle.layer.pooling(hidden, pooling_type=paddle.pooling.Avg())
    last = paddle.layer.last_seq(hidden)
    spread = paddle.layer.expand(per_sample, expand_as=words)
    both = paddle.layer.concat([hidden, spread])
    joined = paddle.layer.seq_concat(words, words)
    per_sentence = paddle.layer.pooling(sentences, agg_level=AggregateLevel.TO_SEQUENCE)
    firsts = paddle.layer.first_seq(per_sentence)
    outputs = [pooled, last, both, joined, per_sentence, firsts]
    network = Network(outputs)
    samples = [
        ([[1, 2, 3]], [[[1, 0, 0]], [[0, 1, 0], [0, 0, 1]]], [1, 2]),
        ([[1, 1, 1], [2, 2, 2], [3, 3, 3]], [[[5, 5, 5], [6, 6, 6]]], [3, 4]),
    ]
    feed = Feeder(network.data_layers, {"words": 0, "sentences": 1, "feature": 2})(samples)
    params = {spec.name: rng.standard_normal(spec.shape) * 0.1
              for spec in network.param_specs.values()}
    values = network.forward(feed, RunContext(params))
    w, b = params["___fc_layer_0__.w0"], params["___fc_layer_0__.wbias"]
    h = [np.tanh(np.array(s[0], dtype=float) @ w + b) for s in samples]
    np.testing.assert_allclose(values[pooled.name].data, [x.mean(axis=0) for x in h], rtol=1e-5)
    np.testing.assert_allclose(values[last.name].data, [x[-1] for x in h], rtol=1e-5)
    assert values[both.name].seq.lengths.tolist() == [1, 3]
    np.testing.assert_allclose(values[both.name].data[1:, 4:], [[3, 4]] * 3)
    assert values[joined.name].seq.lengths.tolist() == [2, 6]
    assert values[per_sentence.name].seq.lengths.tolist() == [2, 1]
    np.testing.assert_allclose(values[per_sentence.name].data,
                               [[1, 0, 0], [0, 1, 1], [6, 6, 6]])
    np.testing.assert_allclose(values[firsts.name].data, [[1, 0, 0], [6, 6, 6]])


# ---- construction-time errors ---------------------------------------------------------------

def test_sequence_layers_refuse_non_sequence_inputs():
    flat = paddle.layer.data("flat", dense(3))
    seq = paddle.layer.data("seq", dense_seq(3))
    for build, layer_name in [(lambda: paddle.layer.pooling(flat), "__seq_pooling_0__"),
                              (lambda: paddle.layer.last_seq(flat), "__last_seq_0__"),
                              (lambda: paddle.layer.first_seq(flat), "__first_seq_0__"),
                              (lambda: paddle.layer.seq_concat(seq, flat), "__seqconcat_0__"),
                              (lambda: paddle.layer.expand(flat, flat), "__expand_layer_0__")]:
        with pytest.raises(ValueError, match=rf"layer {layer_name} .*flat is a non-sequence"):
            build()


def test_agg_level_to_sequence_needs_a_nested_input():
    seq = paddle.layer.data("seq", dense_seq(3))
    with pytest.raises(ValueError, match=r"__seq_pooling_0__: agg_level=AggregateLevel"
                                         r".TO_SEQUENCE .* seq is a sequence"):
        paddle.layer.pooling(seq, agg_level=AggregateLevel.TO_SEQUENCE)
    with pytest.raises(ValueError, match="__last_seq_0__: agg_level"):
        paddle.layer.last_seq(seq, agg_level=AggregateLevel.EACH_SEQUENCE)


def test_bad_agg_level_and_stride():
    seq = paddle.layer.data("seq", dense_seq(3))
    sub = paddle.layer.data("sub", dense_sub(3))
    with pytest.raises(ValueError, match=r"agg_level='each' must be AggregateLevel"):
        paddle.layer.pooling(seq, agg_level="each")
    for stride in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match="stride=.* must be -1"):
            paddle.layer.pooling(seq, stride=stride)
    with pytest.raises(ValueError, match="stride=2 needs agg_level=AggregateLevel.TO_NO_SEQ"):
        paddle.layer.first_seq(sub, agg_level=AggregateLevel.TO_SEQUENCE, stride=2)
    with pytest.raises(ValueError, match="stride=2 windows a plain sequence, but input sub is "
                                         "a nested"):
        paddle.layer.pooling(sub, stride=2)


def test_bad_pooling_types():
    seq = paddle.layer.data("seq", dense_seq(3))
    with pytest.raises(ValueError, match=r"CudnnMax\(\) pools images"):
        paddle.layer.pooling(seq, pooling_type=paddle.pooling.CudnnMax())
    with pytest.raises(ValueError, match="pooling_type='max' must be paddle.pooling.Max"):
        paddle.layer.pooling(seq, pooling_type="max")


def test_sequence_layers_refuse_integer_ids_and_sparse_rows():
    ids = paddle.layer.data("ids", paddle.data_type.integer_value_sequence(10))
    with pytest.raises(ValueError, match="__seq_pooling_0__ .* ids gives integer ids"):
        paddle.layer.pooling(ids)
    sparse = paddle.layer.data("sp", paddle.data_type.sparse_binary_vector_sequence(10))
    with pytest.raises(ValueError, match="cannot read the sparse rows of sp"):
        paddle.layer.last_seq(sparse)
    with pytest.raises(ValueError, match="cannot read the sparse rows of sp"):
        paddle.layer.expand(sparse, ids)


def test_expand_level_errors():
    flat = paddle.layer.data("flat", dense(3))
    seq = paddle.layer.data("seq", dense_seq(3))
    sub = paddle.layer.data("sub", dense_sub(3))
    with pytest.raises(ValueError, match="expand_level='x' must be ExpandLevel.FROM_NO_SEQUENCE"):
        paddle.layer.expand(flat, seq, expand_level="x")
    with pytest.raises(ValueError, match="FROM_SEQUENCE .*expand_as must be a nested sequence; "
                                         "seq is a sequence"):
        paddle.layer.expand(seq, seq, expand_level=ExpandLevel.FROM_SEQUENCE)
    with pytest.raises(ValueError, match="FROM_SEQUENCE needs a sequence input .* flat is a "
                                         "non-sequence"):
        paddle.layer.expand(flat, sub, expand_level=ExpandLevel.FROM_SEQUENCE)
    with pytest.raises(ValueError, match="FROM_NO_SEQUENCE expands one row per sample, but "
                                         "input sub is a nested"):
        paddle.layer.expand(sub, sub)


def test_seq_concat_and_seq_reshape_errors():
    a = paddle.layer.data("a", dense_seq(3))
    b = paddle.layer.data("b", dense_seq(4))
    with pytest.raises(ValueError, match="__seqconcat_0__: seq_concat inputs must have the same "
                                         "size; a has 3, b has 4"):
        paddle.layer.seq_concat(a, b)
    with pytest.raises(ValueError, match="reshape_size=0 must be a positive integer"):
        paddle.layer.seq_reshape(a, 0)
    with pytest.raises(ValueError, match="input f of size 5 .* reshape_size=2"):
        paddle.layer.seq_reshape(paddle.layer.data("f", dense(5)), 2)


def test_a_sequence_input_fed_without_its_layout_is_named():
    layer = paddle.layer.pooling(paddle.layer.data("x", dense_seq(2)))
    with pytest.raises(ValueError, match="__seq_pooling_0__ .*input x is declared a sequence but "
                                         "its value carries no sequence layout"):
        run_layer(layer, [(np.ones((3, 2)), None)])


def test_sequence_softmax_activation_normalises_each_sequence():
    """``act=SequenceSoftmax()`` on a size-1 layer: each sequence's scores sum to 1, equal to
    a naive per-sequence softmax, with float64 gradients; non-sequence input is refused."""
    rng = np.random.default_rng(5)
    x = paddle.layer.data("scores_in", paddle.data_type.dense_vector_sequence(3))
    scores = paddle.layer.fc(input=x, size=1, act=paddle.activation.SequenceSoftmax(),
                             bias_attr=False)
    values, layout = ragged(rng, [1, 2, 7], 3)
    params = {spec.name: rng.standard_normal(spec.compute_shape) for spec in scores.params}
    out = run_layer(scores, [(values, layout)], params).data.ravel()
    raw = values @ params[scores.params[0].name]
    for start, end in zip(layout.starts[:-1], layout.starts[1:]):
        e = np.exp(raw[start:end, 0] - raw[start:end, 0].max())
        np.testing.assert_allclose(out[start:end], e / e.sum(), rtol=1e-12)
    check_layer_gradients(scores, [(values, layout)], params)
    flat = paddle.layer.data("flat_in", paddle.data_type.dense_vector(3))
    bad = paddle.layer.fc(input=flat, size=1, act=paddle.activation.SequenceSoftmax())
    with pytest.raises(ValueError, match="not a sequence"):
        run_layer(bad, [(rng.standard_normal((2, 3)), None)],
                  {spec.name: rng.standard_normal(spec.compute_shape) for spec in bad.params})
