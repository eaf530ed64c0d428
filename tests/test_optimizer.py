"""paddle.optimizer: every update rule against a scalar loop of its documented formula,
convergence, per-parameter overrides, clipping, L1/L2, ModelAverage, state and errors."""

import io
import math

import numpy as np
import pytest

import minidl.optimizer as opt
from minidl.layers.attrs import ParamAttr
from minidl.core import as_numpy
from minidl.layers.base import ParamSpec


def spec(name="w", shape=(5,), static=False, **attr):
    return ParamSpec(name=name, shape=shape, attr=ParamAttr(**attr), static=static)


def train(updater, values, grads_per_step, batch_size=1):
    """Apply ``grads_per_step`` (list of dict name -> array) through the engine."""
    for grads in grads_per_step:
        for name, grad in grads.items():
            updater.update(name, values[name], grad)
        updater.end_batch(batch_size, values)


# --- scalar references: one element, plain Python floats, straight from the docstrings ---

def momentum_ref(s, w, g, lr, mu, d, t, h):
    s["mom"] = mu * s.get("mom", 0.0) - lr * (g + d * w)
    return w + s["mom"], 1.0


def adagrad_ref(s, w, g, lr, mu, d, t, h):
    s["G"] = s.get("G", 0.0) + g * g
    r = 1.0 / math.sqrt(s["G"] + 1e-6)
    s["mom"] = mu * s.get("mom", 0.0) - lr * r * (g + d * w)
    return w + s["mom"], r


def decayed_adagrad_ref(s, w, g, lr, mu, d, t, h):
    rho = h["rho"]
    s["E"] = rho * s.get("E", 0.0) + (1.0 if t == 1 else 1.0 - rho) * g * g
    r = 1.0 / math.sqrt(s["E"] + h["eps"])
    s["mom"] = mu * s.get("mom", 0.0) - lr * r * (g + d * w)
    return w + s["mom"], r


def adadelta_ref(s, w, g, lr, mu, d, t, h):
    rho, eps = h["rho"], h["eps"]
    s["Eg"] = rho * s.get("Eg", 0.0) + (1 - rho) * g * g
    r = math.sqrt((s.get("Edx", 0.0) + eps) / (s["Eg"] + eps))
    s["Edx"] = rho * s.get("Edx", 0.0) + (1 - rho) * (g * r) ** 2
    s["mom"] = mu * s.get("mom", 0.0) - lr * r * (g + d * w)
    return w + s["mom"], r


def rmsprop_ref(s, w, g, lr, mu, d, t, h):
    rho = h["rho"]
    s["Eg2"] = rho * s.get("Eg2", 0.0) + (1.0 if t == 1 else 1.0 - rho) * g * g
    s["Eg"] = rho * s.get("Eg", 0.0) + (1 - rho) * g
    r = 1.0 / math.sqrt(s["Eg2"] - s["Eg"] ** 2 + h["eps"])
    s["mom"] = mu * s.get("mom", 0.0) - lr * r * (g + d * w)
    return w + s["mom"], r


def adam_ref(s, w, g, lr, mu, d, t, h):
    b1, b2 = h["b1"], h["b2"]
    g = g + d * w
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
    alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    return w - alpha * s["m"] / (math.sqrt(s["v"]) + h["eps"]), 1.0


def adamax_ref(s, w, g, lr, mu, d, t, h):
    b1, b2 = h["b1"], h["b2"]
    g = g + d * w
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["u"] = max(b2 * s.get("u", 0.0), abs(g))
    return w - lr / (1 - b1 ** t) * s["m"] / s["u"], 1.0


def reference(step_fn, hyper, w0, grads, lr, mu, d, l1=0.0):
    """Run the scalar rule element by element; with ``l1`` the Paddle L1/L2 shrink follows."""
    out = []
    for i, w in enumerate(float(x) for x in w0.ravel()):
        state = {}
        for t, grad in enumerate(grads, start=1):
            g = float(grad.ravel()[i])
            if l1:
                w, r = step_fn(state, w, g, lr, mu, 0.0, t, hyper)
                scale = lr * r
                w = math.copysign(max(abs(w) - scale * l1, 0.0), w)
                w = w / (1.0 + scale * d)
            else:
                w, _ = step_fn(state, w, g, lr, mu, d, t, hyper)
        out.append(w)
    return np.array(out).reshape(w0.shape)


