"""batch_norm and img_cmrnorm: kernels against naive loops, gradients, Paddle semantics."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minidl as paddle
from minidl.backends import kernel
from minidl.core import Tensor, using_dtype
from minidl.core.gradcheck import check_directional, check_elementwise
from minidl.functions.norm import BatchNormInfer, BatchNormTrain, CrossMapNorm
from minidl.layers.graph import Network, RunContext

from conftest import to_numpy

fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture],
                      max_examples=15)


# ---- batch norm: kernels ---------------------------------------------------------------

def naive_batch_stats(x):
    """Per-channel mean and biased variance of ``x: (N, C, L)`` with plain loops."""
    n, c, pixels = x.shape
    means, variances = [], []
    for ch in range(c):
        values = [x[i, ch, j] for i in range(n) for j in range(pixels)]
        mean = sum(values) / len(values)
        means.append(mean)
        variances.append(sum((v - mean) ** 2 for v in values) / len(values))
    return np.array(means), np.array(variances)


def test_batch_norm_train_kernel_against_loops(backend, xp, rng):
    x = rng.standard_normal((4, 3, 5)) * 2 + 1
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    y, x_hat, mean, var, inv_std = kernel("batch_norm_forward_train")(
        xp.asarray(x), xp.asarray(gamma), xp.asarray(beta), 1e-5)
    want_mean, want_var = naive_batch_stats(x)
    np.testing.assert_allclose(to_numpy(mean), want_mean, rtol=1e-12)
    np.testing.assert_allclose(to_numpy(var), want_var, rtol=1e-12)
    # biased: divides by N*L, not N*L - 1
    assert not np.allclose(to_numpy(var), x.transpose(1, 0, 2).reshape(3, -1).var(axis=1, ddof=1))
    for i, ch, j in [(0, 0, 0), (3, 2, 4), (1, 1, 2)]:
        want = gamma[ch] * (x[i, ch, j] - want_mean[ch]) / math.sqrt(want_var[ch] + 1e-5) \
            + beta[ch]
        assert to_numpy(y)[i, ch, j] == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(to_numpy(inv_std), 1 / np.sqrt(want_var + 1e-5))


def test_batch_norm_infer_kernel_uses_given_statistics(backend, xp, rng):
    x = rng.standard_normal((2, 3, 4))
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    mean, var = np.array([0.5, -1.0, 2.0]), np.array([4.0, 0.25, -1e-9])  # tiny negative clips
    y, _, _ = kernel("batch_norm_forward_infer")(*map(xp.asarray, (x, gamma, beta, mean, var)),
                                                1e-5)
    inv = 1 / np.sqrt(np.maximum(var, 0) + 1e-5)
    want = (x - mean[None, :, None]) * inv[None, :, None] * gamma[None, :, None] \
        + beta[None, :, None]
    np.testing.assert_allclose(to_numpy(y), want, rtol=1e-12)


@pytest.mark.parametrize("relu", [True, False])
def test_batch_norm_act_infer_kernel_against_loops(backend, xp, rng, relu):
    x = rng.standard_normal((2, 3, 4))
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    mean, var = np.array([0.5, -1.0, 2.0]), np.array([4.0, 0.25, -1e-9])
    y = kernel("batch_norm_act_infer")(*map(xp.asarray, (x, gamma, beta, mean, var)), 1e-5,
                                       relu)
    for i, ch, j in np.ndindex(x.shape):
        value = (x[i, ch, j] - mean[ch]) / math.sqrt(max(var[ch], 0) + 1e-5) * gamma[ch] \
            + beta[ch]
        want = max(value, 0.0) if relu else value
        assert to_numpy(y)[i, ch, j] == pytest.approx(want, rel=1e-12, abs=1e-12)
    no_beta = kernel("batch_norm_act_infer")(*map(xp.asarray, (x, gamma)), None,
                                             *map(xp.asarray, (mean, var)), 1e-5, relu)
    shifted = to_numpy(no_beta) if not relu else None
    if shifted is not None:   # without beta: the linear output lacks exactly the shift
        np.testing.assert_allclose(shifted + beta[None, :, None], to_numpy(y), rtol=1e-12)


@pytest.mark.parametrize("with_beta", [True, False])
def test_batch_norm_train_gradients(backend, rng, with_beta):
    x, gamma, beta = rng.standard_normal((4, 3, 5)), rng.uniform(0.5, 2, 3), rng.standard_normal(3)

    def fn(x, gamma, beta=None):
        return BatchNormTrain(1e-5)(x, gamma, beta) if beta is not None \
            else BatchNormTrain(1e-5)(x, gamma)

    args = (x, gamma, beta) if with_beta else (x, gamma)
    check_directional(fn, *args, rtol=1e-5, atol=1e-8)
    small = (rng.standard_normal((3, 2, 2)), rng.uniform(0.5, 2, 2), rng.standard_normal(2))
    check_elementwise(fn, *(small if with_beta else small[:2]), rtol=1e-5, atol=1e-8)


def test_batch_norm_infer_gradients(backend, rng):
    mean, var = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    fn = lambda x, g, b: BatchNormInfer(mean, var, 1e-5)(x, g, b)  # noqa: E731
    check_directional(fn, rng.standard_normal((4, 3, 5)), rng.uniform(0.5, 2, 3),
                      rng.standard_normal(3))
    check_elementwise(fn, rng.standard_normal((2, 3, 2)), rng.uniform(0.5, 2, 3),
                      rng.standard_normal(3))


def test_batch_norm_output_is_normalised(backend, rng):
    x = Tensor(rng.standard_normal((8, 2, 3)) * 5 + 3)
    y = BatchNormTrain(1e-5)(x, Tensor(np.ones(2)), Tensor(np.zeros(2))).data
    np.testing.assert_allclose(y.mean(axis=(0, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2)), 1, rtol=1e-4)


@fixture_ok
@given(n=st.integers(1, 4), c=st.integers(1, 4), pixels=st.integers(1, 6),
       seed=st.integers(0, 2**16))
def test_batch_norm_over_shapes(backend, n, c, pixels, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, pixels))
    _, _, mean, var, _ = kernel("batch_norm_forward_train")(x, np.ones(c), None, 1e-5)
    want_mean, want_var = naive_batch_stats(x)
    np.testing.assert_allclose(mean, want_mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(var, want_var, rtol=1e-10, atol=1e-12)
    if n * pixels > 1:
        check_directional(lambda t, g: BatchNormTrain(1e-5)(t, g), x, rng.uniform(0.5, 2, c),
                          seed=seed, atol=1e-8)


# ---- batch norm: the layer -----------------------------------------------------------

def run(outputs, feed, params, is_train, seed=0):
    net = Network(outputs)
    ctx = RunContext(params, is_train=is_train, rng=np.random.default_rng(seed))
    return net.forward(feed, ctx), ctx


def bn_params(layer, rng, c, mean=None, var=None):
    params = {
        layer.scale.name: Tensor(rng.uniform(0.5, 2, (1, c))),
        layer.moving_mean.name: Tensor(np.zeros((1, c)) if mean is None else mean),
        layer.moving_var.name: Tensor(np.ones((1, c)) if var is None else var),
    }
    if layer.bias is not None:
        params[layer.bias.name] = Tensor(rng.standard_normal((1, c)))
    return params


def test_batch_norm_parameters_as_paddle_declares_them():
    img = paddle.layer.data("img", paddle.data_type.dense_vector(3 * 4 * 4), height=4, width=4)
    bn = paddle.layer.batch_norm(img)
    assert bn.name == "__batch_norm_0__"
    assert isinstance(bn.act, paddle.activation.Relu)
    assert bn.image_shape == (3, 4, 4) and bn.size == 48
    specs = {s.name: s for s in bn.params}
    assert list(specs) == ["___batch_norm_0__.w0", "___batch_norm_0__.w1",
                           "___batch_norm_0__.w2", "___batch_norm_0__.wbias"]
    for spec in specs.values():
        assert spec.shape == (1, 3)
    w0, w1, w2, wb = specs.values()
    assert (w0.default_mean, w0.default_std, w0.static) == (1.0, 0.0, False)
    for moving in (w1, w2):  # Paddle: initial_mean=0, initial_std=0, is_static=True
        assert moving.static and moving.default_mean == 0.0 and moving.default_std == 0.0
    assert wb.is_bias and not wb.static
    named = paddle.layer.batch_norm(img, mean_var_names=["mu", "sigma2"], bias_attr=False)
    assert [s.name for s in named.params] == ["___batch_norm_1__.w0", "mu", "sigma2"]


def test_batch_norm_per_feature_for_flat_input(rng):
    x = paddle.layer.data("x", paddle.data_type.dense_vector(5))
    bn = paddle.layer.batch_norm(x, act=paddle.activation.Linear())
    assert bn.channels == 5 and bn.image_shape is None
    params = bn_params(bn, rng, 5)
    with using_dtype(np.float64):
        data = rng.standard_normal((6, 5)) * 3
        out, _ = run(bn, {"x": data}, params, is_train=True)
    y = out[bn.name].data
    assert y.shape == (6, 5)
    want = (data - data.mean(0)) / np.sqrt(data.var(0) + 1e-5) * params[bn.scale.name].data \
        + params[bn.bias.name].data
    np.testing.assert_allclose(y, want, rtol=1e-10)


def test_batch_norm_image_statistics_are_per_channel(rng):
    img = paddle.layer.data("img", paddle.data_type.dense_vector(2 * 3 * 3), height=3, width=3)
    bn = paddle.layer.batch_norm(img, act=paddle.activation.Linear(), bias_attr=False)
    params = bn_params(bn, rng, 2)
    params[bn.scale.name] = Tensor(np.ones((1, 2)))
    data = rng.standard_normal((4, 18)) + np.repeat([5.0, -5.0], 9)
    out, _ = run(bn, {"img": data}, params, is_train=True)
    y = out[bn.name].data
    assert y.shape == (4, 2, 3, 3)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)


def test_batch_norm_training_reports_moving_averages(rng):
    img = paddle.layer.data("img", paddle.data_type.dense_vector(2 * 2 * 2), height=2, width=2)
    bn = paddle.layer.batch_norm(img)
    mean0, var0 = np.array([[0.5, -0.5]]), np.array([[2.0, 3.0]])
    params = bn_params(bn, rng, 2, mean0.copy(), var0.copy())
    data = rng.standard_normal((5, 8))
    _, ctx = run(bn, {"img": data}, params, is_train=True)
    per_channel = data.reshape(5, 2, 4).transpose(1, 0, 2).reshape(2, -1)
    np.testing.assert_allclose(ctx.updates[bn.moving_mean.name],
                               0.9 * mean0 + 0.1 * per_channel.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(ctx.updates[bn.moving_var.name],
                               0.9 * var0 + 0.1 * per_channel.var(axis=1), rtol=1e-12)
    # forward never writes a parameter: the trainer applies ctx.updates after the step
    np.testing.assert_array_equal(params[bn.moving_mean.name].data, mean0)
    np.testing.assert_array_equal(params[bn.moving_var.name].data, var0)


def test_batch_norm_moving_average_fraction_is_used(rng):
    x = paddle.layer.data("x", paddle.data_type.dense_vector(3))
    bn = paddle.layer.batch_norm(x, moving_average_fraction=0.5)
    params = bn_params(bn, rng, 3)
    data = rng.standard_normal((4, 3))
    _, ctx = run(bn, {"x": data}, params, is_train=True)
    np.testing.assert_allclose(ctx.updates[bn.moving_mean.name], 0.5 * data.mean(0)[None])


def test_batch_norm_inference_uses_moving_statistics(rng):
    x = paddle.layer.data("x", paddle.data_type.dense_vector(3))
    bn = paddle.layer.batch_norm(x, act=paddle.activation.Linear())
    mean, var = np.array([[1.0, -2.0, 0.5]]), np.array([[4.0, 0.25, 1.0]])
    params = bn_params(bn, rng, 3, mean, var)
    data = rng.standard_normal((1, 3))  # a single sample: batch statistics would give 0
    out, ctx = run(bn, {"x": data}, params, is_train=False)
    want = (data - mean) / np.sqrt(var + 1e-5) * params[bn.scale.name].data \
        + params[bn.bias.name].data
    np.testing.assert_allclose(out[bn.name].data, want, rtol=1e-12)
    assert ctx.updates == {}


@pytest.mark.parametrize("act", [paddle.activation.Relu(), paddle.activation.Linear(),
                                 paddle.activation.Tanh()])
def test_batch_norm_inference_one_pass_equals_the_general_path(backend, rng, monkeypatch, act):
    """With nothing to differentiate, inference takes the fused kernel (ReLU / linear);
    with gradients wanted it keeps the Function path. Both give the same values."""
    from minidl.core import no_grad
    img = paddle.layer.data("img", paddle.data_type.dense_vector(3 * 2 * 2), height=2, width=2)
    bn = paddle.layer.batch_norm(img, act=act)
    mean, var = rng.standard_normal((1, 3)), rng.uniform(0.1, 2, (1, 3))
    params = bn_params(bn, rng, 3, mean, var)
    data = rng.standard_normal((2, 12))
    calls = []
    monkeypatch.setattr("minidl.functions.norm.kernel",
                        lambda op: (calls.append(op), kernel(op))[1])
    with no_grad():
        quick = to_numpy(run(bn, {"img": data}, params, is_train=False)[0][bn.name].data)
    assert ("batch_norm_act_infer" in calls) == (type(act) is not paddle.activation.Tanh)
    calls.clear()
    grads = {k: Tensor(v.data, requires_grad=True) for k, v in params.items()}
    general = to_numpy(run(bn, {"img": data}, grads, is_train=False)[0][bn.name].data)
    assert "batch_norm_act_infer" not in calls
    assert quick.shape == general.shape == (2, 3, 2, 2)
    np.testing.assert_allclose(quick, general, rtol=1e-6, atol=1e-6)


def test_batch_norm_use_global_stats_false_tests_with_batch_statistics(rng):
    x = paddle.layer.data("x", paddle.data_type.dense_vector(3))
    bn = paddle.layer.batch_norm(x, act=paddle.activation.Linear(), use_global_stats=False)
    params = bn_params(bn, rng, 3, np.full((1, 3), 100.0), np.full((1, 3), 100.0))
    params[bn.scale.name], params[bn.bias.name] = Tensor(np.ones((1, 3))), Tensor(np.zeros((1, 3)))
    out, ctx = run(bn, {"x": rng.standard_normal((6, 3))}, params, is_train=False)
    np.testing.assert_allclose(out[bn.name].data.mean(axis=0), 0, atol=1e-12)
    assert ctx.updates == {}  # only training moves the averages


def test_batch_norm_gradients_through_the_layer(backend, rng):
    """x, scale and bias of a training-mode image batch norm (with its Tanh), end to end."""
    img = paddle.layer.data("img", paddle.data_type.dense_vector(2 * 2 * 3), height=2, width=3)
    bn = paddle.layer.batch_norm(img, act=paddle.activation.Tanh())
    fixed = {bn.moving_mean.name: Tensor(np.zeros((1, 2))),
             bn.moving_var.name: Tensor(np.ones((1, 2)))}

    def through_layer(x, scale, bias):
        # Layer.compute directly: a data layer would feed x as a constant
        params = dict(fixed, **{bn.scale.name: scale, bn.bias.name: bias})
        return bn.compute(RunContext(params, is_train=True), [x])

    scale, bias = rng.uniform(0.5, 2, (1, 2)), rng.standard_normal((1, 2))
    y = through_layer(Tensor(rng.standard_normal((4, 12))), Tensor(scale), Tensor(bias))
    assert y.shape == (4, 2, 2, 3)
    check_directional(through_layer, rng.standard_normal((4, 12)), scale, bias, atol=1e-8)
    check_elementwise(through_layer, rng.standard_normal((3, 12)), scale, bias, atol=1e-8)


def test_batch_norm_construction_errors():
    x = paddle.layer.data("x", paddle.data_type.dense_vector(12))
    with pytest.raises(ValueError, match=r"__batch_norm_0__.*epsilon"):
        paddle.layer.batch_norm(x, epsilon=1e-6)
    with pytest.raises(ValueError, match=r"__batch_norm_1__.*batch_norm_type"):
        paddle.layer.batch_norm(x, batch_norm_type="fancy")
    with pytest.raises(ValueError, match=r"__batch_norm_2__.*mean_var_names"):
        paddle.layer.batch_norm(x, mean_var_names=["only_one"])
    with pytest.raises(ValueError, match=r"__batch_norm_3__.*square"):
        paddle.layer.batch_norm(x, num_channels=2)  # 12 / 2 = 6 pixels: not a square image
    bn = paddle.layer.batch_norm(x, num_channels=3)  # 12 / 3 = 4 = 2 x 2
    assert bn.image_shape == (3, 2, 2) and bn.channels == 3


# ---- cross-map normalisation (LRN) -------------------------------------------------------

def naive_cmrnorm(x, size, alpha, power):
    """Paddle's CrossMapNormal with loops: window of ``size`` channels from c - (size-1)//2."""
    n, c, h, w = x.shape
    y = np.empty_like(x)
    first = -((size - 1) // 2)
    for i in range(n):
        for ch in range(c):
            for r in range(h):
                for col in range(w):
                    total = 0.0
                    for s in range(first, first + size):
                        if 0 <= ch + s < c:
                            total += x[i, ch + s, r, col] ** 2
                    y[i, ch, r, col] = x[i, ch, r, col] * (1 + alpha * total) ** (-power)
    return y


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 9])
def test_cmrnorm_kernel_against_loops(backend, xp, rng, size):
    x = rng.standard_normal((2, 6, 2, 3))
    y, denom = kernel("cross_map_norm_forward")(xp.asarray(x), size, 0.3, 0.75)
    np.testing.assert_allclose(to_numpy(y), naive_cmrnorm(x, size, 0.3, 0.75), rtol=1e-12)
    assert to_numpy(denom).min() >= 1


