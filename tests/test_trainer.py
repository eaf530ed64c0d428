"""The training loop: Paddle's gradient convention, events, feeding errors, reproducibility,
test/infer with ModelAverage, batch-norm statistics, and pruning hooks under every optimizer."""

import io
import warnings

import numpy as np
import pytest

import minidl as paddle
from minidl.layers.attrs import Hook, ParamAttr
from minidl.backends import BackendUnavailable, available_backends


def _regression(act=None, hooks=None):
    x = paddle.layer.data("x", paddle.data_type.dense_vector(3))
    y = paddle.layer.data("y", paddle.data_type.dense_vector(1))
    attr = ParamAttr(update_hooks=hooks) if hooks else None
    out = paddle.layer.fc(input=x, size=1, act=act or paddle.activation.Linear(),
                          param_attr=attr)
    return x, y, out, paddle.layer.square_error_cost(input=out, label=y)


def _samples(n=64, seed=0):
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((n, 3)).astype(np.float32)
    ys = xs @ np.array([1.5, -2.0, 0.5], np.float32) + 0.25
    return [(xs[i], [ys[i]]) for i in range(n)]


def _reader(samples):
    return lambda: iter(samples)


def test_gradients_are_summed_over_the_batch():
    """One plain SGD step (momentum 0, lr 1): w -= sum_i d(y_i - t_i)^2/dw."""
    _, _, out, cost = _regression()
    params = paddle.parameters.create(cost)
    w0 = params.get("___fc_layer_0__.w0").copy()
    b0 = params.get("___fc_layer_0__.wbias").copy()
    samples = _samples(8)
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=1.0))
    trainer.train(paddle.batch(_reader(samples), 8), num_passes=1)
    xs = np.stack([s[0] for s in samples]).astype(np.float64)
    ts = np.array([s[1][0] for s in samples])
    residual = xs @ w0[:, 0] + b0[0, 0] - ts
    np.testing.assert_allclose(params.get("___fc_layer_0__.w0")[:, 0],
                               w0[:, 0] - 2 * xs.T @ residual, rtol=1e-4)
    np.testing.assert_allclose(params.get("___fc_layer_0__.wbias")[0, 0],
                               b0[0, 0] - 2 * residual.sum(), rtol=1e-4)


def test_linear_regression_converges_and_events_have_paddle_fields():
    _, _, out, cost = _regression()
    params = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(
        learning_rate=0.01, momentum=0.9))
    seen = []

    def handler(event):
        seen.append(type(event).__name__)
        if isinstance(event, paddle.event.EndIteration):
            assert event.cost >= 0 and event.metrics == {}
        if isinstance(event, paddle.event.EndPass):
            assert isinstance(event.pass_id, int)

    trainer.train(paddle.batch(_reader(_samples()), 16), num_passes=30, event_handler=handler)
    assert seen[:5] == ["BeginPass", "BeginIteration", "EndForwardBackward", "EndIteration",
                        "BeginIteration"]
    assert seen.count("EndIteration") == 30 * 4 and seen[-1] == "EndPass"
    np.testing.assert_allclose(params.get("___fc_layer_0__.w0")[:, 0], [1.5, -2.0, 0.5],
                               atol=1e-2)
    result = trainer.test(paddle.batch(_reader(_samples(32, 1)), 10, drop_last=False))
    assert result.cost < 1e-3
    predicted = paddle.infer(output_layer=out, parameters=params,
                             input=[(s[0],) for s in _samples(5, 2)])
    np.testing.assert_allclose(predicted[:, 0], [s[1][0] for s in _samples(5, 2)], atol=0.05)


def test_bad_sample_fails_at_first_batch_and_changes_nothing():
    _, _, _, cost = _regression()
    params = paddle.parameters.create(cost)
    before = {name: params.get(name) for name in params.names()}
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=0.1))
    bad = [(np.ones(4, np.float32), [1.0])]
    with pytest.raises(ValueError, match="data layer x expects a vector of 3 values"):
        trainer.train(paddle.batch(_reader(bad), 1))
    for name, value in before.items():
        np.testing.assert_array_equal(params.get(name), value)


