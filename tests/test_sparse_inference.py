"""``paddle.infer(..., sparse=...)``: same results as dense, layouts reused and rebuilt, and
the 'auto' choice (its timing mocked where the choice itself is tested)."""

import numpy as np
import pytest

import minidl as paddle
from minidl import activation, data_type, layer
from minidl.backends import current_backend, set_backend
from minidl.init import settings
from minidl.sparse import layout as layouts
from minidl.sparse import plan as plans

from conftest import BACKENDS_PRESENT

needs_numba = pytest.mark.skipif("cpu" not in BACKENDS_PRESENT, reason="Numba is not installed")


@pytest.fixture(autouse=True)
def fresh_measurements():
    """Each test measures afresh and leaves paddle.init's sparse default as it found it."""
    plans.clear_measurements()
    saved = settings.get("sparse")
    yield
    settings["sparse"] = saved
    plans.clear_measurements()


def pruned_network(rng, densities=(0.3, 0.2, 0.1, 0.05, 0.4), unshared=False):
    """conv(relu) -> conv(stride 2, tanh) -> fc over both convs (linear) -> fc (softmax)."""
    img = layer.data("img", data_type.dense_vector(3 * 11 * 11), height=11, width=11)
    c1 = layer.img_conv(img, filter_size=3, num_filters=6, padding=1, shared_biases=not unshared)
    c2 = layer.img_conv(c1, filter_size=3, num_filters=8, stride=2, act=activation.Tanh())
    hidden = layer.fc([c2, c1], size=20, act=activation.Linear())
    out = layer.fc(hidden, size=5, act=activation.Softmax())
    parameters = paddle.parameters.create(out)
    weights = [n for n in parameters.names() if not n.endswith("wbias")]
    for name, density in zip(weights, densities):
        value = rng.standard_normal(parameters.get_shape(name)).astype(np.float32)
        value *= rng.random(value.shape) < density
        parameters.set(name, value)
    for name in parameters.names():
        if name.endswith("wbias"):
            parameters.set(name, rng.standard_normal(parameters.get_shape(name)))
    return out, parameters


def samples(rng, count):
    return [(rng.standard_normal(3 * 11 * 11).astype(np.float32),) for _ in range(count)]


@pytest.mark.parametrize("mode", [True, "auto"])
@pytest.mark.parametrize("batch", [1, 4])
def test_sparse_inference_equals_dense(backend, rng, mode, batch):
    out, parameters = pruned_network(rng)
    data = samples(rng, 6)
    dense = paddle.inference.Inference(out, parameters, sparse=False).infer(data,
                                                                            batch_size=batch)
    inference = paddle.inference.Inference(out, parameters, sparse=mode)
    got = inference.infer(data, batch_size=batch)
    np.testing.assert_allclose(got, dense, rtol=1e-4, atol=1e-6)
    rows = inference.sparse_plan.rows()
    assert len({r.layer for r in rows}) == 4
    if mode is True:
        assert all(r.choice == "sparse" and "forced" in r.reason for r in rows)


def test_infer_sparse_argument_and_init_default(rng):
    out, parameters = pruned_network(rng)
    data = samples(rng, 2)
    paddle.init(sparse=True)
    forced = paddle.inference.Inference(out, parameters)
    forced.infer(data)
    assert {r.choice for r in forced.sparse_plan.rows()} == {"sparse"}
    paddle.init(sparse=False)
    off = paddle.inference.Inference(out, parameters)
    off.infer(data)
    assert off.sparse_plan.rows() == []
    assert "sparse=False" in str(off.sparse_plan)
    np.testing.assert_allclose(paddle.infer(out, parameters, data, sparse=True),
                               paddle.infer(out, parameters, data), rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="paddle.init: sparse='fast': expected True, False"):
        paddle.init(sparse="fast")
    with pytest.raises(ValueError, match="sparse=2: expected True, False or 'auto'"):
        paddle.infer(out, parameters, data, sparse=2)


def test_the_default_is_auto(rng):
    assert plans.sparse_mode(settings["sparse"]) == "auto"
    out, parameters = pruned_network(rng)
    assert paddle.inference.Inference(out, parameters).sparse_plan.mode == "auto"


def test_layouts_are_built_once_and_rebuilt_when_a_parameter_changes(rng):
    out, parameters = pruned_network(rng)
    data = samples(rng, 3)
    paddle.infer(out, parameters, data, sparse=True)
    built = layouts.builds()
    paddle.infer(out, parameters, data, sparse=True)
    assert layouts.builds() == built  # same values: nothing rebuilt

    name = "___fc_layer_1__.w0"
    parameters.set(name, parameters.get(name) * 2)
    doubled = paddle.infer(out, parameters, data, sparse=True)
    assert layouts.builds() == built + 2  # its nonzero count and its CSR, nothing else
    np.testing.assert_allclose(doubled, paddle.infer(out, parameters, data, sparse=False),
                               rtol=1e-4, atol=1e-6)

    parameters.value(name, write=False)  # a promise to read only
    paddle.infer(out, parameters, data, sparse=True)
    assert layouts.builds() == built + 2
    parameters.value(name)[...] = 0  # the live array, written in place
    zeroed = paddle.infer(out, parameters, data, sparse=True)
    # the last fc's weight is all zero now: every output is softmax(bias)
    bias = parameters.get("___fc_layer_1__.wbias")[0].astype(np.float64)
    softmax = np.exp(bias - bias.max()) / np.exp(bias - bias.max()).sum()
    np.testing.assert_allclose(zeroed, np.tile(softmax, (3, 1)), rtol=1e-5)


