"""The trainer's NaN/inf guard: a non-finite cost or gradient stops training before the update,
with every optimizer; the error names the pass, the batch and where the value came from;
``paddle.init(check_nan_inf=False)`` turns the check off; NaN parameters are not saved."""

import io

import numpy as np
import pytest

import minidl as paddle
from minidl.core import settings
from minidl.training import trainer as trainer_module
from minidl.training.trainer import NonFiniteError

# NaN and inf are what these tests feed; NumPy's warnings about them are expected
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

OPTIMIZERS = {
    "momentum": lambda: paddle.optimizer.Momentum(
        learning_rate=0.01, momentum=0.9, regularization=paddle.optimizer.L2Regularization(0.01),
        gradient_clipping_threshold=5.0),
    "adam": lambda: paddle.optimizer.Adam(learning_rate=0.01,
                                          model_average=paddle.optimizer.ModelAverage(0.5)),
    "adamax": lambda: paddle.optimizer.Adamax(learning_rate=0.01),
    "adagrad": lambda: paddle.optimizer.AdaGrad(learning_rate=0.05),
    "decayed_adagrad": lambda: paddle.optimizer.DecayedAdaGrad(learning_rate=0.01),
    "adadelta": lambda: paddle.optimizer.AdaDelta(learning_rate=1.0),
    "rmsprop": lambda: paddle.optimizer.RMSProp(learning_rate=0.01),
}


@pytest.fixture(autouse=True)
def restore_settings():
    saved = settings.snapshot()
    yield
    settings.update(**saved)


def _network(act=None):
    """x(3) -> fc(4) -> batch norm -> fc(1), square error against y."""
    x = paddle.layer.data("x", paddle.data_type.dense_vector(3))
    y = paddle.layer.data("y", paddle.data_type.dense_vector(1))
    hidden = paddle.layer.fc(input=x, size=4, act=act or paddle.activation.Tanh())
    normed = paddle.layer.batch_norm(input=hidden, act=paddle.activation.Linear())
    out = paddle.layer.fc(input=normed, size=1, act=paddle.activation.Linear())
    return out, paddle.layer.square_error_cost(input=out, label=y)


def _samples(n, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    xs = (scale * rng.standard_normal((n, 3))).astype(np.float32)
    ys = xs @ np.array([1.5, -2.0, 0.5], np.float32)
    return [(xs[i], [ys[i]]) for i in range(n)]


def _snapshot(params, trainer):
    values = {name: params.get(name).copy() for name in params.names()}
    state = {key: np.array(value, copy=True)
             for key, value in trainer.updater.state_dict().items()}
    return values, state


def _assert_same(before, params, trainer):
    values, state = before
    for name, value in values.items():
        np.testing.assert_array_equal(params.get(name), value, err_msg=name)
    after = trainer.updater.state_dict()
    assert sorted(after) == sorted(state)
    for key, value in state.items():
        np.testing.assert_array_equal(after[key], value, err_msg=key)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_nan_sample_stops_training_before_the_update_with_every_optimizer(name, bad):
    paddle.init(seed=1)
    _, cost = _network()
    params = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, params, OPTIMIZERS[name]())
    samples = _samples(40)
    poisoned = list(samples[32:])
    poisoned[5] = (np.array([0.5, bad, 1.0], np.float32), poisoned[5][1])
    batches = [samples[0:8], samples[8:16], samples[16:24], poisoned]
    kept = {}

    def handler(event):
        if isinstance(event, paddle.event.EndIteration) and event.batch_id == 2:
            kept["before"] = _snapshot(params, trainer)
        if isinstance(event, paddle.event.EndPass):
            kept["end_pass"] = True

    with pytest.raises(NonFiniteError) as info:
        trainer.train(lambda: iter(batches), num_passes=1, event_handler=handler)
    error = info.value
    assert (error.pass_id, error.batch_id, error.layer) == (0, 3, "x")
    text = str(error)
    assert "pass 0, batch 3" in text and "data layer x" in text and "sample(s) 5" in text
    assert "check_nan_inf=False" in text and "not applied" in text
    assert "end_pass" not in kept
    _assert_same(kept["before"], params, trainer)      # values, slots, averages, BN statistics
    for name_ in params.names():
        assert np.all(np.isfinite(params.get(name_)))
    buffer = io.BytesIO()
    trainer.save_parameter_to_tar(buffer)              # the last finite values can be saved
    buffer.seek(0)
    loaded = paddle.parameters.Parameters.from_tar(buffer)
    for name_ in params.names():
        np.testing.assert_array_equal(loaded.get(name_), params.get(name_))


