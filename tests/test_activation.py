"""Activations: Paddle's definitions, gradients, and what backward keeps."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minidl as paddle
from minidl.backends import kernel
from minidl.core import Tensor
from minidl.core.gradcheck import check_directional, check_elementwise
from minidl.functions.activation import NEEDS, Activation

from conftest import to_numpy

# Independent oracles, written from the textbook formulas (scalar math, not the kernels).
ORACLES = {
    "tanh": lambda v: math.tanh(v),
    "sigmoid": lambda v: 1 / (1 + math.exp(-min(max(v, -40.0), 13.0))),
    "relu": lambda v: max(v, 0.0),
    "brelu": lambda v: min(max(v, 0.0), 24.0),
    "softrelu": lambda v: math.log(1 + math.exp(min(max(v, -40.0), 40.0))),
    "stanh": lambda v: 1.7159 * math.tanh(2.0 / 3.0 * v),
    "abs": abs,
    "square": lambda v: v * v,
    "exponential": math.exp,
    "log": math.log,
}
ELEMENTWISE = sorted(ORACLES)


def safe_inputs(name, shape, rng):
    """Values where the activation is smooth: away from kinks and clip points."""
    x = rng.uniform(0.2, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    if name == "log":
        return np.abs(x)
    if name == "brelu":
        return np.where(x > 0, x * 5, x)  # (1, 10): inside (0, 24) on the positive side
    return x


def oracle(name, x):
    return np.vectorize(ORACLES[name])(x)


def test_every_paddle_activation_has_kernels_and_a_backward_rule():
    for act in paddle.activation.ALL:
        name = act.kernel_name
        if name == "linear":
            continue
        assert name in NEEDS
        kernel(f"act_{name}")
        kernel(f"act_{name}_grad")


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_activation_matches_formula(backend, xp, name, rng):
    x = safe_inputs(name, (3, 5), rng)
    y = to_numpy(kernel(f"act_{name}")(xp.asarray(x)))
    np.testing.assert_allclose(y, oracle(name, x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ELEMENTWISE + ["softmax"])
def test_activation_gradients(backend, name, rng):
    fn = lambda t: Activation(name)(t)  # noqa: E731
    check_directional(fn, safe_inputs(name, (6, 9), rng))
    check_elementwise(fn, safe_inputs(name, (2, 3), rng))


@pytest.mark.parametrize("name", sorted(NEEDS))
def test_backward_keeps_only_what_it_needs(backend, name, rng):
    x = Tensor(safe_inputs(name, (2, 3), rng), requires_grad=True)
    function = Activation(name)
    y = function(x)
    assert len(function.saved) == 1
    kept = function.saved[0]
    assert kept is (y.data if NEEDS[name] == "y" else x.data)


def test_paddle_clip_points(backend, xp):
    x = xp.asarray(np.array([[-50.0, -1.0, 30.0, 50.0]]))
    np.testing.assert_allclose(to_numpy(kernel("act_brelu")(x)), [[0, 0, 24, 24]])
    gy = xp.ones_like(x)
    y = kernel("act_brelu")(x)
    np.testing.assert_array_equal(to_numpy(kernel("act_brelu_grad")(None, y, gy)), [[0, 0, 0, 0]])
    soft = to_numpy(kernel("act_softrelu")(x))
    assert soft[0, 3] == pytest.approx(math.log1p(math.exp(40.0)))  # clipped at 40
    assert soft[0, 0] == pytest.approx(math.log1p(math.exp(-40.0)))
    sig = to_numpy(kernel("act_sigmoid")(x))
    assert sig[0, 3] == pytest.approx(1 / (1 + math.exp(-13.0)))  # clipped at 13
    assert 0 < sig[0, 0] and sig[0, 3] < 1


def test_known_values(backend, xp):
    stanh = to_numpy(kernel("act_stanh")(xp.asarray(np.array([[1.5]]))))
    assert stanh[0, 0] == pytest.approx(1.7159 * math.tanh(1.0))
    soft = to_numpy(kernel("act_softmax")(xp.asarray(np.array([[0.0, math.log(3.0)]]))))
    np.testing.assert_allclose(soft, [[0.25, 0.75]])
    g = to_numpy(kernel("act_abs_grad")(xp.asarray(np.array([[-2.0, 0.0, 3.0]])), None,
                                        xp.ones((1, 3))))
    np.testing.assert_array_equal(g, [[-1, 0, 1]])


def test_softmax_is_per_sample_over_all_features(backend, xp, rng):
    x = rng.standard_normal((3, 2, 4, 4))
    y = to_numpy(kernel("act_softmax")(xp.asarray(x)))
    assert y.shape == x.shape
    np.testing.assert_allclose(y.reshape(3, -1).sum(axis=1), 1.0)
    rows = x.reshape(3, -1)
    expected = np.exp(rows) / np.exp(rows).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(y.reshape(3, -1), expected, rtol=1e-12)


def test_softmax_never_returns_zero(backend, xp):
    y = to_numpy(kernel("act_softmax")(xp.asarray(np.array([[0.0, -1000.0]], np.float32))))
    assert y[0, 1] > 0
    assert y[0, 1] == pytest.approx(math.exp(-64.0) / (1 + math.exp(-64.0)), rel=1e-5)


def test_float32_stays_float32(backend, xp, rng):
    x = xp.asarray(safe_inputs("log", (2, 3), rng).astype(np.float32))
    for name in sorted(NEEDS):
        y = kernel(f"act_{name}")(x)
        assert y.dtype == np.float32, name
        gx = kernel(f"act_{name}_grad")(x, y, xp.ones_like(y))
        assert gx.dtype == np.float32, name


def test_identity_adds_no_node():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    assert paddle.activation.Identity()(x) is x
    assert paddle.activation.Linear is paddle.activation.Identity


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=15)
@given(n=st.integers(1, 5), d=st.integers(1, 7), seed=st.integers(0, 2**16),
       name=st.sampled_from(ELEMENTWISE))
def test_activation_over_shapes(backend, n, d, seed, name):
    x = safe_inputs(name, (n, d), np.random.default_rng(seed))
    np.testing.assert_allclose(to_numpy(kernel(f"act_{name}")(x)), oracle(name, x),
                               rtol=1e-12, atol=1e-14)
    check_directional(lambda t: Activation(name)(t), x, seed=seed)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=15)
@given(n=st.integers(1, 5), d=st.integers(1, 9), seed=st.integers(0, 2**16))
def test_softmax_over_shapes(backend, n, d, seed):
    x = np.random.default_rng(seed).normal(scale=3.0, size=(n, d))
    y = to_numpy(kernel("act_softmax")(x))
    np.testing.assert_allclose(y.sum(axis=1), 1.0)
    assert (y > 0).all()
    np.testing.assert_array_equal(y.argmax(axis=1), x.argmax(axis=1))
    check_directional(lambda t: Activation("softmax")(t), x, seed=seed)
