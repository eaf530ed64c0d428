"""Hook arguments, sparsity schedules and the top-|w| mask (pruning.md section 1)."""

import math

import numpy as np
import pytest

from minidl.layers.attrs import Hook, ParamAttr
from minidl.pruning.masks import top_magnitude_mask
from minidl.pruning.schedule import is_change_point, scheduled_sparsity, target_at


@pytest.mark.parametrize("kwargs,argument", [
    (dict(type="pruning", sparsity_ratio=1.0), "sparsity_ratio=1.0"),
    (dict(type="pruning", sparsity_ratio=-0.1), "sparsity_ratio=-0.1"),
    (dict(type="pruning", sparsity_ratio="0.5"), "sparsity_ratio='0.5'"),
    (dict(type="pruning"), "sparsity_ratio"),
    (dict(type="dynamic_pruning", upper_bound=1.2), "upper_bound=1.2"),
    (dict(type="dynamic_pruning", upper_bound=0.5, inter_pass=0), "inter_pass=0"),
    (dict(type="dynamic_pruning", upper_bound=0.5, inter_pass=2.5), "inter_pass=2.5"),
    (dict(type="dynamic_pruning", upper_bound=0.5, inter_pass=5, end_pass=3), "end_pass=3"),
    (dict(type="dynamic_pruning", upper_bound=0.5, curve="exp"), "curve='exp'"),
    (dict(type="quantize"), "'quantize'"),
])
def test_bad_hook_arguments_name_argument_and_value(kwargs, argument):
    with pytest.raises(ValueError) as info:
        Hook(**kwargs)
    assert argument in str(info.value)


def test_paddle_pr_keyword_spellings():
    a = Hook("dynamic_pruning", sparsity_upper_bound=0.7, interval_pass=4, end_pass=20)
    b = Hook("dynamic_pruning", upper_bound=0.7, inter_pass=4, end_pass=20)
    assert a == b and a.curve == "log"


def test_defaults_of_dynamic_pruning():
    hook = Hook("dynamic_pruning", upper_bound=0.95)
    assert (hook.inter_pass, hook.end_pass) == (3, 60)


def test_hook_on_static_parameter_is_rejected():
    with pytest.raises(ValueError, match="static"):
        ParamAttr(is_static=True, update_hooks=Hook("pruning", sparsity_ratio=0.5))


def test_update_hooks_must_be_hooks():
    with pytest.raises(ValueError, match="update_hooks"):
        ParamAttr(update_hooks="pruning")


@pytest.mark.parametrize("curve", ["log", "paddle", "cubic", "linear"])
def test_schedule_values_at_every_pass(curve):
    U, I, E = 0.8, 3, 60
    formulas = {
        "log": lambda p: U * math.log(1 + p / I) / math.log(1 + E / I),
        "paddle": lambda p: U * math.log(2 + p / I) / math.log(2 + E / I),
        "cubic": lambda p: U * (1 - (1 - p / E) ** 3),
        "linear": lambda p: U * p / E,
    }
    hook = Hook("dynamic_pruning", upper_bound=U, inter_pass=I, end_pass=E, curve=curve)
    previous = -1.0
    for p in range(0, 80):
        expected = formulas[curve](min(p, E)) if p < E else U
        assert scheduled_sparsity(curve, U, I, E, p) == pytest.approx(expected)
        last_change = max(q for q in range(0, min(p, E) + 1) if is_change_point(I, E, q))
        assert target_at(hook, p) == pytest.approx(formulas[curve](last_change)
                                                   if last_change < E else U)
        assert target_at(hook, p) >= previous - 1e-12   # sparsity only grows
        previous = target_at(hook, p)
    assert scheduled_sparsity(curve, U, I, E, 0) == pytest.approx(formulas[curve](0))
    assert target_at(hook, 1000) == U


def test_change_points_include_end_pass():
    points = [p for p in range(0, 30) if is_change_point(4, 10, p)]
    assert points == [0, 4, 8, 10]
    assert sum(is_change_point(3, 60, p) for p in range(1, 100)) == 60 // 3


def test_log_curve_starts_at_zero_and_paddle_curve_does_not():
    assert scheduled_sparsity("log", 0.9, 3, 60, 0) == 0.0
    assert scheduled_sparsity("paddle", 0.9, 3, 60, 0) == pytest.approx(
        0.9 * math.log(2) / math.log(22))


@pytest.mark.parametrize("n,ratio", [(10, 0.5), (7, 0.3), (100, 0.99), (13, 0.0), (5, 0.81)])
def test_kept_count_is_floor_of_n_times_one_minus_r(n, ratio):
    value = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    mask = top_magnitude_mask(value, ratio)
    assert mask.sum() == math.floor(n * (1 - ratio) + 1e-9)
    kept = np.abs(value)[mask > 0]
    dropped = np.abs(value)[mask == 0]
    if kept.size and dropped.size:
        assert kept.min() >= dropped.max()


def test_ties_keep_the_lower_flat_index():
    value = np.array([[1.0, -2.0, 2.0], [2.0, 0.5, -2.0]], dtype=np.float32)
    mask = top_magnitude_mask(value, 0.5)   # keep 3 of 6; four weights tie at |2|
    np.testing.assert_array_equal(mask, [[0, 1, 1], [1, 0, 0]])
    np.testing.assert_array_equal(mask, top_magnitude_mask(value.copy(), 0.5))


def test_mask_never_revives_pruned_weights():
    value = np.array([5.0, 0.0, 0.0, 1.0], dtype=np.float32)
    allowed = value != 0
    mask = top_magnitude_mask(value, 0.0, allowed)
    np.testing.assert_array_equal(mask, [1, 0, 0, 1])
