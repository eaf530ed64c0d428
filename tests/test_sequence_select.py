"""kmax_seq_score, sub_nested_seq, seq_slice and eos: the reference kernels against naive
loops (and Paddle's documented example), float64 gradient checks of the value inputs, output
sizes and layouts as v2, a beam-training chain fed through the feeder, and the build- and
run-time errors."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minidl as paddle
from minidl.backends import kernel
from minidl.core.sequence import SequenceLayout
from minidl.functions import sequence_ids, sequence_select  # noqa: F401  register the kernels
from minidl.layers.graph import Network, RunContext
from minidl.layers.projections import gives_ids
from minidl.training.feeding import Feeder

from conftest import to_numpy
from sequence_helpers import check_layer_gradients, nested, ragged, run_layer

L, dt = paddle.layer, paddle.data_type


# ---- naive definitions -------------------------------------------------------------------

def naive_kmax(scores, starts, beam):
    out = []
    for u in range(len(starts) - 1):
        unit = [(-scores[r], r - starts[u]) for r in range(starts[u], starts[u + 1])]
        best = [p for _, p in sorted(unit)][:beam]      # ties: the earlier position first
        out.append(best + [-1] * (beam - len(best)))
    return np.array(out, dtype=float).reshape(len(starts) - 1, beam)


def naive_slices(starts, first, last):
    """Per unit, the (first, last) row pairs of its slices."""
    out = []
    for u in range(len(starts) - 1):
        pieces, columns = [], (first if first is not None else last).shape[1]
        for k in range(columns):
            if (first is not None and first[u][k] == -1) or (last is not None and
                                                            last[u][k] == -1):
                break
            lo = starts[u] + (int(first[u][k]) if first is not None else 0)
            hi = starts[u] + int(last[u][k]) if last is not None else starts[u + 1] - 1
            pieces.append((lo, hi))
        out.append(pieces)
    return out


# ---- kmax_seq_score --------------------------------------------------------------------

def test_kmax_kernel_small_cases(xp):
    scores = xp.asarray([[0.1], [0.9], [0.4], [0.7], [0.5], [0.5]])
    out = kernel("kmax_seq_score")(scores, np.array([0, 4, 6]), 3)
    np.testing.assert_array_equal(to_numpy(out), [[1, 3, 2], [0, 1, -1]])


@settings(max_examples=30)
@given(lengths=st.lists(st.integers(0, 6), min_size=1, max_size=5),
       beam=st.integers(1, 7), seed=st.integers(0, 2 ** 16), ties=st.booleans())
def test_kmax_kernel_on_generated_batches(lengths, beam, seed, ties):
    rng = np.random.default_rng(seed)
    layout = SequenceLayout.from_lengths(lengths)
    scores = rng.standard_normal((layout.num_rows, 1))
    if ties:
        scores = np.round(scores)
    out = kernel("kmax_seq_score")(scores, layout.starts, beam)
    np.testing.assert_array_equal(out, naive_kmax(scores[:, 0], layout.starts, beam))


def test_kmax_layer_plain_and_nested(rng):
    plain = L.data("s", dt.dense_vector_sequence(1))
    top = L.kmax_seq_score(input=plain, beam_size=2)
    assert (top.name, top.type, top.size, top.seq_level) == (
        "__kmax_seq_score_layer_0__", "kmax_seq_score", 2, 0)
    assert top.params == []
    scores, layout = ragged(rng, [3, 1], 1)
    y = run_layer(top, [(scores, layout)])
    assert y.seq is None and not y.requires_grad
    np.testing.assert_array_equal(y.data, naive_kmax(scores[:, 0], layout.starts, 2))
    sub = L.data("n", dt.dense_vector_sub_sequence(1))
    top_sub = L.kmax_seq_score(input=sub, beam_size=3, name="k")
    assert top_sub.seq_level == 1 and top_sub.size == 3
    scores, layout = nested(rng, [[2, 1], [4]], 1)
    y = run_layer(top_sub, [(scores, layout)])
    assert y.seq == SequenceLayout([0, 2, 3])      # one row per subsequence, by sequence
    np.testing.assert_array_equal(y.data, naive_kmax(scores[:, 0], layout.sub_starts, 3))


def test_kmax_errors():
    seq = L.data("s", dt.dense_vector_sequence(1))
    with pytest.raises(ValueError, match=r"layer k \(kmax_seq_score\): beam_size=0 must be"):
        L.kmax_seq_score(input=seq, beam_size=0, name="k")
    with pytest.raises(ValueError, match=r"beam_size=True must be"):
        L.kmax_seq_score(input=seq, beam_size=True, name="k")
    wide = L.data("w", dt.dense_vector_sequence(2))
    with pytest.raises(ValueError, match=r"input w has size 2; expected 1"):
        L.kmax_seq_score(input=wide, name="k")
    plain = L.data("p", dt.dense_vector(1))
    with pytest.raises(ValueError, match=r"layer k \(kmax_seq_score\).*non-sequence"):
        L.kmax_seq_score(input=plain, name="k")


# ---- sub_nested_seq ------------------------------------------------------------------------

def test_sub_nested_seq_plan_on_paddles_documented_example():
    sub_lengths = [[3, 1], [1, 2, 3, 5], [5], [2, 1, 2, 3]]
    layout = SequenceLayout.from_lengths(None, sub_lengths)
    selected = np.array([[0, 1, -1], [0, 1, 2], [0, -1, -1], [0, 2, 3]], dtype=float)
    rows, lengths, per = kernel("sub_nested_seq_rows")(layout.starts, layout.sub_starts,
                                                       selected)
    assert rows.tolist() == list(range(10)) + list(range(15, 22)) + list(range(23, 28))
    assert lengths.tolist() == [3, 1, 1, 2, 3, 5, 2, 2, 3] and per.tolist() == [2, 3, 1, 3]


@pytest.mark.parametrize("selected, expect", [
    ([[2, 0], [-1, -1]], [[[3, 4, 5, 6], [0]], []]),
    ([[1, 1], [0, -1]], [[[1, 2], [1, 2]], [[7, 8, 9]]]),
])
def test_sub_nested_seq_layer(rng, selected, expect):
    """Rows [0 | 1 2 | 3 4 5 6] [7 8 9]: subsequences picked in the order given, repeats
    allowed, none at all for a row starting with -1."""
    x = L.data("x", dt.dense_vector_sub_sequence(2))
    ids = L.data("ids", dt.dense_vector(2))
    layer = L.sub_nested_seq(input=x, selected_indices=ids)
    assert (layer.name, layer.type, layer.size, layer.seq_level) == (
        "__sub_nested_seq_layer_0__", "sub_nested_seq", 2, 2)
    values, layout = nested(rng, [[1, 2, 4], [3]], 2)
    chosen = np.array(selected, dtype=float)
    y = run_layer(layer, [(values, layout), (chosen, None)])
    flat = [r for seq in expect for sub in seq for r in sub]
    np.testing.assert_array_equal(y.data, values[flat].reshape(-1, 2))
    assert y.seq == SequenceLayout.from_lengths(None, [[len(s) for s in seq] for seq in expect])
    check_layer_gradients(layer, [(values, layout), (chosen, None)], wrt_inputs=[0])


def test_row_selection_gradient_adds_repeated_rows(xp):
    gy = xp.asarray([[1.0], [2.0], [4.0]])
    gx = kernel("select_rows_grad")(gy, np.array([2, 0, 2]), 4)
    np.testing.assert_array_equal(to_numpy(gx), [[2.0], [0.0], [5.0], [0.0]])


def test_sub_nested_seq_errors(rng):
    seq = L.data("s", dt.dense_vector_sequence(2))
    ids = L.data("ids", dt.dense_vector(2))
    with pytest.raises(ValueError, match=r"layer t \(sub_nested_seq\).*expected a nested"):
        L.sub_nested_seq(input=seq, selected_indices=ids, name="t")
    sub = L.data("n", dt.dense_vector_sub_sequence(2))
    with pytest.raises(ValueError, match=r"layer t \(sub_nested_seq\): selected_indices s is a "
                                         r"sequence"):
        L.sub_nested_seq(input=sub, selected_indices=seq, name="t")
    int_ids = L.data("i", dt.integer_value(3))
    with pytest.raises(ValueError, match=r"layer t .*integer ids"):
        L.sub_nested_seq(input=sub, selected_indices=int_ids, name="t")
    layer = L.sub_nested_seq(input=sub, selected_indices=ids, name="t2")
    values, layout = nested(rng, [[1, 2], [3]], 2)
    for bad, message in (([[0, 2], [0, -1]], r"selected_indices\[0, 1\] = 2, but sequence 0 "
                                              r"has 2 subsequences"),
                         ([[0.5, -1], [0, -1]], r"selected_indices must hold whole numbers >= 0 "
                                                  r"\(with -1 ending a row\); entry \(0, 0\) "
                                                  r"is 0.5"),
                         ([[0, -1]], r"selected_indices has shape \(1, 2\); expected one row per "
                                       r"sequence \(2 rows\)")):
        with pytest.raises(ValueError, match=r"layer t2 \(sub_nested_seq\): " + message):
            run_layer(layer, [(values, layout), (np.array(bad, dtype=float), None)])


# ---- seq_slice -----------------------------------------------------------------------------

@settings(max_examples=30)
@given(lengths=st.lists(st.integers(1, 6), min_size=1, max_size=4), columns=st.integers(1, 3),
       which=st.sampled_from(["starts", "ends", "both"]), seed=st.integers(0, 2 ** 16))
def test_seq_slice_plan_on_generated_indices(lengths, columns, which, seed):
    rng = np.random.default_rng(seed)
    starts = SequenceLayout.from_lengths(lengths).starts
    first = np.zeros((len(lengths), columns)) if which != "ends" else None
    last = np.zeros((len(lengths), columns)) if which != "starts" else None
    for u, n in enumerate(lengths):
        stop = int(rng.integers(0, columns + 1))         # -1 from column `stop` on
        for k in range(columns):
            lo = int(rng.integers(0, n)) if first is not None else 0
            hi = int(rng.integers(lo, n)) if last is not None else n - 1
            if first is not None:
                first[u, k] = lo if k < stop else -1
            if last is not None:
                last[u, k] = hi if k < stop or first is not None else -1
    rows, lengths_out, per = kernel("seq_slice_rows")(starts, first, last)
    pieces = naive_slices(starts, first, last)
    assert per.tolist() == [len(p) for p in pieces]
    assert lengths_out.tolist() == [hi - lo + 1 for p in pieces for lo, hi in p]
    assert rows.tolist() == [r for p in pieces for lo, hi in p for r in range(lo, hi + 1)]


def test_seq_slice_of_plain_sequences(rng):
    """Sequences a0 a1 a2 | b0 b1; each slice becomes a sequence of its own."""
    x = L.data("x", dt.dense_vector_sequence(3))
    s, e = L.data("s", dt.dense_vector(2)), L.data("e", dt.dense_vector(2))
    both = L.seq_slice(input=x, starts=s, ends=e)
    only_starts = L.seq_slice(input=x, starts=s, ends=None, name="tail")
    assert (both.name, both.type, both.size, both.seq_level, both.params) == (
        "__seq_slice_layer_0__", "seq_slice", 3, 1, [])
    assert [p.name for p in both.inputs] == ["x", "s", "e"]
    values, layout = ragged(rng, [3, 2], 3)
    starts = np.array([[1, 0], [0, -1]], dtype=float)
    ends = np.array([[2, 0], [1, -1]], dtype=float)
    y = run_layer(both, [(values, layout), (starts, None), (ends, None)])
    np.testing.assert_array_equal(y.data, values[[1, 2, 0, 3, 4]])
    assert y.seq == SequenceLayout.from_lengths([2, 1, 2])
    check_layer_gradients(both, [(values, layout), (starts, None), (ends, None)],
                          wrt_inputs=[0])
    y = run_layer(only_starts, [(values, layout), (starts, None)])
    np.testing.assert_array_equal(y.data, values[[1, 2, 0, 1, 2, 3, 4]])
    assert y.seq == SequenceLayout.from_lengths([2, 3, 2])


def test_seq_slice_of_nested_sequences_stays_nested(rng):
    x = L.data("x", dt.dense_vector_sub_sequence(1))
    e = L.data("e", dt.dense_vector(1))
    layer = L.seq_slice(input=x, starts=None, ends=e)
    assert layer.seq_level == 2
    values, layout = nested(rng, [[3, 2], [4]], 1)          # subsequences at rows 0, 3, 5
    ends = np.array([[1], [-1], [0]], dtype=float)            # one row per SUBSEQUENCE
    y = run_layer(layer, [(values, layout), (ends, None)])
    np.testing.assert_array_equal(y.data, values[[0, 1, 5]])
    assert y.seq == SequenceLayout.from_lengths(None, [[2], [1]])
    check_layer_gradients(layer, [(values, layout), (ends, None)], wrt_inputs=[0])


def test_seq_slice_errors(rng):
    x = L.data("x", dt.dense_vector_sequence(2))
    s, e3 = L.data("s", dt.dense_vector(2)), L.data("e3", dt.dense_vector(3))
    with pytest.raises(ValueError, match=r"layer c \(seq_slice\): starts and ends are both"):
        L.seq_slice(input=x, starts=None, ends=None, name="c")
    with pytest.raises(ValueError, match=r"starts s has 2 columns and ends e3 3"):
        L.seq_slice(input=x, starts=s, ends=e3, name="c")
    with pytest.raises(ValueError, match=r"layer c \(seq_slice\).*non-sequence"):
        L.seq_slice(input=s, starts=s, ends=None, name="c")
    seq_ids = L.data("q", dt.dense_vector_sequence(2))
    with pytest.raises(ValueError, match=r"layer c \(seq_slice\): q is a sequence, but a plain"):
        L.seq_slice(input=x, starts=seq_ids, ends=None, name="c")
    with pytest.raises(ValueError, match=r"layer c: starts must be a layer"):
        L.seq_slice(input=x, starts=[1, 2], ends=None, name="c")
    layer = L.seq_slice(input=x, starts=s, ends=None, name="ok")
    values, layout = ragged(rng, [2, 3], 2)
    for bad, message in (([[2, -1], [0, -1]], r"slice 0 of sequence 0 covers positions "
                                               r"\[2, 1\] of a sequence of 2 rows"),
                         ([[0, -1]], r"starts has shape \(1, 2\)"),
                         ([[-3, 0], [0, 0]], r"starts must hold whole numbers.*entry \(0, 0\) "
                                             r"is -3.0")):
        with pytest.raises(ValueError, match=r"layer ok \(seq_slice\): " + message):
            run_layer(layer, [(values, layout), (np.array(bad, dtype=float), None)])


def test_beam_training_chain_through_the_feeder(rng):
    """kmax over sentence scores -> sub_nested_seq -> fc scores -> kmax -> seq_slice: the
    chain of Paddle's beam-training configuration, fed real samples."""
    states = L.data("states", dt.dense_vector_sub_sequence(2))
    sentence_scores = L.data("scores", dt.dense_vector_sequence(1))
    top = L.kmax_seq_score(input=sentence_scores, beam_size=2)
    chosen = L.sub_nested_seq(input=states, selected_indices=top)
    word_scores = L.fc(input=chosen, size=1, act=paddle.activation.Linear(), bias_attr=False)
    starts = L.kmax_seq_score(input=word_scores, beam_size=1)
    spans = L.seq_slice(input=chosen, starts=starts, ends=None)
    network = Network([spans])
    samples = [([[[1, 2], [3, 4]], [[5, 6]], [[7, 8], [9, 10], [11, 12]]],
                [[0.1], [0.5], [0.3]]),
               ([[[0, 1]]], [[1.0]])]
    feed = Feeder(network.data_layers, {"states": 0, "scores": 1})(samples)
    weight = np.array([[1.0], [0.0]])               # a word's score is its first value
    out = network.forward(feed, RunContext({"___fc_layer_0__.w0": paddle.core.Tensor(weight)}))
    # sample 0 keeps sentences 1 then 2; sample 1 its only sentence
    np.testing.assert_array_equal(out[chosen.name].data,
                                  [[5, 6], [7, 8], [9, 10], [11, 12], [0, 1]])
    # the best word of each chosen sentence, to the sentence's end
    np.testing.assert_array_equal(out[spans.name].data, [[5, 6], [11, 12], [0, 1]])
    assert out[spans.name].seq == SequenceLayout.from_lengths(None, [[1, 1], [1]])