# name -> (optimizer factory, scalar rule, hyper-parameters, momentum set by ParamAttr)
RULES = {
    "momentum": (lambda **kw: opt.Momentum(momentum=0.9, **kw), momentum_ref, {}, None),
    "adagrad": (lambda **kw: opt.AdaGrad(**kw), adagrad_ref, {}, 0.5),
    "decayed_adagrad": (lambda **kw: opt.DecayedAdaGrad(rho=0.9, epsilon=1e-4, **kw),
                        decayed_adagrad_ref, {"rho": 0.9, "eps": 1e-4}, 0.5),
    "adadelta": (lambda **kw: opt.AdaDelta(rho=0.9, epsilon=1e-3, **kw), adadelta_ref,
                 {"rho": 0.9, "eps": 1e-3}, 0.5),
    "rmsprop": (lambda **kw: opt.RMSProp(rho=0.9, epsilon=1e-4, **kw), rmsprop_ref,
                {"rho": 0.9, "eps": 1e-4}, 0.5),
    "adam": (lambda **kw: opt.Adam(beta1=0.8, beta2=0.99, epsilon=1e-6, **kw), adam_ref,
             {"b1": 0.8, "b2": 0.99, "eps": 1e-6}, None),
    "adamax": (lambda **kw: opt.Adamax(beta1=0.8, beta2=0.99, **kw), adamax_ref,
               {"b1": 0.8, "b2": 0.99}, None),
}


def effective_momentum(name, attr_momentum):
    if name == "momentum":
        return 0.9
    return attr_momentum or 0.0


def random_problem(seed, shape=(2, 3), steps=6):
    rng = np.random.default_rng(seed)
    w0 = rng.normal(size=shape).astype(np.float32)
    grads = [rng.normal(size=shape).astype(np.float32) for _ in range(steps)]
    return w0, grads


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_matches_scalar_reference_with_decay_and_param_lr(name, xp):
    make, step_fn, hyper, attr_momentum = RULES[name]
    optimizer = make(learning_rate=0.05, regularization=opt.L2Regularization(0.1))
    w0, grads = random_problem(seed=len(name))
    updater = optimizer.create_updater(
        {"w": spec(shape=w0.shape, learning_rate=0.5, momentum=attr_momentum)})
    values = {"w": xp.array(w0)}
    train(updater, values, [{"w": xp.asarray(g)} for g in grads], batch_size=4)
    expected = reference(step_fn, hyper, w0, grads, lr=0.025,
                         mu=effective_momentum(name, attr_momentum), d=0.1)
    np.testing.assert_allclose(as_numpy(values["w"]), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["momentum_plain", "adagrad", "rmsprop", "adam"])
def test_l1_shrinks_after_the_update_as_paddle(name, xp):
    key = "momentum" if name == "momentum_plain" else name
    make, step_fn, hyper, attr_momentum = RULES[key]
    if name == "momentum_plain":  # Paddle refuses L1 with momentum: use plain SGD
        make = lambda **kw: opt.Momentum(**kw)  # noqa: E731
    optimizer = make(learning_rate=0.1, regularization=opt.L2Regularization(0.2))
    w0, grads = random_problem(seed=7)
    w0 *= 0.2   # small weights, so that the shrink reaches zero for some of them
    updater = optimizer.create_updater({"w": spec(shape=w0.shape, l1_rate=0.3)})
    values = {"w": xp.array(w0)}
    train(updater, values, [{"w": xp.asarray(g)} for g in grads])
    expected = reference(step_fn, hyper, w0, grads, lr=0.1, mu=0.0, d=0.2, l1=0.3)
    np.testing.assert_allclose(as_numpy(values["w"]), expected, rtol=1e-4, atol=1e-6)
    zeros = int((as_numpy(values["w"]) == 0).sum())
    assert 0 < zeros < w0.size, "the L1 shrink should zero some weights, not all"


