"""multiplex and sampling_id: the kernels against naive loops, multiplex's values, layouts and
gradients (ids from data and from max_id), sampling_id's frequencies against the
probabilities with a fixed seed, v2's names and sizes, and the errors."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minidl as paddle
from minidl.backends import kernel

from conftest import to_numpy
from sequence_helpers import RAGGED_LENGTHS, check_layer_gradients, ragged, run_layer

L = paddle.layer
dt = paddle.data_type


# ---- multiplex ----------------------------------------------------------------------------------

@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=20)
@given(n=st.integers(1, 5), d=st.integers(1, 4), c=st.integers(2, 4), seed=st.integers(0, 2**16))
def test_multiplex_kernels_match_naive_loops(backend, xp, n, d, c, seed):
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal((n, d)) for _ in range(c)]
    ids = rng.integers(0, c, n)
    y = to_numpy(kernel("multiplex_forward")(ids, *map(xp.asarray, xs)))
    np.testing.assert_array_equal(y, [[xs[ids[i]][i, j] for j in range(d)] for i in range(n)])
    gy = rng.standard_normal((n, d))
    grads = [to_numpy(g) for g in kernel("multiplex_backward")(ids, xp.asarray(gy), c)]
    for k in range(c):
        np.testing.assert_array_equal(grads[k], [gy[i] if ids[i] == k else np.zeros(d)
                                                 for i in range(n)])


@pytest.mark.parametrize("lengths", [None] + list(RAGGED_LENGTHS))
def test_multiplex_layer(rng, lengths):
    seq = lengths is not None
    ids = L.data("ids", dt.integer_value_sequence(3) if seq else dt.integer_value(3))
    candidates = [L.data(f"x{k}", dt.dense_vector_sequence(2) if seq else dt.dense_vector(2))
                  for k in range(3)]
    layer = L.multiplex([ids] + candidates)
    assert (layer.name, layer.type, layer.size, layer.params) == \
        ("__multiplex_layer_0__", "multiplex", 2, [])
    if seq:
        values = [ragged(rng, lengths, 2) for _ in range(3)]
        layout = values[0][1]
    else:
        values, layout = [(rng.standard_normal((4, 2)), None) for _ in range(3)], None
    rows = values[0][0].shape[0]
    chosen = rng.integers(0, 3, rows)
    inputs = [(chosen, layout)] + [(v, layout) for v, _ in values]
    y = run_layer(layer, inputs)
    assert y.seq == layout
    np.testing.assert_array_equal(y.data, [values[chosen[i]][0][i] for i in range(rows)])
    check_layer_gradients(layer, inputs)


def test_multiplex_with_ids_from_max_id(rng):
    scores = L.data("scores", dt.dense_vector(2))
    a, b = L.data("a", dt.dense_vector(3)), L.data("b", dt.dense_vector(3))
    layer = L.multiplex([L.max_id(scores), a, b])
    s, av, bv = (rng.standard_normal((5, width)) for width in (2, 3, 3))
    y = run_layer(layer.inputs[0], [(s, None)])
    assert y.data.dtype.kind == "i"
    out = run_layer(layer, [(y.data, None), (av, None), (bv, None)]).data
    np.testing.assert_array_equal(out, np.where((s[:, 1] > s[:, 0])[:, None], bv, av))


def test_multiplex_errors(rng):
    ids = L.data("ids", dt.integer_value(2))
    a, b = L.data("a", dt.dense_vector(3)), L.data("b", dt.dense_vector(3))
    with pytest.raises(ValueError, match=r"layer m: multiplex input must be a list of an id "
                                         r"layer and at least two candidate layers"):
        L.multiplex([ids, a], name="m")
    with pytest.raises(ValueError, match=r"layer m: the first input must give integer ids .*"
                                         r"got a \(dense_vector\(3\) data\)"):
        L.multiplex([a, a, b], name="m")
    with pytest.raises(ValueError, match=r"layer m: multiplex candidates must have one size, that "
                                         r"of a \(3\); got a \(3\), c \(4\)"):
        L.multiplex([ids, a, L.data("c", dt.dense_vector(4))], name="m")
    with pytest.raises(ValueError, match=r"layer m \(multiplex\) computes on vectors, but its "
                                         r"input ids gives integer ids"):
        L.multiplex([ids, a, ids], name="m")
    with pytest.raises(ValueError, match=r"layer m: input 2 \(5\) is not a layer"):
        L.multiplex([ids, a, 5], name="m")
    layer = L.multiplex([ids, a, b], name="m")
    x = rng.standard_normal((2, 3))
    with pytest.raises(ValueError, match=r"layer m: multiplex: ids must lie in \[0, 2\) .*got "
                                         r"\[0, 2\] \(ids from ids\)"):
        run_layer(layer, [(np.array([0, 2]), None), (x, None), (x, None)])
    with pytest.raises(ValueError, match=r"layer m \(multiplex\): its inputs must have one row "
                                         r"each per sample; got rows ids \(3\), a \(2\), b \(2\)"):
        run_layer(layer, [(np.array([0, 1, 1]), None), (x, None), (x, None)])


# ---- sampling_id --------------------------------------------------------------------------------

def naive_sampling(probs, uniforms):
    """Paddle's loop: subtract the probabilities from the draw until it goes negative."""
    ids = []
    for row, r in zip(probs, uniforms):
        chosen = len(row) - 1
        for j, p in enumerate(row):
            r -= p
            if r < 0:
                chosen = j
                break
        ids.append(chosen)
    return ids


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=20)
@given(n=st.integers(1, 6), d=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_sampling_kernel_matches_the_naive_loop(backend, xp, n, d, seed):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(d), n) * rng.choice([1.0, 0.7], (n, 1))  # some rows sum < 1
    uniforms = rng.random(n)
    ids = to_numpy(kernel("sampling_id")(xp.asarray(probs), uniforms))
    assert ids.dtype == np.int64
    np.testing.assert_array_equal(ids, naive_sampling(probs, uniforms))