def test_a_nan_label_names_the_label_layer():
    _, cost = _network()
    params = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=0.01))
    samples = _samples(8)
    samples[2] = (samples[2][0], [np.nan])
    with pytest.raises(NonFiniteError, match=r"pass 0, batch 0.*data layer y.*sample\(s\) 2") \
            as info:
        trainer.train(lambda: iter([samples]), num_passes=1)
    assert info.value.layer == "y"


def test_an_overflowing_layer_is_named():
    """exp(100) is inf in float32: the first fc layer (Exp activation) is at fault."""
    out, cost = _network(act=paddle.activation.Exp())
    params = paddle.parameters.create(cost)
    params.set("___fc_layer_0__.w0", np.full((3, 4), 50.0, np.float32))
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=0.01))
    samples = [(np.array([1.0, 1.0, 1.0], np.float32), [0.0])] * 4
    with pytest.raises(NonFiniteError, match="layer __fc_layer_0__.*inputs and parameters are "
                                             "finite") as info:
        trainer.train(lambda: iter([samples]), num_passes=1)
    assert (info.value.layer, info.value.parameter) == ("__fc_layer_0__", None)


def test_a_nan_parameter_is_named():
    out, cost = _network()
    params = paddle.parameters.create(cost)
    w = params.get("___fc_layer_1__.w0")
    w[0, 0] = np.nan
    params.set("___fc_layer_1__.w0", w)
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=0.01))
    with pytest.raises(NonFiniteError, match="parameter ___fc_layer_1__.w0 already holds") \
            as info:
        trainer.train(lambda: iter([_samples(8)]), num_passes=1)
    assert info.value.parameter == "___fc_layer_1__.w0"


def test_a_nan_gradient_with_a_finite_cost_is_caught(monkeypatch):
    """Every output finite, one gradient NaN: the parameter and its layer are named."""
    real_forward = trainer_module.SGD._forward

    class NanGrad:
        def __init__(self, tensor):
            self.tensor = tensor

        @property
        def grad(self):
            return self.tensor.grad * np.float32(np.nan)

    def forward(self, feed, is_train, values=None, bound_gradients=False):
        outputs, total, tensors, ctx = real_forward(self, feed, is_train, values,
                                                    bound_gradients)
        tensors = dict(tensors)
        tensors["___fc_layer_1__.wbias"] = NanGrad(tensors["___fc_layer_1__.wbias"])
        return outputs, total, tensors, ctx

    _, cost = _network()
    params = paddle.parameters.create(cost)
    before = {name: params.get(name).copy() for name in params.names()}
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Adam(learning_rate=0.01))
    monkeypatch.setattr(trainer_module.SGD, "_forward", forward)
    with pytest.raises(NonFiniteError, match="gradient of parameter ___fc_layer_1__.wbias "
                                             r"\(layer __fc_layer_1__\)") as info:
        trainer.train(lambda: iter([_samples(8)]), num_passes=1)
    assert info.value.parameter == "___fc_layer_1__.wbias"
    for name, value in before.items():
        np.testing.assert_array_equal(params.get(name), value)


def test_check_nan_inf_false_turns_the_check_off():
    paddle.init(check_nan_inf=False)
    assert settings.get("check_nan_inf") is False
    _, cost = _network()
    params = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=0.01))
    samples = _samples(8)
    samples[0] = (np.array([np.nan, 0, 0], np.float32), samples[0][1])
    costs = []
    trainer.train(lambda: iter([samples]), num_passes=1,
                  event_handler=lambda e: costs.append(e.cost)
                  if isinstance(e, paddle.event.EndIteration) else None)
    assert np.isnan(costs[0])
    assert np.isnan(params.get("___fc_layer_0__.w0")).any()
    trainer.save_parameter_to_tar(io.BytesIO())          # written, as asked
    paddle.init(check_nan_inf=True)
    with pytest.raises(NonFiniteError, match="parameter ___fc_layer_0__.w0 holds NaN or inf; "
                                             "nothing was written"):
        trainer.save_parameter_to_tar(io.BytesIO())