def test_l1_with_momentum_is_rejected():
    with pytest.raises(ValueError, match=r"parameter w: l1_rate=0.1.*momentum"):
        opt.Momentum(momentum=0.9).create_updater({"w": spec(l1_rate=0.1)})


CONVERGENCE = {
    "momentum": lambda: opt.Momentum(momentum=0.9, learning_rate=0.05),
    "sgd": lambda: opt.Momentum(learning_rate=0.2),
    "adam": lambda: opt.Adam(learning_rate=0.05),
    "adamax": lambda: opt.Adamax(learning_rate=0.05),
    "adagrad": lambda: opt.AdaGrad(learning_rate=0.5),
    "decayed_adagrad": lambda: opt.DecayedAdaGrad(learning_rate=0.02),
    "adadelta": lambda: opt.AdaDelta(learning_rate=1.0, rho=0.9, epsilon=1e-3),
    "rmsprop": lambda: opt.RMSProp(learning_rate=0.01),
}


@pytest.mark.parametrize("name", sorted(CONVERGENCE))
def test_converges_on_a_quadratic(name, xp):
    """f(w) = sum(c * (w - target)**2) / 2 from w = 0; gradient c * (w - target)."""
    rng = np.random.default_rng(0)
    c = xp.asarray(rng.uniform(0.5, 2.0, 8).astype(np.float32))
    target = xp.asarray(rng.normal(size=8).astype(np.float32))
    updater = CONVERGENCE[name]().create_updater({"w": spec(shape=(8,))})
    w = xp.zeros(8, dtype=xp.float32)
    start = float(as_numpy(xp.abs(w - target)).max())
    for _ in range(300):
        updater.update("w", w, c * (w - target))
        updater.end_batch(1, {"w": w})
    assert float(as_numpy(xp.abs(w - target)).max()) < 1e-3 * max(start, 1.0)


# --- per-parameter overrides -------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(RULES))
def test_learning_rate_zero_freezes_a_parameter(name, xp):
    make = RULES[name][0]
    optimizer = make(learning_rate=0.1, regularization=opt.L2Regularization(0.5))
    w0, grads = random_problem(seed=3)
    updater = optimizer.create_updater({"frozen": spec("frozen", w0.shape, learning_rate=0.0),
                                        "moving": spec("moving", w0.shape)})
    values = {"frozen": xp.array(w0), "moving": xp.array(w0)}
    train(updater, values, [{"frozen": xp.asarray(g), "moving": xp.asarray(g)} for g in grads])
    np.testing.assert_array_equal(as_numpy(values["frozen"]), w0)
    assert not np.allclose(as_numpy(values["moving"]), w0)


@pytest.mark.parametrize("how", ["ParamAttr(is_static=True)", "ParamSpec(static=True)"])
def test_static_parameter_is_skipped(how, xp):
    static = spec("s", (3,), is_static=True) if how.startswith("ParamAttr") \
        else spec("s", (3,), static=True)
    updater = opt.Adam(learning_rate=0.1, regularization=opt.L2Regularization(1.0),
                       model_average=opt.ModelAverage(0.5)).create_updater({"s": static})
    w = xp.asarray(np.array([1.0, -2.0, 3.0], dtype=np.float32))
    for _ in range(3):
        updater.update("s", w, xp.ones(3, dtype=xp.float32))
        updater.end_batch(2, {"s": w})
    np.testing.assert_array_equal(as_numpy(w), [1.0, -2.0, 3.0])
    assert not any(key.startswith("s/") for key in updater.state_dict())
    assert updater.averaged_values({"s": w})["s"] is w


def test_l2_rate_overrides_the_global_rate(xp):
    """A rate of 0 is "not set" in Paddle's parameter config: the global rate applies."""
    w0, grads = random_problem(seed=11)
    specs = {"zero": spec("zero", w0.shape, l2_rate=0.0),
             "own": spec("own", w0.shape, l2_rate=0.05), "global": spec("global", w0.shape)}
    values = {name: xp.array(w0) for name in specs}
    train(opt.Momentum(momentum=0.5, learning_rate=0.1,
                       regularization=opt.L2Regularization(0.4)).create_updater(specs),
          values, [{name: xp.asarray(g) for name in specs} for g in grads])
    for name, d in [("zero", 0.4), ("own", 0.05), ("global", 0.4)]:
        expected = reference(momentum_ref, {}, w0, grads, lr=0.1, mu=0.5, d=d)
        np.testing.assert_allclose(as_numpy(values[name]), expected, rtol=1e-5, atol=1e-6)


