"""Row-sparse gradients and the lazy row update of ``ParamAttr(sparse_update=True)``."""

import numpy as np
import pytest

import minidl.optimizer as opt
from minidl.core.row_sparse import RowSparseGrad
from minidl.layers.attrs import ParamAttr
from minidl.layers.base import ParamSpec

SHAPE = (6, 3)


def gradient(rng, rows):
    return RowSparseGrad(np.array(rows), rng.standard_normal((len(rows), SHAPE[1])), SHAPE)


def test_to_dense_sums_repeated_rows(rng):
    grad = gradient(rng, [4, 1, 4])
    dense = np.zeros(SHAPE)
    for row, values in zip(grad.rows, grad.values):   # naive loop
        dense[row] += values
    np.testing.assert_allclose(grad.to_dense(), dense)
    merged = grad.coalesce()
    assert merged.rows.tolist() == [1, 4]
    np.testing.assert_allclose(merged.to_dense(), dense)


def test_sums_of_gradients(rng):
    a, b = gradient(rng, [0, 2]), gradient(rng, [2, 5])
    np.testing.assert_allclose((a + b).to_dense(), a.to_dense() + b.to_dense())
    assert isinstance(a + b, RowSparseGrad)
    dense = rng.standard_normal(SHAPE)
    np.testing.assert_allclose(a + dense, a.to_dense() + dense)
    np.testing.assert_allclose(dense + a, a.to_dense() + dense)
    with pytest.raises(ValueError, match="shapes"):
        a + RowSparseGrad(np.array([0]), np.ones((1, 2)), (6, 2))


def test_rows_and_values_must_fit_the_shape():
    with pytest.raises(ValueError, match="do not fit"):
        RowSparseGrad(np.array([0, 1]), np.ones((1, 3)), SHAPE)


OPTIMIZERS = [
    lambda: opt.Momentum(momentum=0.9, learning_rate=0.1),
    lambda: opt.Adam(learning_rate=0.1),
    lambda: opt.Adamax(learning_rate=0.1),
    lambda: opt.AdaGrad(learning_rate=0.1),
    lambda: opt.DecayedAdaGrad(learning_rate=0.1),
    lambda: opt.AdaDelta(learning_rate=0.1),
    lambda: opt.RMSProp(learning_rate=0.1),
]


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_first_row_update_equals_the_dense_update(make, rng):
    """From fresh slots a row untouched by the gradient does not move under any rule, so the
    lazy row update and the dense update agree exactly on the first step."""
    specs = {"w": ParamSpec(name="w", shape=SHAPE, attr=ParamAttr(sparse_update=True))}
    grad = gradient(rng, [3, 0, 3])
    start = rng.standard_normal(SHAPE)
    dense_value, row_value = start.copy(), start.copy()
    make().create_updater(specs).update("w", dense_value, grad.to_dense())
    make().create_updater(specs).update_rows("w", row_value, grad)
    np.testing.assert_allclose(row_value, dense_value, rtol=1e-12, atol=1e-12)
    untouched = [1, 2, 4, 5]
    np.testing.assert_array_equal(row_value[untouched], start[untouched])


def test_untouched_rows_keep_their_momentum(rng):
    specs = {"w": ParamSpec(name="w", shape=SHAPE, attr=ParamAttr(sparse_update=True))}
    updater = opt.Momentum(momentum=0.9, learning_rate=0.1).create_updater(specs)
    value = rng.standard_normal(SHAPE)
    updater.update_rows("w", value, gradient(rng, [0, 1]))
    momentum = updater.slots["w"]["momentum"].copy()
    before = value.copy()
    updater.update_rows("w", value, gradient(rng, [1]))
    # row 0 was not in the second gradient: neither its value nor its momentum moved
    np.testing.assert_array_equal(value[0], before[0])
    np.testing.assert_array_equal(updater.slots["w"]["momentum"][0], momentum[0])
    assert not np.array_equal(value[1], before[1])


def test_row_update_checks_the_shape(rng):
    specs = {"w": ParamSpec(name="w", shape=SHAPE, attr=ParamAttr())}
    updater = opt.Momentum(learning_rate=0.1).create_updater(specs)
    with pytest.raises(ValueError, match="gradient shape"):
        updater.update_rows("w", np.zeros((5, 3)), gradient(rng, [0]))


# ---- through the trainer --------------------------------------------------------------------

def _train_embedding_once(sparse_update, rng, monkeypatch=None):
    import minidl as paddle
    paddle.layer.reset_names()
    words = paddle.layer.data("words", paddle.data_type.integer_value_sequence(50))
    label = paddle.layer.data("label", paddle.data_type.integer_value(2))
    emb = paddle.layer.embedding(input=words, size=4,
                                 param_attr=ParamAttr(name="table", sparse_update=sparse_update))
    pooled = paddle.layer.pooling(input=emb, pooling_type=paddle.pooling.Sum())
    out = paddle.layer.fc(input=pooled, size=2, act=paddle.activation.Softmax())
    cost = paddle.layer.classification_cost(input=out, label=label)
    parameters = paddle.parameters.create(cost)
    for name in parameters.names():
        parameters.set(name, rng.standard_normal(parameters.get_shape(name)).astype(np.float32))
    trainer = paddle.trainer.SGD(cost, parameters,
                                 opt.Momentum(momentum=0.0, learning_rate=0.1))
    samples = [([3, 7, 3], 1), ([49], 0), ([7, 8], 1)]
    trainer.train(lambda: iter([samples]), num_passes=1)
    return parameters


def test_sparse_update_trains_like_the_dense_update(monkeypatch):
    """The same step with and without sparse_update (no momentum, no decay: the lazy update
    is then exact); with it, no dense (V, D) gradient of the table is ever made."""
    from minidl.backends import registry
    dense = _train_embedding_once(False, np.random.default_rng(3))
    monkeypatch.setitem(registry._KERNELS["numpy"], "table_lookup_grad",
                        lambda *a: pytest.fail("a dense table gradient was computed"))
    sparse = _train_embedding_once(True, np.random.default_rng(3))
    for name in dense.names():
        np.testing.assert_allclose(sparse.get(name), dense.get(name), rtol=1e-6, atol=1e-7)
    start = np.random.default_rng(3).standard_normal((50, 4)).astype(np.float32)
    unused = [i for i in range(50) if i not in (3, 7, 8, 49)]
    np.testing.assert_array_equal(sparse.get("table")[unused], start[unused])