def test_parameters_that_do_not_fit_the_network_are_rejected():
    _, _, _, cost = _regression()
    other = paddle.layer.fc(input=paddle.layer.data("z", paddle.data_type.dense_vector(2)),
                            size=1)
    with pytest.raises(ValueError, match="missing from parameters"):
        paddle.trainer.SGD(cost, paddle.parameters.create(other),
                           paddle.optimizer.Momentum())


def _classifier_run(seed):
    paddle.layer.reset_names()
    paddle.init(seed=seed)
    x = paddle.layer.data("x", paddle.data_type.dense_vector(4))
    label = paddle.layer.data("label", paddle.data_type.integer_value(3))
    hidden = paddle.layer.fc(input=x, size=8, act=paddle.activation.Relu(),
                             layer_attr=paddle.attr.ExtraAttr(drop_rate=0.2))
    out = paddle.layer.fc(input=hidden, size=3, act=paddle.activation.Softmax())
    cost = paddle.layer.classification_cost(input=out, label=label)
    params = paddle.parameters.create(cost)
    rng = np.random.default_rng(5)
    data = [(rng.standard_normal(4).astype(np.float32), int(rng.integers(3))) for _ in range(40)]
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Adam(learning_rate=0.01))
    metrics = []
    trainer.train(paddle.batch(paddle.reader.shuffle(_reader(data), 100), 8), num_passes=3,
                  event_handler=lambda e: metrics.append(e.metrics)
                  if isinstance(e, paddle.event.EndPass) else None)
    return params, metrics


def test_training_is_reproducible_for_a_seed():
    a, metrics_a = _classifier_run(7)
    b, metrics_b = _classifier_run(7)
    c, _ = _classifier_run(8)
    for name in a.names():
        np.testing.assert_array_equal(a.get(name), b.get(name))
    assert metrics_a == metrics_b
    assert "classification_error_evaluator" in metrics_a[0]
    assert any(not np.array_equal(a.get(n), c.get(n)) for n in a.names())


def test_model_average_is_used_by_test_and_infer():
    _, _, out, cost = _regression()
    params = paddle.parameters.create(cost)
    optimizer = paddle.optimizer.Momentum(learning_rate=0.02, momentum=0.5,
                                          model_average=paddle.optimizer.ModelAverage(0.5))
    trainer = paddle.trainer.SGD(cost, params, optimizer)
    trainer.train(paddle.batch(_reader(_samples()), 8), num_passes=3)
    averaged = trainer.updater.averaged_values(
        {name: params.value(name) for name in params.names()})
    assert not np.allclose(averaged["___fc_layer_0__.w0"], params.get("___fc_layer_0__.w0"))
    sample = _samples(1, 3)[0][0]
    predicted = paddle.infer(output_layer=out, parameters=params, input=[(sample,)])
    expected = sample @ averaged["___fc_layer_0__.w0"] + averaged["___fc_layer_0__.wbias"]
    np.testing.assert_allclose(predicted[0], expected[0], rtol=1e-5)


def test_batch_norm_moving_statistics_are_written_back():
    x = paddle.layer.data("x", paddle.data_type.dense_vector(2))
    y = paddle.layer.data("y", paddle.data_type.dense_vector(1))
    bn = paddle.layer.batch_norm(input=x, act=paddle.activation.Linear())
    out = paddle.layer.fc(input=bn, size=1, act=paddle.activation.Linear())
    cost = paddle.layer.square_error_cost(input=out, label=y)
    params = paddle.parameters.create(cost)
    data = [(np.array([3.0, -1.0]) + np.array([1.0, 2.0]) * i, [0.0]) for i in range(4)]
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=0.0))
    trainer.train(paddle.batch(_reader(data), 4), num_passes=1)
    xs = np.stack([d[0] for d in data])
    np.testing.assert_allclose(params.get("___batch_norm_0__.w1")[0], 0.1 * xs.mean(0),
                               rtol=1e-5)
    np.testing.assert_allclose(params.get("___batch_norm_0__.w2")[0], 0.1 * xs.var(0),
                               rtol=1e-5)