def test_param_momentum_overrides_the_optimizer_momentum(xp):
    """ParamAttr momentum 0 is "not set" (Paddle's update_from_default): the global 0.9."""
    w0, grads = random_problem(seed=5)
    specs = {"a": spec("a", w0.shape, momentum=0.0), "b": spec("b", w0.shape, momentum=0.5)}
    values = {name: xp.array(w0) for name in specs}
    train(opt.Momentum(momentum=0.9, learning_rate=0.1).create_updater(specs), values,
          [{name: xp.asarray(g) for name in specs} for g in grads])
    np.testing.assert_allclose(as_numpy(values["a"]),
                               reference(momentum_ref, {}, w0, grads, lr=0.1, mu=0.9, d=0.0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(as_numpy(values["b"]),
                               reference(momentum_ref, {}, w0, grads, lr=0.1, mu=0.5, d=0.0),
                               rtol=1e-5, atol=1e-6)


def test_momentum_none_means_zero(xp):
    w = xp.asarray(np.array([1.0, 2.0], dtype=np.float32))
    updater = opt.Momentum(learning_rate=0.5).create_updater({"w": spec(shape=(2,))})
    g = xp.asarray(np.array([1.0, -1.0], dtype=np.float32))
    train(updater, {"w": w}, [{"w": g}, {"w": g}])
    np.testing.assert_allclose(as_numpy(w), [0.0, 3.0])   # two plain steps of 0.5


def test_clipping_bounds_each_gradient_element(xp):
    """Momentum 0, lr 1: the step is exactly minus the clipped gradient."""
    g = np.array([100.0, -100.0, 0.5, -3.0], dtype=np.float32)
    specs = {"global": spec("global", (4,)),
             "own": spec("own", (4,), gradient_clipping_threshold=0.25),
             "zero": spec("zero", (4,), gradient_clipping_threshold=0.0)}
    values = {name: xp.zeros(4, dtype=xp.float32) for name in specs}
    grad = xp.asarray(g)
    updater = opt.Momentum(learning_rate=1.0, gradient_clipping_threshold=1.0) \
        .create_updater(specs)
    train(updater, values, [{name: grad for name in specs}])
    np.testing.assert_array_equal(as_numpy(values["global"]), [-1.0, 1.0, -0.5, 1.0])
    np.testing.assert_array_equal(as_numpy(values["own"]), [-0.25, 0.25, -0.25, 0.25])
    # 0 is "not set" in Paddle's parameter config: the global threshold applies
    np.testing.assert_array_equal(as_numpy(values["zero"]), [-1.0, 1.0, -0.5, 1.0])
    np.testing.assert_array_equal(as_numpy(grad), g)   # the caller's gradient is untouched


def test_clipping_bounds_adam_moments(xp):
    """With every element clipped to 1 a huge gradient moves Adam exactly like a gradient of 1."""
    specs = {"a": spec("a", (2,)), "b": spec("b", (2,))}
    values = {name: xp.zeros(2, dtype=xp.float32) for name in specs}
    updater = opt.Adam(learning_rate=0.1).create_updater(specs)
    clipped = opt.Adam(learning_rate=0.1, gradient_clipping_threshold=1.0).create_updater(specs)
    huge, one = xp.full(2, 1e6, dtype=xp.float32), xp.ones(2, dtype=xp.float32)
    for _ in range(3):
        updater.update("a", values["a"], one)
        clipped.update("b", values["b"], huge)
        updater.end_batch(1)
        clipped.end_batch(1)
    np.testing.assert_array_equal(as_numpy(values["a"]), as_numpy(values["b"]))


# --- ModelAverage ------------------------------------------------------------------------

def feed(updater, vectors, xp):
    for v in vectors:
        updater.end_batch(1, {"w": xp.asarray(v)})


def test_model_average_is_the_mean_of_the_last_window(xp):
    rng = np.random.default_rng(2)
    v = [rng.normal(size=3).astype(np.float32) for _ in range(9)]
    updater = opt.Momentum(model_average=opt.ModelAverage(average_window=1,
                                                          max_average_window=3)) \
        .create_updater({"w": spec(shape=(3,))})
    now = xp.zeros(3, dtype=xp.float32)
    # batch k -> the values averaged after it (1-based); see minidl/optim/average.py
    expected_window = {1: (1, 1), 2: (1, 2), 3: (1, 3), 4: (1, 4), 5: (1, 5),
                       6: (4, 6), 7: (4, 7), 8: (4, 8), 9: (7, 9)}
    for k in range(1, 10):
        feed(updater, [v[k - 1]], xp)
        first, last = expected_window[k]
        averaged = as_numpy(updater.averaged_values({"w": now})["w"])
        np.testing.assert_allclose(averaged, np.mean(v[first - 1:last], axis=0), rtol=1e-6)


def test_model_average_window_follows_the_pass_length(xp):
    """No max_average_window: the first pass averages everything (min window 10000); after
    it the window is the pass length, 4 batches, and closes at >= 4 and >= 0.5 * updates."""
    rng = np.random.default_rng(4)
    v = [rng.normal(size=2).astype(np.float32) for _ in range(9)]
    updater = opt.Adam(model_average=opt.ModelAverage(average_window=0.5)) \
        .create_updater({"w": spec(shape=(2,))})
    expected_window = {1: (1, 1), 2: (1, 2), 3: (1, 3), 4: (1, 4),
                       5: (1, 5), 6: (1, 6), 7: (1, 7), 8: (1, 8), 9: (6, 9)}
    updater.begin_pass(0)
    for k in range(1, 10):
        if k == 5:
            updater.begin_pass(1)
        feed(updater, [v[k - 1]], xp)
        first, last = expected_window[k]
        averaged = as_numpy(updater.averaged_values({"w": xp.zeros(2, dtype=xp.float32)})["w"])
        np.testing.assert_allclose(averaged, np.mean(v[first - 1:last], axis=0), rtol=1e-6)


def test_averaged_values_before_any_batch_and_without_model_average(xp):
    w = xp.ones(2, dtype=xp.float32)
    with_average = opt.Momentum(model_average=opt.ModelAverage(0.5)) \
        .create_updater({"w": spec(shape=(2,))})
    assert with_average.averaged_values({"w": w})["w"] is w
    assert opt.Momentum().create_updater({"w": spec(shape=(2,))}).averaged_values({"w": w}) \
        is None


def test_averaged_values_keep_dtype_and_do_not_touch_values(xp):
    updater = opt.Momentum(model_average=opt.ModelAverage(0.5)) \
        .create_updater({"w": spec(shape=(2,))})
    w = xp.asarray(np.array([1.0, 3.0], dtype=np.float32))
    updater.end_batch(1, {"w": w})
    w[...] = 5.0
    updater.end_batch(1, {"w": w})
    averaged = updater.averaged_values({"w": w})["w"]
    assert averaged.dtype == np.float32
    np.testing.assert_allclose(as_numpy(averaged), [3.0, 4.0])
    np.testing.assert_array_equal(as_numpy(w), [5.0, 5.0])


# --- state -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(RULES))
def test_state_dict_round_trip_continues_identically(name, xp):
    make = RULES[name][0]
    w0, grads = random_problem(seed=9, steps=5)

    def fresh():
        return make(learning_rate=0.05, model_average=opt.ModelAverage(0.5, 2)) \
            .create_updater({"w": spec(shape=w0.shape, momentum=RULES[name][3])})

    first, w_first = fresh(), {"w": xp.array(w0)}
    train(first, w_first, [{"w": xp.asarray(g)} for g in grads[:3]])
    buffer = io.BytesIO()
    np.savez(buffer, **first.state_dict())
    buffer.seek(0)
    second, w_second = fresh(), {"w": xp.asarray(as_numpy(w_first["w"]).copy())}
    second.load_state_dict(dict(np.load(buffer)))
    rest = [{"w": xp.asarray(g)} for g in grads[3:]]
    train(first, w_first, rest)
    train(second, w_second, rest)
    np.testing.assert_array_equal(as_numpy(w_first["w"]), as_numpy(w_second["w"]))
    np.testing.assert_array_equal(as_numpy(first.averaged_values(w_first)["w"]),
                                  as_numpy(second.averaged_values(w_second)["w"]))
    assert first.learning_rate() == second.learning_rate()


def test_state_of_another_rule_is_rejected(xp):
    momentum = opt.Momentum(momentum=0.9).create_updater({"w": spec(shape=(2,))})
    w = xp.ones(2, dtype=xp.float32)
    momentum.update("w", w, w)
    momentum.end_batch(1)
    with pytest.raises(ValueError, match="adam has no slot 'momentum'"):
        opt.Adam().create_updater({"w": spec(shape=(2,))}).load_state_dict(
            momentum.state_dict())


# --- argument errors ---------------------------------------------------------------------

@pytest.mark.parametrize("build, message", [
    (lambda: opt.Momentum(momentum=1.0), "momentum=1.0"),
    (lambda: opt.Momentum(momentum=-0.1), "momentum=-0.1"),
    (lambda: opt.Momentum(learning_rate=-1e-3), "learning_rate=-0.001"),
    (lambda: opt.Momentum(learning_rate="0.1"), "learning_rate='0.1'"),
    (lambda: opt.Momentum(sparse="yes"), "sparse='yes'"),
    (lambda: opt.Adam(beta1=1.0), "beta1=1.0"),
    (lambda: opt.Adam(epsilon=0.0), "epsilon=0.0"),
    (lambda: opt.Adamax(beta2=1.5), "beta2=1.5"),
    (lambda: opt.RMSProp(rho=-0.5), "rho=-0.5"),
    (lambda: opt.AdaDelta(rho=1), "rho=1"),
    (lambda: opt.DecayedAdaGrad(epsilon=-1.0), "epsilon=-1.0"),
    (lambda: opt.Momentum(learning_rate_schedule="cosine"), "'cosine'"),
    (lambda: opt.Momentum(learning_rate_schedule="manual", learning_rate_args="100"),
     "learning_rate_args='100'"),
    (lambda: opt.Momentum(gradient_clipping_threshold=-1.0), "gradient_clipping_threshold"),
    (lambda: opt.Momentum(regularization=0.1), "regularization=0.1"),
    (lambda: opt.Momentum(model_average=0.5), "model_average=0.5"),
    (lambda: opt.L2Regularization(-1.0), "rate=-1.0"),
    (lambda: opt.ModelAverage(0.0), "average_window=0.0"),
    (lambda: opt.ModelAverage(0.5, max_average_window=0), "max_average_window=0"),
    (lambda: opt.ModelAverage(0.5, max_average_window=2.5), "max_average_window=2.5"),
    (lambda: opt.Momentum().create_updater({"w": spec(momentum=1.0)}), "momentum=1.0"),
])
def test_bad_arguments_raise_naming_them(build, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
        build()


def test_bad_engine_calls_raise():
    updater = opt.Momentum(model_average=opt.ModelAverage(0.5)) \
        .create_updater({"w": spec(shape=(2,))})
    w = np.ones(2, dtype=np.float32)
    with pytest.raises(ValueError, match="unknown parameter 'v'"):
        updater.update("v", w, w)
    with pytest.raises(ValueError, match="gradient shape"):
        updater.update("w", w, np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match="pass_id=-1"):
        updater.begin_pass(-1)
    with pytest.raises(ValueError, match="batch_size=0"):
        updater.end_batch(0, {"w": w})
    with pytest.raises(ValueError, match="needs the updated values"):
        updater.end_batch(1)


def test_batch_size_keyword_is_accepted_and_ignored():
    assert opt.Momentum(momentum=0.9, batch_size=128, learning_rate=0.1).learning_rate == 0.1


def test_public_namespace():
    import minidl.optimizer as namespace
    for name in ["Momentum", "Adam", "Adamax", "AdaGrad", "DecayedAdaGrad", "AdaDelta",
                 "RMSProp", "L2Regularization", "ModelAverage"]:
        assert name in namespace.__all__ and hasattr(namespace, name)