def test_cmrnorm_even_window_reaches_forward(backend, xp):
    """size 2: channel c sums c and c + 1 (Paddle's start = -((size - 1) / 2) = 0)."""
    x = np.zeros((1, 3, 1, 1))
    x[0, 1] = 1.0
    _, denom = kernel("cross_map_norm_forward")(xp.asarray(x), 2, 1.0, 1.0)
    np.testing.assert_allclose(to_numpy(denom).ravel(), [2.0, 2.0, 1.0])


@pytest.mark.parametrize("size", [3, 4])
def test_cmrnorm_gradients(backend, rng, size):
    fn = lambda t: CrossMapNorm(size, 0.2, 0.75)(t)  # noqa: E731
    check_directional(fn, rng.standard_normal((2, 7, 3, 3)))
    check_elementwise(fn, rng.standard_normal((1, 5, 2, 1)))


@fixture_ok
@given(n=st.integers(1, 3), c=st.integers(1, 7), hw=st.integers(1, 3), size=st.integers(1, 8),
       seed=st.integers(0, 2**16))
def test_cmrnorm_over_shapes(backend, n, c, hw, size, seed):
    x = np.random.default_rng(seed).standard_normal((n, c, hw, hw))
    y, _ = kernel("cross_map_norm_forward")(x, size, 0.5, 0.6)
    np.testing.assert_allclose(y, naive_cmrnorm(x, size, 0.5, 0.6), rtol=1e-12)
    check_directional(lambda t: CrossMapNorm(size, 0.5, 0.6)(t), x, seed=seed)


