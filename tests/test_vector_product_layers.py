"""Layers multiplying two inputs row by row: out_prod, linear_comb (convex_comb) and tensor.
Reference kernels against naive loops (hypothesis shapes), float64 gradient checks on plain
batches and ragged sequences, sizes / names / parameter shapes and layout as v2, a tiny
training run of the tensor layer, and the construction-time errors."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minidl as paddle
from minidl.backends import kernel
from minidl.core.gradcheck import check_elementwise
from minidl.functions.vector_products import BilinearTensor, LinearComb, OutProd

from conftest import to_numpy
from sequence_helpers import RAGGED_LENGTHS, check_layer_gradients, ragged, run_layer

L = paddle.layer
dense, dense_seq = paddle.data_type.dense_vector, paddle.data_type.dense_vector_sequence


# ---- naive definitions ------------------------------------------------------------------------

def naive_out_prod(a, b):
    return np.array([[a[i, m] * b[i, k] for m in range(a.shape[1]) for k in range(b.shape[1])]
                     for i in range(a.shape[0])])


def naive_linear_comb(w, v):
    n, m = w.shape
    d = v.shape[1] // m
    return np.array([[sum(w[i, j] * v[i, j * d + c] for j in range(m)) for c in range(d)]
                     for i in range(n)])


def naive_tensor(a, b, w):
    """``w`` as Paddle's flat parameter: ``size`` blocks of ``(M, K)`` one after another."""
    n, m = a.shape
    k = b.shape[1]
    size = w.size // (m * k)
    flat = w.reshape(-1)
    out = np.zeros((n, size))
    for i in range(n):
        for s in range(size):
            out[i, s] = sum(a[i, p] * flat[s * m * k + p * k + q] * b[i, q]
                            for p in range(m) for q in range(k))
    return out


# ---- kernels against the naive loops, on generated shapes ------------------------------------

@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=20)
@given(n=st.integers(1, 4), m=st.integers(1, 4), k=st.integers(1, 4), s=st.integers(1, 3),
       seed=st.integers(0, 2**16))