OPTIMIZERS = {
    "momentum": lambda: paddle.optimizer.Momentum(learning_rate=0.01, momentum=0.9,
                                                  regularization=paddle.optimizer.L2Regularization(0.01),
                                                  gradient_clipping_threshold=5.0),
    "adam": lambda: paddle.optimizer.Adam(learning_rate=0.01,
                                          model_average=paddle.optimizer.ModelAverage(0.5)),
    "adamax": lambda: paddle.optimizer.Adamax(learning_rate=0.01),
    "adagrad": lambda: paddle.optimizer.AdaGrad(learning_rate=0.05),
    "decayed_adagrad": lambda: paddle.optimizer.DecayedAdaGrad(learning_rate=0.01),
    "adadelta": lambda: paddle.optimizer.AdaDelta(learning_rate=1.0),
    "rmsprop": lambda: paddle.optimizer.RMSProp(learning_rate=0.01),
}


def _pruned_weights_stay_zero(optimizer, steps, hook):
    _, _, out, cost = _regression(hooks=hook)
    params = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, params, optimizer)
    trainer.train(paddle.batch(_reader(_samples(8)), 8), num_passes=steps)  # one step a pass
    w = params.get("___fc_layer_0__.w0")
    mask = trainer.hooks["___fc_layer_0__.w0"][0].mask
    assert np.all(w[mask == 0] == 0.0)
    averaged = trainer._averaged_values()
    if averaged is not None:
        assert np.all(averaged["___fc_layer_0__.w0"][mask == 0] == 0.0)
    return w


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_static_pruning_keeps_pruned_weights_exactly_zero(name):
    w = _pruned_weights_stay_zero(OPTIMIZERS[name](), 1000, Hook("pruning", sparsity_ratio=0.5))
    assert np.count_nonzero(w) == 1            # floor(3 * 0.5) = 1 weight kept


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_dynamic_pruning_keeps_pruned_weights_exactly_zero(name):
    hook = Hook("dynamic_pruning", upper_bound=0.5, inter_pass=100, end_pass=600)
    w = _pruned_weights_stay_zero(OPTIMIZERS[name](), 1000, hook)
    assert np.count_nonzero(w) == 1            # floor(3 * (1 - 0.5)) = 1 weight kept


def test_init_options():
    with pytest.warns(UserWarning, match="trainer_count=4"):
        paddle.init(trainer_count=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        paddle.init(trainer_count=4)            # warned once only
    if "gpu" not in available_backends():   # with a GPU, test_gpu.py checks use_gpu=True
        with pytest.raises((BackendUnavailable, ValueError)):
            paddle.init(use_gpu=True)


def test_save_parameter_to_tar_round_trip():
    _, _, _, cost = _regression()
    params = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum())
    buffer = io.BytesIO()
    trainer.save_parameter_to_tar(buffer)
    buffer.seek(0)
    loaded = paddle.parameters.Parameters.from_tar(buffer)
    for name in params.names():
        np.testing.assert_array_equal(loaded.get(name), params.get(name))


def test_testing_inside_an_event_handler_keeps_the_pass_metrics():
    """Book scripts call trainer.test() every N batches; the pass's own metric must survive."""
    paddle.init(seed=3)
    x = paddle.layer.data("x", paddle.data_type.dense_vector(4))
    label = paddle.layer.data("label", paddle.data_type.integer_value(3))
    out = paddle.layer.fc(input=x, size=3, act=paddle.activation.Softmax())
    cost = paddle.layer.classification_cost(input=out, label=label)
    params = paddle.parameters.create(cost)
    rng = np.random.default_rng(9)
    data = [(rng.standard_normal(4).astype(np.float32), int(rng.integers(3))) for _ in range(40)]
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=0.0))
    batch_errors, pass_errors = [], []

    def handler(event):
        if isinstance(event, paddle.event.EndIteration):
            batch_errors.append(event.metrics["classification_error_evaluator"])
            trainer.test(paddle.batch(_reader(data[:3]), 3))
        if isinstance(event, paddle.event.EndPass):
            pass_errors.append(event.metrics["classification_error_evaluator"])

    trainer.train(paddle.batch(_reader(data), 8), num_passes=1, event_handler=handler)
    assert pass_errors[0] == pytest.approx(np.mean(batch_errors))   # equal batches of 8
