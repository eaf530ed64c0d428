"""paddle.layer.ctc / warp_ctc: the cost against a brute-force sum over every alignment,
warp_ctc equal to ctc of the softmax with the blank moved, float64 gradients on ragged batches,
norm_by_times, impossible labels, sizes as v2 and construction errors."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl as paddle
from minidl.backends import kernel
from minidl.core.gradcheck import check_elementwise
from minidl.core.sequence import SequenceLayout
from minidl.core.tensor import Tensor
from minidl.functions.ctc import ctc_cost, warp_ctc_cost

from sequence_helpers import check_layer_gradients, run_layer

dense_seq = paddle.data_type.dense_vector_sequence
ids_seq = paddle.data_type.integer_value_sequence


def collapse(path, blank):
    """An alignment read as a label: repeats merged, then blanks dropped."""
    merged = [k for i, k in enumerate(path) if i == 0 or k != path[i - 1]]
    return [k for k in merged if k != blank]


def brute_force_cost(probs, label, blank):
    """-log of the summed probability of every alignment that reads as ``label``."""
    steps, classes = probs.shape
    total = sum(math.prod(probs[t, path[t]] for t in range(steps))
                for path in itertools.product(range(classes), repeat=steps)
                if collapse(path, blank) == list(label))
    return -math.log(total) if total > 0 else 0.0


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def random_probs(rng, steps, classes):
    return softmax(rng.standard_normal((steps, classes)))


def case(rng, lengths, label_lengths, classes):
    """Probabilities of sequences of ``lengths``, labels of ``label_lengths`` (blank last)."""
    layout = SequenceLayout.from_lengths(lengths)
    label_layout = SequenceLayout.from_lengths(label_lengths)
    probs = random_probs(rng, layout.num_rows, classes)
    labels = rng.integers(0, classes - 1, label_layout.num_rows)
    return probs, layout, labels, label_layout


# ---- the cost ---------------------------------------------------------------------------------

@settings(max_examples=30)
@given(steps=st.integers(1, 5), label=st.lists(st.integers(0, 1), max_size=3),
       seed=st.integers(0, 999))
def test_cost_is_minus_log_of_the_sum_over_alignments(steps, label, seed):
    probs = random_probs(np.random.default_rng(seed), steps, 3)
    cost = kernel("ctc_forward")(np.log(probs), np.array(label, dtype=np.int64),
                                 np.array([0, steps]), np.array([0, len(label)]), 2)
    assert cost[0] == pytest.approx(brute_force_cost(probs, label, 2), rel=1e-10, abs=1e-12)


def test_repeated_labels_need_a_blank_between_them():
    probs = np.full((2, 3), 1 / 3)
    label = np.array([1, 1])
    # two steps cannot hold "1 blank 1": no alignment, cost 0 (as v2), no gradient
    cost = kernel("ctc_forward")(np.log(probs), label, np.array([0, 2]), np.array([0, 2]), 2)
    assert cost[0] == 0.0
    grad = kernel("ctc_backward")(np.log(probs), label, np.array([0, 2]), np.array([0, 2]), 2,
                                  np.ones(1))
    assert not grad.any()
    # with three steps only "1 blank 1" fits: p = (1/3)^3
    probs = np.full((3, 3), 1 / 3)
    cost = kernel("ctc_forward")(np.log(probs), label, np.array([0, 3]), np.array([0, 2]), 2)
    assert cost[0] == pytest.approx(3 * math.log(3))


def test_a_ragged_batch_is_each_sequence_alone(rng):
    probs, layout, labels, label_layout = case(rng, [3, 1, 4], [2, 1, 0], 4)
    costs = ctc_cost(Tensor(probs), labels, layout.starts, label_layout.starts, 3).data
    assert costs.shape == (3, 1)
    for i in range(3):
        b, e = layout.starts[i], layout.starts[i + 1]
        lb, le = label_layout.starts[i], label_layout.starts[i + 1]
        assert costs[i, 0] == pytest.approx(brute_force_cost(probs[b:e], labels[lb:le], 3))


def test_float32_long_sequence_stays_finite(rng):
    probs = random_probs(rng, 60, 5).astype(np.float32)
    labels = rng.integers(0, 4, 20)
    cost = kernel("ctc_forward")(np.log(probs), labels, np.array([0, 60]), np.array([0, 20]), 4)
    assert np.isfinite(cost).all() and cost[0] > 0


# ---- gradients --------------------------------------------------------------------------------

def test_every_gradient_entry_on_a_tiny_batch(rng):
    probs, layout, labels, label_layout = case(rng, [2, 3], [1, 2], 3)
    check_elementwise(lambda p: ctc_cost(p, labels, layout.starts, label_layout.starts, 2),
                      probs)
    check_elementwise(lambda x: warp_ctc_cost(x, labels, layout.starts, label_layout.starts, 0),
                      rng.standard_normal((5, 3)))


@pytest.mark.parametrize("lengths,label_lengths", [([1, 3, 5], [1, 2, 2]), ([4], [3]),
                                                   ([6, 2], [0, 1])])
def test_layer_gradients_on_ragged_batches(lengths, label_lengths, rng):
    probs, layout, labels, label_layout = case(rng, lengths, label_lengths, 4)
    x = paddle.layer.data("x", dense_seq(4))
    y = paddle.layer.data("y", ids_seq(3))
    check_layer_gradients(paddle.layer.ctc(input=x, label=y), [(probs, layout),
                                                               (labels, label_layout)])
    scores = rng.standard_normal(probs.shape)
    check_layer_gradients(paddle.layer.warp_ctc(input=x, label=y, blank=3),
                          [(scores, layout), (labels, label_layout)])


def test_norm_by_times_divides_each_gradient_by_its_length(rng):
    probs, layout, labels, label_layout = case(rng, [2, 5], [1, 2], 3)
    grads = []
    for norm in (False, True):
        p = Tensor(probs.copy(), requires_grad=True)
        out = ctc_cost(p, labels, layout.starts, label_layout.starts, 2, norm_by_times=norm)
        out.backward(np.ones((2, 1)))
        grads.append((out.data, p.grad))
    np.testing.assert_allclose(grads[0][0], grads[1][0])          # the cost is unchanged
    per_row = np.repeat(layout.lengths, layout.lengths).reshape(-1, 1)
    np.testing.assert_allclose(grads[1][1], grads[0][1] / per_row)


def test_warp_ctc_gradient_is_softmax_minus_occupancy(rng):
    """At every step the score gradient sums to 0 (softmax minus a distribution)."""
    scores = rng.standard_normal((4, 3))
    x = Tensor(scores, requires_grad=True)
    warp_ctc_cost(x, np.array([1, 2]), np.array([0, 4]), np.array([0, 2]), 0).backward(
        np.ones((1, 1)))
    np.testing.assert_allclose(x.grad.sum(axis=1), 0, atol=1e-12)


# ---- warp_ctc is ctc of the softmax, the blank moved ------------------------------------------

@pytest.mark.parametrize("blank", [0, 1, 3])
def test_warp_ctc_equals_ctc_with_the_blank_last(blank, rng):
    classes = 4
    layout, label_layout = SequenceLayout.from_lengths([3, 5]), SequenceLayout.from_lengths([2, 3])
    scores = rng.standard_normal((8, classes))
    others = [k for k in range(classes) if k != blank]
    labels = rng.choice(others, 5)
    warp = warp_ctc_cost(Tensor(scores), labels, layout.starts, label_layout.starts, blank).data
    moved = softmax(scores)[:, others + [blank]]                   # the blank's column last
    renamed = np.array([others.index(k) for k in labels])
    plain = ctc_cost(Tensor(moved), renamed, layout.starts, label_layout.starts,
                     classes - 1).data
    np.testing.assert_allclose(warp, plain, rtol=1e-12)


# ---- layers -----------------------------------------------------------------------------------

def test_sizes_names_and_defaults_as_v2():
    x = paddle.layer.data("x", dense_seq(5))
    y = paddle.layer.data("y", ids_seq(4))
    c = paddle.layer.ctc(input=x, label=y)
    w = paddle.layer.warp_ctc(input=x, label=y, size=5, norm_by_times=True)
    assert (c.name, c.size, c.num_classes, c.blank, c.norm_by_times, c.seq_level) == \
        ("__ctc_layer_0__", 1, 5, 4, False, 0)
    assert (w.name, w.num_classes, w.blank, w.norm_by_times, w.params) == \
        ("__warp_ctc_layer_0__", 5, 0, True, [])


def test_layer_runs_one_cost_per_sequence(rng):
    probs, layout, labels, label_layout = case(rng, [2, 3], [1, 1], 3)
    c = paddle.layer.ctc(input=paddle.layer.data("x", dense_seq(3)),
                         label=paddle.layer.data("y", ids_seq(2)))
    out = run_layer(c, [(probs, layout), (labels, label_layout)])
    assert out.shape == (2, 1) and out.seq is None
    expected = ctc_cost(Tensor(probs), labels, layout.starts, label_layout.starts, 2).data
    np.testing.assert_allclose(out.data, expected)


def test_construction_errors():
    x = paddle.layer.data("x", dense_seq(5))
    y = paddle.layer.data("y", ids_seq(4))
    with pytest.raises(ValueError, match="size must be num_classes \\+ 1 = 5"):
        paddle.layer.ctc(input=x, label=y, size=4)
    with pytest.raises(ValueError, match="gives 5 values per timestep, expected size=4"):
        paddle.layer.ctc(input=x, label=paddle.layer.data("y3", ids_seq(3)))
    with pytest.raises(ValueError, match="blank=5 must be an integer in \\[0, 5\\)"):
        paddle.layer.warp_ctc(input=x, label=y, blank=5)
    with pytest.raises(ValueError, match="label must be class ids"):
        paddle.layer.ctc(input=x, label=paddle.layer.data("d", dense_seq(4)))
    with pytest.raises(ValueError, match="CTC reads sequences"):
        paddle.layer.ctc(input=paddle.layer.data("x1", paddle.data_type.dense_vector(5)),
                         label=y)


def test_run_time_label_errors(rng):
    probs, layout, _, _ = case(rng, [3], [1], 3)
    c = paddle.layer.ctc(input=paddle.layer.data("x", dense_seq(3)),
                         label=paddle.layer.data("y", ids_seq(2)))
    one = SequenceLayout.from_lengths([1])
    with pytest.raises(ValueError, match="label 2 is not a class.*not the blank 2"):
        run_layer(c, [(probs, layout), (np.array([2]), one)])
    with pytest.raises(ValueError, match="1 input sequences but 2 label sequences"):
        run_layer(c, [(probs, layout), (np.array([0, 1]), SequenceLayout.from_lengths([1, 1]))])


@pytest.mark.parametrize("which", ["ctc", "warp_ctc"])
def test_training_through_the_feeder_lowers_the_cost(which):
    """Labels shorter than their input sequences, fed and trained by SGD."""
    paddle.init(seed=2)
    x = paddle.layer.data("x", dense_seq(3))
    y = paddle.layer.data("y", ids_seq(2))
    if which == "ctc":
        out = paddle.layer.fc(x, size=3, act=paddle.activation.Softmax())
        cost = paddle.layer.ctc(input=out, label=y)
    else:
        out = paddle.layer.fc(x, size=3, act=paddle.activation.Linear())
        cost = paddle.layer.warp_ctc(input=out, label=y, blank=2)
    rng = np.random.default_rng(0)
    data = [(rng.standard_normal((n, 3)).tolist(), rng.integers(0, 2, m).tolist())
            for n, m in [(4, 2), (3, 1), (5, 3), (2, 1)]]
    params = paddle.parameters.create(cost)
    costs = []
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=0.1))
    trainer.train(paddle.batch(lambda: iter(data), 4), num_passes=15,
                  event_handler=lambda e: costs.append(e.cost)
                  if isinstance(e, paddle.event.EndIteration) else None)
    assert np.isfinite(costs).all() and costs[-1] < 0.8 * costs[0]
