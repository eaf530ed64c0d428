"""Pruning hooks inside real training: when masks are built, what they keep, resuming from a
tarball, the dynamic schedule pass by pass, and a long run with every optimizer."""

import io
import math

import numpy as np
import pytest

import minidl as paddle
from minidl.layers.attrs import Hook, ParamAttr
from minidl.pruning.schedule import target_at
from test_trainer import OPTIMIZERS


def _network(hook):
    x = paddle.layer.data("x", paddle.data_type.dense_vector(20))
    y = paddle.layer.data("y", paddle.data_type.dense_vector(4))
    out = paddle.layer.fc(input=x, size=4, act=paddle.activation.Linear(),
                          param_attr=ParamAttr(update_hooks=hook) if hook else None)
    return paddle.layer.square_error_cost(input=out, label=y)


def _data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((n, 20)).astype(np.float32)
    ys = xs @ rng.standard_normal((20, 4)).astype(np.float32)
    samples = [(xs[i], ys[i]) for i in range(n)]
    return paddle.batch(lambda: iter(samples), 8)


W = "___fc_layer_0__.w0"


def test_static_mask_comes_from_values_present_when_training_starts():
    cost = _network(Hook("pruning", sparsity_ratio=0.75))
    params = paddle.parameters.create(cost)
    loaded = np.arange(1, 81, dtype=np.float32).reshape(20, 4) * np.where(
        np.arange(80).reshape(20, 4) % 2, 1, -1)
    params.set(W, loaded)                         # e.g. pretrained values loaded by the user
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=0.0))
    trainer.train(_data(), num_passes=1)
    kept = np.abs(loaded) > 60                    # the 20 largest magnitudes (61..80)
    np.testing.assert_array_equal(params.get(W) != 0, kept)
    np.testing.assert_array_equal(params.get(W)[kept], loaded[kept])


def test_dynamic_schedule_is_followed_pass_by_pass():
    hook = Hook("dynamic_pruning", upper_bound=0.8, inter_pass=2, end_pass=6)
    cost = _network(hook)
    params = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Adam(learning_rate=0.01))
    reached = {}

    def record(event):
        if isinstance(event, paddle.event.EndPass):
            reached[event.pass_id] = 1 - np.count_nonzero(params.get(W)) / 80

    trainer.train(_data(), num_passes=9, event_handler=record)
    for pass_id, sparsity in reached.items():
        expected_zeros = 80 - math.floor(80 * (1 - target_at(hook, pass_id)) + 1e-9)
        assert sparsity == pytest.approx(expected_zeros / 80), pass_id
    assert reached[8] == pytest.approx(0.8)
    assert reached[0] == 0.0 and reached[1] == 0.0 and reached[2] > 0.0


def test_training_resumes_from_a_pruned_tarball():
    cost = _network(Hook("pruning", sparsity_ratio=0.9))
    params = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=0.01,
                                                                         momentum=0.9))
    trainer.train(_data(), num_passes=2)
    saved = io.BytesIO()
    params.to_tar(saved)
    pruned = params.get(W) == 0
    assert pruned.sum() == 72

    # a new process: rebuild with a lower ratio -- loaded zeros still count as pruned
    paddle.layer.reset_names()
    cost = _network(Hook("pruning", sparsity_ratio=0.5))
    resumed = paddle.parameters.create(cost)
    saved.seek(0)
    resumed.init_from_tar(saved)
    trainer = paddle.trainer.SGD(cost, resumed, paddle.optimizer.Momentum(learning_rate=0.01,
                                                                          momentum=0.9))
    trainer.train(_data(), num_passes=2)
    assert np.all(resumed.get(W)[pruned] == 0.0)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_ten_thousand_steps_keep_pruned_weights_exactly_zero(name):
    cost = _network(Hook("pruning", sparsity_ratio=0.8))
    params = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, params, OPTIMIZERS[name]())
    trainer.train(_data(80), num_passes=1000)     # 10 batches a pass: 10,000 steps
    mask = trainer.hooks[W][0].mask
    assert np.all(params.get(W)[mask == 0] == 0.0)
    assert np.count_nonzero(params.get(W)) <= 16


def test_pruned_weights_are_positive_zero():
    """-0.0 would double the entropy gzip sees in a pruned dense file."""
    cost = _network(Hook("pruning", sparsity_ratio=0.5))
    params = paddle.parameters.create(cost)
    params.set(W, -np.abs(params.get(W)) - 0.1)          # every weight negative
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=0.01,
                                                                         momentum=0.9))
    trainer.train(_data(), num_passes=2)
    pruned = params.get(W)[trainer.hooks[W][0].mask == 0]
    assert pruned.size == 40 and not np.signbit(pruned).any()