def test_sampling_frequencies_follow_the_probabilities():
    """20000 draws per row with a fixed seed: every frequency within 5 standard errors of its
    probability, and zero-probability ids never drawn."""
    layer = L.sampling_id(L.data("p", dt.dense_vector(4)))
    assert (layer.name, layer.type, layer.size) == ("__sampling_id_layer_0__", "sampling_id", 4)
    p = np.array([[0.1, 0.2, 0.3, 0.4], [0.0, 0.5, 0.0, 0.5]])
    draws = 20000
    probs = np.repeat(p, draws, axis=0)
    ids = run_layer(layer, [(probs, None)]).data.reshape(2, draws)
    for row, expected in zip(ids, p):
        frequencies = np.bincount(row, minlength=4) / draws
        tolerance = 5 * np.sqrt(expected * (1 - expected) / draws) + 1e-12
        assert (np.abs(frequencies - expected) <= tolerance).all(), (frequencies, expected)
    assert not np.isin(ids[1], [0, 2]).any()


def test_sampling_id_keeps_the_layout_and_follows_the_seed(rng):
    layer = L.sampling_id(L.data("p", dt.dense_vector_sequence(3)))
    values, layout = ragged(rng, [2, 3], 3)
    probs = np.exp(values) / np.exp(values).sum(axis=1, keepdims=True)
    out = run_layer(layer, [(probs, layout)])
    assert out.seq == layout and out.shape == (5,) and out.data.dtype == np.int64
    # run_layer's random state is default_rng(0): the same draws give the same ids
    np.testing.assert_array_equal(out.data, naive_sampling(probs, np.random.default_rng(0)
                                                           .random(5)))


def test_sampling_id_in_inference_is_reproducible_with_paddle_init():
    probs = L.data("p", dt.dense_vector(5))
    layer = L.sampling_id(probs)
    parameters = paddle.parameters.create(layer)
    batch = [(np.full(5, 0.2, dtype=np.float32),)] * 50

    def draw(seed):
        paddle.init(use_gpu=False, trainer_count=1, seed=seed)
        return np.asarray(paddle.infer(output_layer=layer, parameters=parameters, input=batch))

    first, again, other = draw(4), draw(4), draw(5)
    np.testing.assert_array_equal(first, again)
    assert (first != other).any()
    assert set(np.unique(first)) <= set(range(5))


def test_sampling_id_errors():
    with pytest.raises(ValueError, match=r"layer s \(sampling_id\) computes on vectors, but its "
                                         r"input ids gives integer ids"):
        L.sampling_id(L.data("ids", dt.integer_value(3)), name="s")
    with pytest.raises(ValueError, match=r"layer s: input must be a layer, got \[\]"):
        L.sampling_id([], name="s")