# ---- eos -----------------------------------------------------------------------------------

def test_eos_kernel_and_layer(xp, rng):
    np.testing.assert_array_equal(
        to_numpy(kernel("eos_check")(xp.asarray([3, 1, 3, 0]), 3)), [1, 0, 1, 0])
    ids = L.data("w", dt.integer_value_sequence(5))
    eos = L.eos(input=ids, eos_id=4)
    assert (eos.name, eos.type, eos.size, eos.seq_level, eos.params) == (
        "__eos_layer_0__", "eos_id", 2, 1, [])
    assert gives_ids(eos)
    words = rng.integers(0, 5, 9)
    layout = SequenceLayout.from_lengths([4, 5])
    y = run_layer(eos, [(words, layout)])
    assert y.seq == layout and y.data.dtype == np.int64
    np.testing.assert_array_equal(y.data, [int(w == 4) for w in words])
    chosen = L.max_id(input=L.data("p", dt.dense_vector(6)))
    assert L.eos(input=chosen, eos_id=5).size == 2


def test_eos_errors():
    dense = L.data("d", dt.dense_vector(4))
    with pytest.raises(ValueError, match=r"layer e \(eos_id\) compares integer ids.*d "
                                         r"\(dense_vector\(4\) data\)"):
        L.eos(input=dense, eos_id=1, name="e")
    ids = L.data("w", dt.integer_value(5))
    with pytest.raises(ValueError, match=r"eos_id=5, but input w .* gives ids below 5"):
        L.eos(input=ids, eos_id=5, name="e")
    for bad in (-1, 1.0, True):
        with pytest.raises(ValueError, match=r"layer e \(eos_id\): eos_id=.* must be an integer"):
            L.eos(input=ids, eos_id=bad, name="e")
