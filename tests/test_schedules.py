"""Learning-rate schedules: values at several n against their closed forms, the parsing of
manual/pass_manual arguments, errors, and how the updater feeds n and the pass id."""

import math

import numpy as np
import pytest

import minidl.optimizer as opt
from minidl.layers.attrs import ParamAttr
from minidl.core import as_numpy
from minidl.layers.base import ParamSpec
from minidl.optim.schedules import SCHEDULES, make_schedule, parse_segments

# (schedule, lr, a, b, [(n, expected rate)]) -- expected values worked out by hand
CLOSED_FORMS = [
    ("constant", 0.1, 5.0, 7.0, [(0, 0.1), (10**6, 0.1)]),
    ("poly", 0.2, 0.01, 0.5, [(0, 0.2), (300, 0.2 / 2), (800, 0.2 / 3)]),
    ("poly", 0.2, 0.0, 0.0, [(0, 0.2), (10**9, 0.2)]),        # the default: constant
    ("caffe_poly", 0.1, 1000.0, 2.0, [(0, 0.1), (500, 0.025), (900, 0.1 * 0.01),
                                      (1000, 0.0), (1001, 0.0), (5000, 0.0)]),
    ("caffe_poly", 0.1, 1000.0, 1.0, [(250, 0.075)]),
    ("exp", 0.1, 0.5, 100.0, [(0, 0.1), (50, 0.1 * math.sqrt(0.5)), (200, 0.025)]),
    ("discexp", 0.1, 0.5, 100.0, [(0, 0.1), (99, 0.1), (100, 0.05), (199, 0.05),
                                   (250, 0.025)]),
    ("linear", 0.1, 1e-4, 0.02, [(0, 0.1), (100, 0.09), (800, 0.02), (10**6, 0.02)]),
]


@pytest.mark.parametrize("name, lr, a, b, points", CLOSED_FORMS)
def test_schedule_matches_closed_form(name, lr, a, b, points):
    schedule = make_schedule(name, lr, a, b)
    for n, expected in points:
        assert schedule(n, pass_id=3) == pytest.approx(expected, rel=1e-12, abs=1e-15), n


def test_manual_picks_the_first_segment_n_does_not_exceed():
    schedule = make_schedule("manual", 0.5, args="100:1.0,200:0.5,300:0.1")
    for n, factor in [(0, 1.0), (100, 1.0), (101, 0.5), (200, 0.5), (201, 0.1), (300, 0.1),
                      (10**6, 0.1)]:
        assert schedule(n, pass_id=0) == pytest.approx(0.5 * factor), n
    assert schedule(150, pass_id=99) == pytest.approx(0.25)   # the pass id plays no part


def test_pass_manual_is_indexed_by_pass():
    schedule = make_schedule("pass_manual", 0.01, args="1:1.0,3:0.1")
    for pass_id, factor in [(0, 1.0), (1, 1.0), (2, 0.1), (3, 0.1), (10, 0.1)]:
        assert schedule(10**6, pass_id) == pytest.approx(0.01 * factor), pass_id
    assert schedule(0, 2) == schedule(10**9, 2)   # the sample count plays no part


def test_segments_parse_with_spaces():
    assert parse_segments(" 10 : 1 , 20:0.5 ", "x") == ([10, 20], [1.0, 0.5])


@pytest.mark.parametrize("args, message", [
    ("", "must be a string"),
    (None, "must be a string"),
    ("100", "piece '100'"),
    ("a:0.1", "piece 'a:0.1'"),
    ("100:x", "piece '100:x'"),
    ("100:0.5,", "piece ''"),
    ("1.5:0.5", "piece '1.5:0.5'"),
    ("200:1.0,100:0.5", "must increase"),
    ("100:1.0,100:0.5", "must increase"),
    ("100:-0.5", "-0.5"),
])
@pytest.mark.parametrize("name", ["manual", "pass_manual"])
def test_malformed_segments_raise(name, args, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        opt.Momentum(learning_rate_schedule=name, learning_rate_args=args)


@pytest.mark.parametrize("name, a, b, argument", [
    ("caffe_poly", 0.0, 1.0, "learning_rate_decay_a=0.0"),
    ("caffe_poly", 100.0, -1.0, "learning_rate_decay_b=-1.0"),
    ("exp", 0.5, 0.0, "learning_rate_decay_b=0.0"),
    ("discexp", -0.5, 10.0, "learning_rate_decay_a=-0.5"),
    ("poly", -0.1, 1.0, "learning_rate_decay_a=-0.1"),
    ("linear", 0.1, -0.1, "learning_rate_decay_b=-0.1"),
    ("poly", float("nan"), 1.0, "learning_rate_decay_a=nan"),
])
def test_bad_decay_arguments_raise(name, a, b, argument):
    with pytest.raises(ValueError, match=argument):
        opt.Adam(learning_rate_schedule=name, learning_rate_decay_a=a, learning_rate_decay_b=b)


def test_unknown_schedule_lists_the_known_ones():
    with pytest.raises(ValueError, match="learning_rate_schedule='step'.*caffe_poly"):
        opt.AdaGrad(learning_rate_schedule="step")
    assert sorted(SCHEDULES) == sorted(["constant", "poly", "caffe_poly", "exp", "discexp",
                                        "linear", "manual", "pass_manual"])


def test_updater_rate_uses_samples_before_the_batch(xp):
    """Plain SGD with lr 1 and gradient 1: each step moves w by the rate of its batch.
    discexp a=0.5 b=2 with batches of 1: n = 0, 1, 2, 3 -> rates 1, 1, 0.5, 0.5."""
    optimizer = opt.Momentum(learning_rate=1.0, learning_rate_schedule="discexp",
                             learning_rate_decay_a=0.5, learning_rate_decay_b=2)
    spec = ParamSpec(name="w", shape=(1,), attr=ParamAttr(learning_rate=2.0))
    updater = optimizer.create_updater({"w": spec})
    w = xp.zeros(1, dtype=xp.float32)
    rates = []
    for _ in range(4):
        rates.append(updater.learning_rate())
        updater.update("w", w, xp.ones(1, dtype=xp.float32))
        updater.end_batch(1)
    assert rates == [1.0, 1.0, 0.5, 0.5]
    np.testing.assert_allclose(as_numpy(w), [-2.0 * 3.0])   # ParamAttr learning_rate 2


def test_updater_counts_samples_by_batch_size():
    optimizer = opt.Momentum(learning_rate=0.1, learning_rate_schedule="manual",
                             learning_rate_args="64:1.0,128:0.1,1000:0.01")
    updater = optimizer.create_updater({})
    seen = []
    for _ in range(4):
        seen.append(updater.learning_rate())
        updater.end_batch(64)
    # n = 0, 64, 128, 192
    assert seen == pytest.approx([0.1, 0.1, 0.01, 0.001])


def test_updater_pass_manual_follows_begin_pass():
    optimizer = opt.RMSProp(learning_rate=1.0, learning_rate_schedule="pass_manual",
                            learning_rate_args="0:1.0,2:0.5,3:0.25")
    updater = optimizer.create_updater({})
    seen = []
    for pass_id in range(5):
        updater.begin_pass(pass_id)
        seen.append(updater.learning_rate())
        updater.end_batch(10)
    assert seen == [1.0, 0.5, 0.5, 0.25, 0.25]
