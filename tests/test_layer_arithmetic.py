"""Arithmetic on layers (v2's paddle.op): each operator's layers, sizes and names as v2
built them, forward values against NumPy on plain batches and ragged sequences, float64
gradients through the whole built graph, the unary functions, and the build-time errors."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minidl as paddle
import minidl.v2.op as op
from minidl.backends import kernel
from minidl.core import Tensor
from minidl.core.gradcheck import check_directional, check_elementwise
from minidl.layers.graph import Network, RunContext

from conftest import to_numpy
from sequence_helpers import ragged

dense, dense_seq = paddle.data_type.dense_vector, paddle.data_type.dense_vector_sequence


def data(name, size, seq=False):
    return paddle.layer.data(name, dense_seq(size) if seq else dense(size))


def run(layer, feed, layouts=None):
    """Output array and layout of ``layer`` with data layers fed ``{name: array}``."""
    layouts = layouts or {}
    tensors = {name: Tensor(value, seq=layouts.get(name)) for name, value in feed.items()}
    y = Network([layer]).forward(tensors, RunContext({}))[layer.name]
    return y.data, y.seq


def check_gradients(layer, feed, elementwise=False):
    """Float64 check of d(layer)/d(every fed array) through the built layers."""
    names = list(feed)

    def fn(*tensors):
        return Network([layer]).forward(dict(zip(names, tensors)), RunContext({}))[layer.name]

    check = check_elementwise if elementwise else check_directional
    check(fn, *[feed[name] for name in names])


@pytest.fixture
def xyw(rng):
    """x, y of size 3 and w of size 1 with 4 rows each."""
    layers = data("x", 3), data("y", 3), data("w", 1)
    feed = {"x": rng.standard_normal((4, 3)), "y": rng.standard_normal((4, 3)),
            "w": rng.standard_normal((4, 1))}
    return layers, feed


# every operator: (expression, the type of the layer it returns, NumPy of the same)
CASES = {
    "x + 2.5": (lambda x, y, w: x + 2.5, "slope_intercept", lambda x, y, w: x + 2.5),
    "1 + x": (lambda x, y, w: 1 + x, "slope_intercept", lambda x, y, w: 1 + x),
    "x - 2": (lambda x, y, w: x - 2, "slope_intercept", lambda x, y, w: x - 2),
    "3 - x": (lambda x, y, w: 3 - x, "slope_intercept", lambda x, y, w: 3 - x),
    "x * -1.5": (lambda x, y, w: x * -1.5, "slope_intercept", lambda x, y, w: x * -1.5),
    "2 * x": (lambda x, y, w: 2 * x, "slope_intercept", lambda x, y, w: 2 * x),
    "-x": (lambda x, y, w: -x, "slope_intercept", lambda x, y, w: -x),
    "x + y": (lambda x, y, w: x + y, "mixed", lambda x, y, w: x + y),
    "x - y": (lambda x, y, w: x - y, "mixed", lambda x, y, w: x - y),
    "x + w": (lambda x, y, w: x + w, "mixed", lambda x, y, w: x + w),
    "w + x": (lambda x, y, w: w + x, "mixed", lambda x, y, w: w + x),
    "w - x": (lambda x, y, w: w - x, "mixed", lambda x, y, w: w - x),
    "x * w": (lambda x, y, w: x * w, "scaling", lambda x, y, w: x * w),
    "w * x": (lambda x, y, w: w * x, "scaling", lambda x, y, w: w * x),
    "np.float32(2) * x": (lambda x, y, w: np.float32(2) * x, "slope_intercept",
                          lambda x, y, w: 2 * x),
    "(x + y) * w - 1": (lambda x, y, w: (x + y) * w - 1, "slope_intercept",
                        lambda x, y, w: (x + y) * w - 1),
}


@pytest.mark.parametrize("case", CASES)
def test_operator_values_sizes_and_gradients(xyw, case):
    (x, y, w), feed = xyw
    build, layer_type, numpy = CASES[case]
    out = build(x, y, w)
    assert out.type == layer_type and out.size == 3
    reachable = {layer.name for layer in Network([out]).layers}
    fed = {name: feed[name] for name in ("x", "y", "w") if name in reachable}
    value, _ = run(out, fed)
    np.testing.assert_allclose(value, numpy(feed["x"], feed["y"], feed["w"]), rtol=1e-6)
    check_gradients(out, fed)


def test_the_layers_v2_builds(xyw):
    (x, y, w), _ = xyw
    shifted = x + 2.5
    assert shifted.name == "__slope_intercept_layer_0__"
    assert (shifted.slope, shifted.intercept) == (1.0, 2.5)
    assert ((x - 2).slope, (x - 2).intercept) == (1.0, -2.0)
    assert ((-x).slope, (-x).intercept) == (-1.0, 0.0)
    assert ((x * 4).slope, (x * 4).intercept) == (4.0, 0.0)
    total = x + y
    assert total.name == "__mixed_0__" and [p.name for p in total.inputs] == ["x", "y"]
    broadcast = w + x          # the size-1 layer is repeated to the other's size, put second
    repeated = broadcast.inputs[1]
    assert broadcast.inputs[0] is x and repeated.type == "featmap_expand"
    assert repeated.inputs == [w] and repeated.size == 3
    scaled = x * w
    assert scaled.name == "__scaling_layer_0__" and scaled.inputs == [w, x]
    difference = 3 - x          # (-x) + 3
    assert difference.intercept == 3.0 and difference.inputs[0].slope == -1.0


@settings(max_examples=30)
@given(st.floats(-5, 5), st.floats(-5, 5))
def test_numbers_scale_and_shift(slope, intercept):
    x = data("x", 2)
    feed = np.array([[1.0, -2.0], [0.5, 3.0]])
    value, _ = run(x * slope - intercept, {"x": feed})
    np.testing.assert_allclose(value, feed * slope - intercept, rtol=1e-12, atol=1e-12)


def test_sequences_keep_their_layout(rng):
    x, y, w = data("x", 3, seq=True), data("y", 3, seq=True), data("w", 1, seq=True)
    (a, layout), (b, _), (c, _) = (ragged(rng, [2, 1, 3], n) for n in (3, 3, 1))
    out = (x - y) * w + 0.5
    feed = {"x": a, "y": b, "w": c}
    value, seq = run(out, feed, layouts={"x": layout, "y": layout, "w": layout})
    np.testing.assert_allclose(value, (a - b) * c + 0.5)
    assert seq == layout and out.seq_level == 1


# ---- the unary functions ---------------------------------------------------------------------

def sigmoid(v):
    return 1 / (1 + np.exp(-v))


UNARY = {"exp": np.exp, "log": np.log, "abs": np.abs, "sigmoid": sigmoid, "tanh": np.tanh,
         "square": np.square, "relu": lambda v: np.maximum(v, 0), "sqrt": np.sqrt,
         "reciprocal": lambda v: 1 / v,
         "softmax": lambda v: np.exp(v) / np.exp(v).sum(axis=1, keepdims=True)}


def test_v2s_list_of_unary_functions():
    assert op.__all__ == ["exp", "log", "abs", "sigmoid", "tanh", "square", "relu", "sqrt",
                          "reciprocal", "softmax"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_function(rng, name):
    x = data("x", 3)
    out = getattr(op, name)(x)
    assert out.name == f"__{name}_0__" and out.type == "mixed" and out.size == 3
    assert out.inputs == [x]
    # away from 0, where abs and relu have no derivative and log, sqrt, 1/x are undefined
    values = rng.uniform(0.3, 2.0, (4, 3)) * rng.choice([-1, 1], (4, 3))
    if name in ("log", "sqrt"):
        values = np.abs(values)
    value, _ = run(out, {"x": values})
    np.testing.assert_allclose(value, UNARY[name](values), rtol=1e-6)
    check_gradients(out, {"x": values}, elementwise=True)
    assert getattr(op, name)(x, name="mine").name == "mine"


def test_sqrt_and_reciprocal_kernels_against_their_definitions(backend, xp, rng):
    x = rng.uniform(0.2, 3.0, (3, 4))
    gy = rng.standard_normal((3, 4))
    y = kernel("elementwise_sqrt")(xp.asarray(x))
    np.testing.assert_allclose(to_numpy(y) ** 2, x, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(kernel("elementwise_sqrt_grad")(y, xp.asarray(gy))),
                               gy * 0.5 * x ** -0.5, rtol=1e-12)
    r = kernel("elementwise_reciprocal")(xp.asarray(x))
    np.testing.assert_allclose(to_numpy(r) * x, 1.0, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(kernel("elementwise_reciprocal_grad")(r, xp.asarray(gy))),
                               -gy / x ** 2, rtol=1e-12)


# ---- errors at graph build -------------------------------------------------------------------

def test_size_mismatch_names_both_layers():
    x, z = data("x", 3), data("z", 2)
    with pytest.raises(ValueError, match=r"layers x \(size 3\) and z \(size 2\) cannot be "
                                         r"added: sizes must be equal or one of them 1"):
        x + z
    with pytest.raises(ValueError, match=r"layers x \(size 3\) and z \(size 2\) cannot be "
                                         "subtracted"):
        x - z
    with pytest.raises(ValueError, match=r"layers x \(size 3\) and z \(size 2\) cannot be "
                                         "multiplied: one of them must have size 1"):
        x * z
    # nothing was built: the next layers get the first default names
    assert (x + x).name == "__mixed_0__" and (-x).name == "__slope_intercept_layer_0__"


@pytest.mark.parametrize("other", ["2", True, None, [1.0]])
def test_operands_that_are_neither_layers_nor_numbers(other):
    x = data("x", 3)
    with pytest.raises(TypeError, match="layer x: can only add a layer or a number"):
        x + other
    with pytest.raises(TypeError, match="layer x: can only multiply by a layer or a number"):
        other * x
    with pytest.raises(TypeError, match="layer x: can only subtract a layer or a number"):
        other - x


def test_non_finite_number_and_mixed_sequence_levels():
    x = data("x", 3)
    with pytest.raises(ValueError, match="intercept=inf must be a finite number"):
        x + float("inf")
    with pytest.raises(ValueError, match="sequence"):
        x + data("s", 3, seq=True)
