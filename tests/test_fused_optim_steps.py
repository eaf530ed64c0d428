"""The cpu backend's one-pass Momentum and AdaGrad loops give the reference's numbers bit for
bit (value, slots and the returned rate), for any shape, dtype and setting."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minidl.backends import current_backend, set_backend
from minidl.optim import fused_steps
from minidl.optim.rules import AdaGradRule, MomentumRule


@pytest.fixture(scope="module")
def restore_backend():
    previous = current_backend().name
    yield
    set_backend(previous)


def _problem(data, dtype):
    shape = data.draw(st.lists(st.integers(1, 40), min_size=1, max_size=3), label="shape")
    seed = data.draw(st.integers(0, 2 ** 32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    value = rng.normal(size=shape).astype(dtype)
    grad = (rng.normal(size=shape) * rng.choice([1e-3, 1.0, 1e3])).astype(dtype)
    # slots as after some batches: sums of squares >= 0, any momentum
    state = {"sum_squares": np.abs(rng.normal(size=shape)).astype(dtype) * data.draw(
                 st.sampled_from([0.0, 1.0]), label="history"),
             "momentum": rng.normal(size=shape).astype(dtype)}
    return value, grad, state


def _run(backend, rule, value, grad, state, hyper, want_rate):
    set_backend(backend)
    value, state = value.copy(), {k: v.copy() for k, v in state.items()}
    rate = rule.apply(value, grad, state, *hyper, step=1, want_rate=want_rate)
    return value, state, rate


@settings(max_examples=60, deadline=None)
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]),
       rule_name=st.sampled_from(["momentum", "adagrad"]),
       lr=st.sampled_from([3e-3, 0.1, 1.7]), momentum=st.sampled_from([0.0, 0.9]),
       decay=st.sampled_from([0.0, 1e-4, 0.3]), want_rate=st.booleans())
def test_fused_step_equals_the_reference(restore_backend, data, dtype, rule_name, lr, momentum,
                                         decay, want_rate):
    rule = MomentumRule() if rule_name == "momentum" else AdaGradRule(epsilon=1e-6)
    value, grad, state = _problem(data, dtype)
    if rule_name == "momentum":
        del state["sum_squares"]
    hyper = (lr, momentum, decay)
    set_backend("cpu")
    assert fused_steps.runs_fused(value, grad, *state.values())   # the loop is what runs
    ref_value, ref_state, ref_rate = _run("numpy", rule, value, grad, state, hyper, want_rate)
    got_value, got_state, got_rate = _run("cpu", rule, value, grad, state, hyper, want_rate)
    np.testing.assert_array_equal(got_value, ref_value)
    for slot in state:
        np.testing.assert_array_equal(got_state[slot], ref_state[slot], err_msg=slot)
    if rule_name == "adagrad" and want_rate:
        np.testing.assert_array_equal(got_rate, ref_rate)
    else:
        assert got_rate is None or rule_name == "adagrad"


def test_only_contiguous_numpy_arrays_of_one_dtype_run_fused(restore_backend):
    a = np.zeros((4, 6), np.float32)
    set_backend("cpu")
    assert fused_steps.runs_fused(a, a.copy())
    assert not fused_steps.runs_fused(a, a.T.copy().T)          # a transposed gradient
    assert not fused_steps.runs_fused(a, a.astype(np.float64))
    assert not fused_steps.runs_fused(a.astype(np.int32))
    set_backend("numpy")
    assert not fused_steps.runs_fused(a, a.copy())              # the reference backend