def test_the_check_reads_the_environment(monkeypatch):
    monkeypatch.setenv("PADDLE_INIT_CHECK_NAN_INF", "0")
    paddle.init()
    assert settings.get("check_nan_inf") is False
    monkeypatch.setenv("PADDLE_INIT_CHECK_NAN_INF", "sometimes")
    with pytest.raises(ValueError, match="PADDLE_INIT_CHECK_NAN_INF='sometimes'"):
        paddle.init()


def test_all_finite_is_exact():
    """A float32 norm that overflows without any inf element is not a false alarm."""
    big = np.full(10, 3e19, np.float32)     # its squared norm overflows float32
    assert trainer_module._all_finite([big, np.ones(3, np.float32)])
    assert not trainer_module._all_finite([big, np.array([np.nan], np.float32)])
    assert trainer_module._all_finite([])


# --- the fc layers' gradient bounds ----------------------------------------------------------

def test_fc_weight_gradients_are_proven_finite_without_being_read(monkeypatch):
    """At a small batch the fc products bound their weight gradients (Cauchy-Schwarz), and
    only the other gradients are read; the bound holds for the real gradient."""
    from minidl.functions import certified_matmul
    bounds_seen = []
    real_backward = certified_matmul.CertifiedMatMul.backward

    def backward(self, gy):
        ga, gb = real_backward(self, gy)
        entry = self.bounds[self.name]
        if entry.bounded:
            bounds_seen.append((self.name, float(np.abs(gb).max()), entry.bound))
        return ga, gb
    monkeypatch.setattr(certified_matmul.CertifiedMatMul, "backward", backward)
    read = []
    real_all_finite = trainer_module._all_finite
    monkeypatch.setattr(trainer_module, "_all_finite",
                        lambda arrays: read.append([a.shape for a in arrays]) or
                        real_all_finite(arrays))
    x = paddle.layer.data("x", paddle.data_type.dense_vector(64))
    label = paddle.layer.data("label", paddle.data_type.integer_value(3))
    hidden = paddle.layer.fc(input=x, size=48, act=paddle.activation.Tanh())
    cost = paddle.layer.classification_cost(
        input=paddle.layer.fc(input=hidden, size=3, act=paddle.activation.Softmax()),
        label=label)
    trainer = paddle.trainer.SGD(cost, paddle.parameters.create(cost),
                                 paddle.optimizer.Momentum(learning_rate=0.01))
    rng = np.random.default_rng(0)
    batch = [(rng.standard_normal(64).astype(np.float32), int(rng.integers(3)))
             for _ in range(4)]
    trainer.train(lambda: iter([batch]), num_passes=1)
    # the 64x48 weight was bounded (4*64 + 4*48 values < 3072); the 48x3 one was not
    assert {name for name, _, _ in bounds_seen} == {"___fc_layer_0__.w0"}
    assert all(largest <= bound for _, largest, bound in bounds_seen)
    assert read and (64, 48) not in read[0] and (48, 3) in read[0]


def test_a_nan_in_a_bounded_product_is_still_caught():
    """A NaN input makes the bound NaN: the gradient is then read and the NaN found."""
    x = paddle.layer.data("x", paddle.data_type.dense_vector(64))
    label = paddle.layer.data("label", paddle.data_type.integer_value(3))
    cost = paddle.layer.classification_cost(
        input=paddle.layer.fc(input=x, size=3, act=paddle.activation.Softmax()), label=label)
    params = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=0.01))
    sample = np.ones(64, np.float32)
    sample[5] = np.nan
    with pytest.raises(NonFiniteError):
        trainer.train(lambda: iter([[(sample, 1)]]), num_passes=1)


def test_a_bound_counts_only_when_it_covers_every_use():
    from minidl.functions.certified_matmul import GradientBound
    assert GradientBound(reads=2, bounded=2, bound=1.0).proves_finite(10.0)
    assert not GradientBound(reads=2, bounded=1, bound=1.0).proves_finite(10.0)
    assert not GradientBound(reads=1, bounded=1, bound=float("nan")).proves_finite(10.0)
    assert not GradientBound(reads=1, bounded=1, bound=20.0).proves_finite(10.0)
    assert not GradientBound().proves_finite(10.0)