def test_img_cmrnorm_layer_stores_scale_over_size(rng):
    img = paddle.layer.data("img", paddle.data_type.dense_vector(4 * 3 * 3), height=3, width=3)
    norm = paddle.layer.img_cmrnorm(img, size=5)
    assert norm.name == "__crmnorm_0__" and norm.type == "norm"
    assert norm.image_shape == (4, 3, 3) and norm.act is None and not norm.params
    assert norm.alpha == pytest.approx(0.0128 / 5)
    data = rng.standard_normal((2, 36))
    out, _ = run(norm, {"img": data}, {}, is_train=False)
    want = naive_cmrnorm(data.reshape(2, 4, 3, 3), 5, 0.0128 / 5, 0.75)
    np.testing.assert_allclose(out[norm.name].data, want, rtol=1e-12)


def test_img_cmrnorm_construction_errors():
    flat = paddle.layer.data("flat", paddle.data_type.dense_vector(12))
    with pytest.raises(ValueError, match=r"__crmnorm_0__.*num_channels"):
        paddle.layer.img_cmrnorm(flat, size=3)
    with pytest.raises(ValueError, match=r"__crmnorm_1__.*size"):
        paddle.layer.img_cmrnorm(flat, size=0, num_channels=3)
    assert paddle.layer.img_cmrnorm(flat, size=3, num_channels=3).image_shape == (3, 2, 2)