def test_product_kernels_match_naive_loops(backend, xp, n, m, k, s, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((n, m)), rng.standard_normal((n, k))
    v, w = rng.standard_normal((n, m * k)), rng.standard_normal((s, m, k))
    run = lambda op, *arrays: to_numpy(kernel(op)(*map(xp.asarray, arrays)))  # noqa: E731
    np.testing.assert_allclose(run("out_prod_forward", a, b), naive_out_prod(a, b), rtol=1e-12)
    np.testing.assert_allclose(run("linear_comb_forward", a, v), naive_linear_comb(a, v),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(run("tensor_forward", a, b, w), naive_tensor(a, b, w),
                               rtol=1e-10, atol=1e-12)


def test_elementwise_gradients_of_the_functions(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 2))
    check_elementwise(lambda x, y: OutProd()(x, y), a, b)
    check_elementwise(lambda x, y: LinearComb()(x, y), a, rng.standard_normal((2, 6)))
    check_elementwise(lambda x, y, z: BilinearTensor()(x, y, z), a, b,
                      rng.standard_normal((4, 3, 2)))


def test_linear_comb_is_a_weighted_sum_of_blocks():
    w = np.array([[0.25, 0.75]])
    v = np.array([[1.0, 2.0, 3.0, 10.0, 20.0, 30.0]])
    np.testing.assert_allclose(kernel("linear_comb_forward")(w, v), [[7.75, 15.5, 23.25]])


# ---- layers -----------------------------------------------------------------------------------

LENGTHS = [None] + list(RAGGED_LENGTHS)


def _pair(rng, lengths, width_a, width_b):
    if lengths is None:
        return [(rng.standard_normal((4, width)), None) for width in (width_a, width_b)]
    (a, layout), (b, _) = ragged(rng, lengths, width_a), ragged(rng, lengths, width_b)
    return [(a, layout), (b, layout)]


def _data(name, width, lengths):
    return L.data(name, dense(width) if lengths is None else dense_seq(width))


@pytest.mark.parametrize("lengths", LENGTHS)
def test_out_prod_layer(rng, lengths):
    layer = L.out_prod(_data("a", 3, lengths), _data("b", 2, lengths))
    assert (layer.name, layer.type, layer.size, layer.params) == \
        ("__out_prod_layer_0__", "out_prod", 6, [])
    inputs = _pair(rng, lengths, 3, 2)
    y = run_layer(layer, inputs)
    assert y.seq == inputs[0][1]
    np.testing.assert_allclose(y.data, naive_out_prod(inputs[0][0], inputs[1][0]))
    check_layer_gradients(layer, inputs)


@pytest.mark.parametrize("lengths", LENGTHS)
def test_linear_comb_layer(rng, lengths):
    weights, vectors = _data("w", 3, lengths), _data("v", 6, lengths)
    layer = L.linear_comb(weights=weights, vectors=vectors, size=2)
    assert (layer.name, layer.type, layer.size) == ("__linear_comb_layer_0__", "convex_comb", 2)
    assert [p.name for p in layer.inputs] == ["w", "v"]
    assert L.convex_comb(weights, vectors).size == 2       # size inferred; the same builder
    inputs = _pair(rng, lengths, 3, 6)
    y = run_layer(layer, inputs)
    assert y.seq == inputs[0][1]
    np.testing.assert_allclose(y.data, naive_linear_comb(inputs[0][0], inputs[1][0]))
    check_layer_gradients(layer, inputs)


@pytest.mark.parametrize("lengths", LENGTHS)
@pytest.mark.parametrize("with_bias", [True, False])
def test_tensor_layer(rng, lengths, with_bias):
    layer = L.tensor(a=_data("a", 3, lengths), b=_data("b", 2, lengths), size=4,
                     bias_attr=None if with_bias else False)
    assert (layer.name, layer.type, layer.size) == ("__tensor_layer_0__", "tensor", 4)
    assert isinstance(layer.act, paddle.activation.Identity)
    shapes = {spec.name: spec.shape for spec in layer.params}
    assert shapes == {"___tensor_layer_0__.w0": (3, 2, 4),
                      **({"___tensor_layer_0__.wbias": (1, 4)} if with_bias else {})}
    assert layer.params[0].compute_shape == (4, 3, 2)
    flat = rng.standard_normal(24)
    params = {"___tensor_layer_0__.w0": flat.reshape(4, 3, 2)}
    expected_bias = 0.0
    if with_bias:
        params["___tensor_layer_0__.wbias"] = expected_bias = rng.standard_normal((1, 4))
    inputs = _pair(rng, lengths, 3, 2)
    y = run_layer(layer, inputs, params)
    assert y.seq == inputs[0][1]
    np.testing.assert_allclose(y.data, naive_tensor(inputs[0][0], inputs[1][0], flat)
                               + expected_bias, rtol=1e-10)
    check_layer_gradients(layer, inputs, params)


def test_tensor_layer_activation_and_row_mismatch(rng):
    layer = L.tensor(L.data("a", dense(2)), L.data("b", dense(2)), 1, name="t",
                     act=paddle.activation.Sigmoid(), bias_attr=False)
    params = {"_t.w0": np.eye(2).reshape(1, 2, 2)}
    a = rng.standard_normal((3, 2))
    y = run_layer(layer, [(a, None), (a, None)], params)
    np.testing.assert_allclose(y.data[:, 0], 1 / (1 + np.exp(-(a * a).sum(1))))
    with pytest.raises(ValueError, match=r"layer t \(tensor\): its inputs must have one row "
                                         r"each per sample; got a \(3 rows\), b \(2 rows\)"):
        run_layer(layer, [(a, None), (a[:2], None)], params)


# ---- a tiny training run ----------------------------------------------------------------------

def test_tensor_layer_learns_a_bilinear_form():
    paddle.init(use_gpu=False, trainer_count=1, seed=7)
    a, b = L.data("a", dense(2)), L.data("b", dense(2))
    target = L.data("t", dense(1))
    out = L.tensor(a, b, size=1, name="bt")
    cost = L.square_error_cost(input=out, label=target)
    parameters = paddle.parameters.create(cost)
    assert parameters.get_shape("_bt.w0") == (2, 2, 1)
    truth = np.array([[1.0, -2.0], [0.5, 3.0]])
    rng = np.random.default_rng(1)
    samples = [(x, y, [x @ truth @ y + 0.25]) for x, y in
               zip(rng.standard_normal((64, 2)).astype(np.float32),
                   rng.standard_normal((64, 2)).astype(np.float32))]
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Adam(learning_rate=0.05))
    costs = []
    trainer.train(paddle.batch(lambda: iter(samples), 16), num_passes=60,
                  event_handler=lambda e: costs.append(e.cost)
                  if isinstance(e, paddle.event.EndIteration) else None)
    assert np.mean(costs[-4:]) < 0.01 * np.mean(costs[:4])
    np.testing.assert_allclose(parameters.get("_bt.w0").reshape(2, 2), truth, atol=0.05)
    np.testing.assert_allclose(parameters.get("_bt.wbias"), [[0.25]], atol=0.05)


# ---- construction-time errors -----------------------------------------------------------------

def test_vector_product_build_errors():
    a, b = L.data("a", dense(3)), L.data("b", dense(7))
    ids = L.data("ids", paddle.data_type.integer_value(3))
    with pytest.raises(ValueError, match=r"layer c: vectors b \(size 7\) must hold a whole "
                                         r"number of vectors per weight of a \(size 3\)"):
        L.linear_comb(a, b, name="c")
    with pytest.raises(ValueError, match=r"layer c: size=3 must be vectors.size / weights.size "
                                         r"= 6 / 3 = 2"):
        L.linear_comb(a, L.data("v", dense(6)), size=3, name="c")
    with pytest.raises(ValueError, match=r"layer t: size=0 must be a positive integer"):
        L.tensor(a, b, 0, name="t")
    with pytest.raises(ValueError, match=r"layer o \(out_prod\) computes on vectors, but its "
                                         r"input ids gives integer ids"):
        L.out_prod(a, ids, name="o")
    with pytest.raises(ValueError, match=r"layer o: input2 must be a layer, got None"):
        L.out_prod(a, None, name="o")
    with pytest.raises(ValueError, match=r"layer o \(out_prod\) acts on each row of its inputs, "
                                         r"which must all be of one kind"):
        L.out_prod(a, L.data("s", dense_seq(2)), name="o")
