"""concat, addto, dropout and max_id: values, gradients, Paddle semantics, errors."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minidl as paddle
from minidl.layers.attrs import ExtraAttr
from minidl.backends import kernel
from minidl.core import Tensor
from minidl.core.gradcheck import check_directional, check_elementwise
from minidl.functions.dropout import dropout, dropout_with_mask
from minidl.functions.misc import add_n, concat_features
from minidl.layers.graph import Network, RunContext

from conftest import to_numpy

dense = paddle.data_type.dense_vector


def run(outputs, feed, params=None, is_train=False, seed=0):
    ctx = RunContext(params or {}, is_train=is_train, rng=np.random.default_rng(seed))
    return Network(outputs).forward(feed, ctx)


# ---- concat -------------------------------------------------------------------------------

def test_concat_of_images_stacks_channels(rng):
    a = paddle.layer.data("a", dense(2 * 3 * 3), height=3, width=3)
    b = paddle.layer.data("b", dense(1 * 3 * 3), height=3, width=3)
    cat = paddle.layer.concat([a, b])
    assert cat.name == "__concat_0__" and cat.type == "concat"
    assert cat.image_shape == (3, 3, 3) and cat.size == 27
    assert isinstance(cat.act, paddle.activation.Identity)
    xa, xb = rng.standard_normal((2, 18)), rng.standard_normal((2, 9))
    y = run(cat, {"a": xa, "b": xb})[cat.name].data
    np.testing.assert_array_equal(
        y, np.concatenate([xa.reshape(2, 2, 3, 3), xb.reshape(2, 1, 3, 3)], axis=1))


def test_concat_of_mixed_inputs_flattens(rng):
    a = paddle.layer.data("a", dense(2 * 2 * 2), height=2, width=2)
    b = paddle.layer.data("b", dense(5))
    cat = paddle.layer.concat([a, b])
    assert cat.image_shape is None and cat.size == 13
    xa, xb = rng.standard_normal((3, 8)), rng.standard_normal((3, 5))
    np.testing.assert_array_equal(run(cat, {"a": xa, "b": xb})[cat.name].data,
                                  np.concatenate([xa, xb], axis=1))


def test_concat_gradients(backend, rng):
    fn = lambda *xs: concat_features(list(xs)) * concat_features(list(xs))  # noqa: E731
    check_directional(fn, rng.standard_normal((4, 3)), rng.standard_normal((4, 5)),
                      rng.standard_normal((4, 1)))
    check_elementwise(fn, rng.standard_normal((2, 2)), rng.standard_normal((2, 1)))


def test_concat_rejects_a_bias():
    a = paddle.layer.data("a", dense(2))
    with pytest.raises(ValueError, match=r"__concat_0__.*bias"):
        paddle.layer.concat([a, a], bias_attr=paddle.attr.ParamAttr())


# ---- addto --------------------------------------------------------------------------------

def test_addto_sums_inputs_and_bias(rng):
    a, b = paddle.layer.data("a", dense(4)), paddle.layer.data("b", dense(4))
    plain = paddle.layer.addto([a, b])
    assert plain.name == "__addto_0__" and plain.params == []
    assert isinstance(plain.act, paddle.activation.Linear)
    biased = paddle.layer.addto([a, b], act=paddle.activation.Relu(), bias_attr=True)
    (bias,) = biased.params
    assert bias.name == "___addto_1__.wbias" and bias.shape == (1, 4) and bias.is_bias
    xa, xb = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    wb = rng.standard_normal((1, 4))
    out = run([plain, biased], {"a": xa, "b": xb}, {bias.name: Tensor(wb)})
    np.testing.assert_allclose(out[plain.name].data, xa + xb)
    np.testing.assert_allclose(out[biased.name].data, np.maximum(xa + xb + wb, 0))


def test_addto_keeps_image_geometry(rng):
    img = paddle.layer.data("img", dense(2 * 2 * 2), height=2, width=2)
    flat = paddle.layer.data("flat", dense(8))
    add = paddle.layer.addto([flat, img], bias_attr=True)
    assert add.image_shape == (2, 2, 2)
    x1, x2 = rng.standard_normal((2, 8)), rng.standard_normal((2, 8))
    wb = rng.standard_normal((1, 8))
    y = run(add, {"img": x1, "flat": x2}, {add.params[0].name: Tensor(wb)})[add.name].data
    assert y.shape == (2, 2, 2, 2)
    np.testing.assert_allclose(y.reshape(2, 8), x1 + x2 + wb)


def test_addto_gradients(backend, rng):
    fn = lambda a, b, c: add_n([a, b, c]) * a  # noqa: E731
    shapes = [(3, 4)] * 3
    check_directional(fn, *[rng.standard_normal(s) for s in shapes])
    check_elementwise(fn, *[rng.standard_normal((2, 2)) for _ in range(3)])
    img = paddle.layer.data("img", dense(4), height=2, width=2)
    add = paddle.layer.addto([img, img], bias_attr=True)

    def through_layer(x, y, bias):
        ctx = RunContext({add.params[0].name: bias}, is_train=True)
        return add.compute(ctx, [x, y])

    check_directional(through_layer, rng.standard_normal((3, 4)), rng.standard_normal((3, 4)),
                      rng.standard_normal((1, 4)))


def test_addto_size_mismatch_names_the_layer():
    a, b = paddle.layer.data("a", dense(4)), paddle.layer.data("b", dense(5))
    with pytest.raises(ValueError, match=r"__addto_0__.*same size.*a \(4\).*b \(5\)"):
        paddle.layer.addto([a, b])


# ---- dropout ------------------------------------------------------------------------------

def test_dropout_training_masks_without_rescaling(backend, xp):
    x = Tensor(xp.asarray(np.arange(1, 2001, dtype=np.float32).reshape(40, 50)))
    y = to_numpy(dropout(x, 0.3, is_train=True, rng=np.random.default_rng(7)).data)
    kept = y != 0
    # every kept value is the input itself: Paddle does not divide by (1 - rate)
    np.testing.assert_array_equal(y[kept], to_numpy(x.data)[kept])
    assert abs((~kept).mean() - 0.3) < 0.04
    assert y.dtype == np.float32


def test_dropout_test_pass_scales_by_keep_rate(backend, xp):
    x = Tensor(xp.asarray(np.ones((2, 3), np.float32)))
    y = dropout(x, 0.25, is_train=False, rng=None).data
    np.testing.assert_array_equal(to_numpy(y), np.full((2, 3), 0.75, np.float32))
    assert y.dtype == np.float32
    assert dropout(x, 0.0, is_train=True, rng=None) is x


def test_dropout_mask_is_uniform_above_rate():
    """Paddle's mask: ``uniform(0, 1) > rate`` from the run's generator."""
    x = Tensor(np.ones((5, 6)))
    y = dropout(x, 0.4, is_train=True, rng=np.random.default_rng(3)).data
    np.testing.assert_array_equal(y, np.random.default_rng(3).random((5, 6)) > 0.4)


def test_dropout_gradients_with_a_fixed_mask(backend, rng):
    mask = (rng.random((4, 6)) > 0.5).astype(np.float64)
    fn = lambda t: dropout_with_mask(t * t, mask)  # noqa: E731
    check_directional(fn, rng.standard_normal((4, 6)))
    check_elementwise(fn, rng.standard_normal((4, 6)))
    x = Tensor(rng.standard_normal((4, 6)), requires_grad=True)
    dropout_with_mask(x, mask).backward(np.ones((4, 6)))
    np.testing.assert_array_equal(x.grad, mask)


def test_dropout_layer_is_an_addto_with_drop_rate(rng):
    x = paddle.layer.data("x", dense(200))
    drop = paddle.layer.dropout(x, 0.5)
    assert drop.name == "__dropout_0__" and drop.type == "addto" and drop.params == []
    assert drop.layer_attr.drop_rate == 0.5
    data = rng.standard_normal((10, 200))
    train = run(drop, {"x": data}, is_train=True, seed=5)[drop.name].data
    kept = train != 0
    np.testing.assert_array_equal(train[kept], data[kept])
    assert 0.4 < kept.mean() < 0.6
    again = run(drop, {"x": data}, is_train=True, seed=5)[drop.name].data
    np.testing.assert_array_equal(train, again)  # same generator state, same mask
    np.testing.assert_allclose(run(drop, {"x": data})[drop.name].data, 0.5 * data)


def test_extra_attr_drop_rate_on_any_layer(rng):
    x = paddle.layer.data("x", dense(50))
    fc = paddle.layer.fc(x, 40, act=paddle.activation.Relu(), bias_attr=False,
                         layer_attr=ExtraAttr(drop_rate=0.2))
    w = Tensor(rng.standard_normal((50, 40)))
    data = rng.standard_normal((8, 50))
    plain = np.maximum(data @ w.data, 0)
    np.testing.assert_allclose(run(fc, {"x": data}, {fc.params[0].name: w})[fc.name].data,
                               0.8 * plain)
    train = run(fc, {"x": data}, {fc.params[0].name: w}, is_train=True)[fc.name].data
    dropped = (train == 0) & (plain != 0)
    assert dropped.any()
    np.testing.assert_allclose(train[~dropped], plain[~dropped])


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, "half", None])
def test_bad_dropout_rate_names_the_layer(rate):
    x = paddle.layer.data("x", dense(3))
    with pytest.raises(ValueError, match=r"__dropout_0__.*dropout rate"):
        paddle.layer.dropout(x, rate)


# ---- max_id -------------------------------------------------------------------------------

def test_max_id(backend, xp, rng):
    x = paddle.layer.data("x", dense(6))
    ids = paddle.layer.max_id(x)
    assert ids.name == "__maxid_layer_0__" and ids.size == 6 and ids.type == "maxid"
    data = rng.standard_normal((7, 6))
    out = run(ids, {"x": data})[ids.name]
    assert out.dtype == np.int64 and out.shape == (7,) and not out.requires_grad
    np.testing.assert_array_equal(out.data, [int(np.argmax(row)) for row in data])
    ties = to_numpy(kernel("max_id")(xp.asarray(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]))))
    np.testing.assert_array_equal(ties, [1, 0])  # first maximum


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=15)
@given(n=st.integers(1, 4), widths=st.lists(st.integers(1, 5), min_size=1, max_size=4),
       seed=st.integers(0, 2**16))
def test_concat_and_addto_over_shapes(backend, n, widths, seed):
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal((n, w)) for w in widths]
    np.testing.assert_array_equal(concat_features([Tensor(x) for x in xs]).data,
                                  np.concatenate(xs, axis=1))
    same = [rng.standard_normal((n, widths[0])) for _ in widths]
    np.testing.assert_allclose(add_n([Tensor(x) for x in same]).data, sum(same))
    check_directional(lambda *ts: concat_features(list(ts)) * 2.0, *xs, seed=seed)