def test_training_updates_invalidate_the_layouts(rng):
    out, parameters = pruned_network(rng)
    label = layer.data("label", data_type.integer_value(5))
    cost = layer.classification_cost(input=out, label=label)
    data = samples(rng, 4)
    before = paddle.infer(out, parameters, data, sparse=True)
    trainer = paddle.trainer.SGD(cost, parameters,
                                 paddle.optimizer.Momentum(learning_rate=0.5, momentum=0.9))
    batch = [(x, i % 5) for i, (x,) in enumerate(data)]
    trainer.train(lambda: iter([batch, batch]), num_passes=1)
    after = paddle.infer(out, parameters, data, sparse=True)
    assert not np.allclose(after, before)
    np.testing.assert_allclose(after, paddle.infer(out, parameters, data, sparse=False),
                               rtol=1e-4, atol=1e-6)


@needs_numba
def test_auto_keeps_the_forward_measured_faster(rng, monkeypatch):
    set_backend("cpu")
    calls = []

    def fake_measure(sparse_ratio):
        def measure(dense, sparse, before=None):
            calls.append(before)
            return 1.0, sparse_ratio, dense(), sparse()
        return measure

    out, parameters = pruned_network(rng, densities=(0.3, 0.2, 0.1, 0.9, 0.4))
    data = samples(rng, 2)
    monkeypatch.setattr(plans, "measure", fake_measure(0.5))
    first = paddle.inference.Inference(out, parameters, sparse="auto")
    first.infer(data)
    by_layer = {r.layer: r for r in first.sparse_plan.rows()}
    assert by_layer["__fc_layer_0__"].choice == "dense"
    # its two weights: 200 x 20 at density 0.1 and 726 x 20 at 0.9
    assert "density 0.727 > 0.5" in by_layer["__fc_layer_0__"].reason
    measured = [r for r in by_layer.values() if r.reason.startswith("measured")]
    assert len(measured) == len(calls) == 3
    assert all(r.choice == "sparse" and r.dense_ms == 1000.0 for r in measured)

    again = paddle.inference.Inference(out, parameters, sparse="auto")
    again.infer(data)
    assert len(calls) == 3  # the break-even is cached per shape, density and batch
    assert all(r.reason.endswith("(cached)") for r in again.sparse_plan.rows()
               if r.layer != "__fc_layer_0__")

    plans.clear_measurements()
    monkeypatch.setattr(plans, "measure", fake_measure(plans.MARGIN + 0.01))
    slower = paddle.inference.Inference(out, parameters, sparse="auto")
    slower.infer(data)
    assert {r.choice for r in slower.sparse_plan.rows()} == {"dense"}
    assert "__conv_0__" in str(slower.sparse_plan)


def test_auto_stays_dense_without_sparse_kernels_of_the_backend(rng):
    previous = current_backend().name
    set_backend("numpy")
    try:
        out, parameters = pruned_network(rng)
        plan = paddle.sparse.explain(out, parameters, samples(rng, 2))
    finally:
        set_backend(previous)
    assert {r.choice for r in plan.rows()} == {"dense"}
    assert all("no sparse kernels of its own" in r.reason for r in plan.rows())


def test_unshared_biases_are_not_covered(rng):
    out, parameters = pruned_network(rng, unshared=True)
    data = samples(rng, 2)
    plan = paddle.sparse.explain(out, parameters, data, sparse=True)
    row = next(r for r in plan.rows() if r.layer == "__conv_0__")
    assert row.choice == "dense" and "unshared biases" in row.reason
    np.testing.assert_allclose(paddle.infer(out, parameters, data, sparse=True),
                               paddle.infer(out, parameters, data, sparse=False),
                               rtol=1e-4, atol=1e-6)


def test_float64_inputs_run_dense(rng):
    out, parameters = pruned_network(rng)
    from minidl.core import using_dtype
    with using_dtype(np.float64):
        plan = paddle.sparse.explain(out, parameters, samples(rng, 2), sparse=True)
    assert all(r.choice == "dense" and "float32" in r.reason for r in plan.rows())


def test_parameter_versions_move_on_every_possible_write(rng):
    _, parameters = pruned_network(rng)
    name = "___fc_layer_1__.w0"
    seen = [parameters.version(name)]
    parameters.set(name, parameters.get(name))
    seen.append(parameters.version(name))
    parameters.value(name)
    seen.append(parameters.version(name))
    parameters.get(name)
    parameters.value(name, write=False)
    seen.append(parameters.version(name))
    assert seen[0] < seen[1] < seen[2] == seen[3]


@needs_numba
def test_auto_times_cold_caches_only_for_models_larger_than_the_cache(rng, monkeypatch):
    set_backend("cpu")
    seen = []

    def measure(dense, sparse, before=None):
        seen.append(before)
        if before is not None:
            before()  # the flusher runs
        return 1.0, 0.5, dense(), sparse()

    monkeypatch.setattr(plans, "measure", measure)
    out, parameters = pruned_network(rng)
    paddle.sparse.explain(out, parameters, samples(rng, 2))
    assert seen and all(before is None for before in seen)  # a small model stays cached

    plans.clear_measurements()
    seen.clear()
    monkeypatch.setattr(plans, "last_level_cache_bytes", lambda: 4096)
    plan = paddle.sparse.explain(out, parameters, samples(rng, 2))
    assert seen and all(isinstance(before, plans.CacheFlusher) for before in seen)
    assert {r.choice for r in plan.rows()} == {"sparse"}


def test_last_level_cache_size_is_read():
    size = plans.last_level_cache_bytes()
    assert isinstance(size, int) and size >= 64 << 10
