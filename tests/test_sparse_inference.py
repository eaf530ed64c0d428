"""``paddle.infer(..., sparse=...)``: same results as dense, layouts reused and rebuilt, and
the 'auto' plan (decided by an injected cost model where the choice itself is tested)."""

import numpy as np
import pytest

import minidl as paddle
from minidl.layers import activations as activation, data_types as data_type
from minidl.v2 import layer
from minidl.backends import current_backend, set_backend
from minidl.core import settings
from minidl.sparse_inference import calibration
from minidl.sparse_inference import layout as layouts
from minidl.sparse_inference import plan as plans




class RatioModel:
    """A stand-in cost model: every layer's dense forward 1 ms, its sparse forward
    ``ratio(work)`` ms (a callable of the layer's :class:`Work`, or a number); fc layouts
    take the default column width (no width probe: ``narrow_from`` None)."""

    narrow_from = None

    def __init__(self, ratio):
        self.ratio = ratio if callable(ratio) else (lambda work: ratio)

    def knows(self, kind, regime):
        return True

    def predict(self, work, forward):
        return 1e-3 if forward == "dense" else 1e-3 * self.ratio(work)


@pytest.fixture(autouse=True)
def fresh_measurements(monkeypatch, tmp_path):
    """Each test measures afresh with a stand-in cost model (sparse predicted at half the
    dense time) and a cache directory of its own, and leaves paddle.init's sparse default
    as it found it. No timing decides what these tests see."""
    plans.clear_measurements()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(calibration, "cost_model", lambda *needs: RatioModel(0.5))
    saved = settings.get("sparse")
    yield
    settings.update(sparse=saved)
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
    assert plans.sparse_mode(settings.get("sparse")) == "auto"
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
    assert not np.array_equal(after, before)  # (softmax outputs: nearly saturated)
    np.testing.assert_allclose(after, paddle.infer(out, parameters, data, sparse=False),
                               rtol=1e-4, atol=1e-6)


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


def test_the_generation_moves_with_any_write_and_not_with_reads(rng):
    _, parameters = pruned_network(rng)
    names = parameters.names()
    seen = [parameters.generation]
    parameters.set(names[0], parameters.get(names[0]))
    seen.append(parameters.generation)
    parameters.value(names[-1])               # the live array: the caller may write
    seen.append(parameters.generation)
    parameters.get(names[1])
    parameters.value(names[1], write=False)
    parameters.version(names[1])
    seen.append(parameters.generation)
    assert seen[0] < seen[1] < seen[2] == seen[3]


def test_inference_keeps_its_parameter_values_until_one_changes(rng):
    out, parameters = pruned_network(rng)
    data = samples(rng, 2)
    inference = paddle.inference.Inference(out, parameters, sparse=False)
    values, _ = inference.parameter_values()
    assert inference.parameter_values()[0] is values       # nothing changed: kept
    first = inference.infer(data)
    name = "___fc_layer_1__.wbias"
    parameters.set(name, parameters.get(name) + np.arange(5))   # (softmax: not uniform)
    assert inference.parameter_values()[0] is not values
    np.testing.assert_array_equal(inference.parameter_values()[0][name].data,
                                  parameters.get(name).reshape(1, -1))
    assert not np.allclose(inference.infer(data), first)


def test_inference_reads_averaged_values_on_every_call(rng):
    """An average source may change without any version moving: never kept."""
    out, parameters = pruned_network(rng)
    data = samples(rng, 2)
    inference = paddle.inference.Inference(out, parameters, sparse=False)
    name = "___fc_layer_1__.wbias"
    shift = [0.0]
    parameters.set_average_source(lambda: {name: parameters.get(name) + shift[0] * np.arange(5)})
    first = inference.infer(data)
    shift[0] = 1.0
    moved = inference.infer(data)
    assert not np.allclose(moved, first)
    parameters.set_average_source(None)
    np.testing.assert_allclose(inference.infer(data), paddle.infer(out, parameters, data,
                                                                   sparse=False))


def test_auto_times_cold_caches_only_for_models_larger_than_the_cache(rng, monkeypatch):
    set_backend("cpu")
    monkeypatch.setattr(calibration, "cost_model", lambda *needs: RatioModel(1.0))  # unsure
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


def count_kernel_calls(monkeypatch, op):
    """A list that grows by one on every call of the current backend's kernel ``op``."""
    from minidl.backends import registry
    backend = current_backend().name
    calls, original = [], registry._KERNELS[backend][op]

    def counted(*args, **kwargs):
        calls.append(op)
        return original(*args, **kwargs)
    monkeypatch.setitem(registry._KERNELS[backend], op, counted)
    return calls


@pytest.mark.parametrize("mode", [False, "auto"])
def test_infer_reuses_its_inference_but_sees_new_parameter_values(rng, mode):
    out, parameters = pruned_network(rng)
    data = samples(rng, 2)
    before = paddle.infer(out, parameters, data, sparse=mode)
    name = "___fc_layer_1__.w0"
    parameters.set(name, parameters.get(name) * 2.0)
    after = paddle.infer(out, parameters, data, sparse=mode)
    fresh = paddle.inference.Inference(out, parameters, sparse=False).infer(data)
    np.testing.assert_allclose(after, fresh, rtol=1e-4, atol=1e-6)
    assert not np.array_equal(after, before)  # (softmax outputs: nearly saturated)
    other = layer.fc(out, size=3)  # another output layer: another Inference
    other_params = paddle.parameters.create(other)
    for n in parameters.names():
        other_params.set(n, parameters.get(n))
    assert paddle.infer(other, other_params, data, sparse=mode).shape == (2, 3)


def test_infer_keeps_no_parameters_alive(rng):
    import gc
    import weakref
    out, parameters = pruned_network(rng)
    paddle.infer(out, parameters, samples(rng, 2), sparse=False)
    alive = weakref.ref(parameters)
    del parameters
    gc.collect()
    assert alive() is None


# --- mixed layers of full_matrix_projections: planned as fc layers --------------------------

def prune(rng, parameters, density=0.2):
    """Every weight pruned to about ``density``, every bias dense and nonzero."""
    for name in parameters.names():
        value = rng.standard_normal(parameters.get_shape(name)).astype(np.float32)
        if not name.endswith("wbias"):
            value *= rng.random(value.shape) < density
        parameters.set(name, value)
    return parameters


def pruned_mixed_network(rng, other=None):
    """mixed(two full_matrix_projections, bias, relu: summed, then bias and relu) ->
    mixed(one, bias, relu: fused) -> mixed(one, no bias, tanh: applied after) ->
    fc(softmax); ``other(x, y)``, a term of another kind, joins the first mixed layer."""
    x = layer.data("x", data_type.dense_vector(30))
    y = layer.data("y", data_type.dense_vector(12))
    terms = [layer.full_matrix_projection(x), layer.full_matrix_projection(y)]
    first = layer.mixed(size=12, name="first", act=activation.Relu(), bias_attr=True,
                        input=terms + ([other(x, y)] if other else []))
    second = layer.mixed(size=10, name="second", act=activation.Relu(), bias_attr=True,
                         input=layer.full_matrix_projection(first))
    third = layer.mixed(size=8, name="third", act=activation.Tanh(),
                        input=layer.full_matrix_projection(second))
    out = layer.fc(third, size=5, act=activation.Softmax())
    return out, prune(rng, paddle.parameters.create(out))


def two_inputs(rng, count):
    return [(rng.standard_normal(30).astype(np.float32),
             rng.standard_normal(12).astype(np.float32)) for _ in range(count)]


@pytest.mark.parametrize("mode", [True, "auto", False])
@pytest.mark.parametrize("batch", [1, 4])
def test_mixed_full_matrix_projections_run_sparse_as_dense(backend, rng, mode, batch):
    out, parameters = pruned_mixed_network(rng)
    data = two_inputs(rng, 6)
    dense = paddle.inference.Inference(out, parameters, sparse=False).infer(data,
                                                                            batch_size=batch)
    inference = paddle.inference.Inference(out, parameters, sparse=mode)
    np.testing.assert_allclose(inference.infer(data, batch_size=batch), dense, rtol=1e-4,
                               atol=1e-6)
    rows = inference.sparse_plan.rows()
    if mode is False:
        assert rows == []
        return
    by_layer = {r.layer: r for r in rows}
    assert set(by_layer) == {"first", "second", "third", out.name}
    assert {by_layer[n].kind for n in ("first", "second", "third")} == {"fc"}
    assert by_layer["first"].weight_shape == (30, 12) and by_layer["third"].weight_shape == (
        10, 8)
    if mode is True:
        assert all(r.choice == "sparse" and "forced" in r.reason for r in rows)


def test_the_plan_table_lists_the_mixed_layers(rng, capsys):
    out, parameters = pruned_mixed_network(rng)
    inference = paddle.inference.Inference(out, parameters, sparse=True)
    inference.infer(two_inputs(rng, 3))
    print(inference.sparse_plan)
    shown = capsys.readouterr().out
    for name, weight in (("first", "30x12"), ("second", "12x10"), ("third", "10x8")):
        (line,) = [text for text in shown.splitlines() if text.startswith(name + " ")]
        # layer, kind, weight, density, batch, runs
        fields = line.split()
        assert fields[1:3] == ["fc", weight] and fields[4:6] == ["3", "sparse"], shown
        assert "forced (sparse=True)" in line
    # the density of the two-input layer is over both weights (30x12 and 12x12)
    first = inference.sparse_plan.decisions[("first", 3)]
    weights = [parameters.get(f"_first.w{i}") for i in range(2)]
    assert first.density == pytest.approx(
        sum(np.count_nonzero(w) for w in weights) / sum(w.size for w in weights))


@pytest.mark.parametrize("other", [
    lambda x, y: layer.identity_projection(y),
    lambda x, y: layer.trans_full_matrix_projection(x, size=12),
    lambda x, y: layer.dotmul_operator(y, y),
], ids=["identity_projection", "trans_full_matrix_projection", "dotmul_operator"])
def test_a_mixed_layer_with_another_term_stays_dense(rng, monkeypatch, other):
    out, parameters = pruned_mixed_network(rng, other)
    data = two_inputs(rng, 3)
    dense = paddle.infer(out, parameters, data, sparse=False)
    inference = paddle.inference.Inference(out, parameters, sparse=True)
    calls = count_kernel_calls(monkeypatch, "csr_matmul")
    np.testing.assert_allclose(inference.infer(data), dense, rtol=1e-4, atol=1e-6)
    assert {r.layer for r in inference.sparse_plan.rows()} == {"second", "third", out.name}
    assert len(calls) == 3  # second, third and the fc; not the first


def test_a_full_matrix_projection_of_sparse_rows_stays_dense(rng):
    words = layer.data("words", data_type.sparse_binary_vector(40))
    m = layer.mixed(size=6, name="bag", act=activation.Relu(), bias_attr=True,
                    input=layer.full_matrix_projection(words))
    out = layer.fc(m, size=3, act=activation.Softmax())
    parameters = prune(rng, paddle.parameters.create(out))
    data = [(sorted(rng.choice(40, 5, replace=False).tolist()),) for _ in range(4)]
    inference = paddle.inference.Inference(out, parameters, sparse=True)
    np.testing.assert_allclose(inference.infer(data),
                               paddle.infer(out, parameters, data, sparse=False),
                               rtol=1e-4, atol=1e-6)
    assert [r.layer for r in inference.sparse_plan.rows()] == [out.name]


@pytest.mark.parametrize("mode", [True, "auto", False])
def test_a_pruned_simple_lstm_runs_its_input_projection_sparse(backend, rng, mode):
    """``networks.simple_lstm``: its input projection (a mixed layer of one
    full_matrix_projection, no bias, linear) is planned as an fc layer, the lstmemory as a
    recurrent one; the outputs equal the dense ones."""
    x = layer.data("x", data_type.dense_vector_sequence(6))
    lstm = paddle.networks.simple_lstm(input=x, size=8, name="lstm")
    out = layer.fc(layer.last_seq(input=lstm), size=3, act=activation.Softmax())
    parameters = prune(rng, paddle.parameters.create(out), density=0.1)
    data = [(rng.standard_normal((n, 6)).astype(np.float32),) for n in (1, 4, 2, 7)]
    dense = paddle.inference.Inference(out, parameters, sparse=False).infer(data)
    inference = paddle.inference.Inference(out, parameters, sparse=mode)
    np.testing.assert_allclose(inference.infer(data), dense, rtol=1e-4, atol=1e-6)
    rows = {r.layer: r for r in inference.sparse_plan.rows()}
    if mode is False:
        assert rows == {}
        return
    assert (rows["lstm_transform_lstm"].kind, rows["lstm"].kind) == ("fc", "recurrent")
    assert rows["lstm_transform_lstm"].weight_shape == (6, 32)
    assert rows["lstm_transform_lstm"].batch == 14  # its rows: every timestep
    if mode is True:
        assert {r.choice for r in rows.values()} == {"sparse"}


def test_a_sequence_softmax_fc_runs_under_every_sparse_setting():
    """The activation after a planned fc reads the sequence layout on every path."""
    import minidl as paddle
    paddle.layer.reset_names()
    x = paddle.layer.data("seq_x", paddle.data_type.dense_vector_sequence(8))
    scores = paddle.layer.fc(input=x, size=1, act=paddle.activation.SequenceSoftmax(),
                             bias_attr=False)
    parameters = paddle.parameters.create(scores)
    rng = np.random.default_rng(3)
    weight = rng.standard_normal(parameters.get_shape(scores.params[0].name)).astype(np.float32)
    weight[np.abs(weight) < 1.0] = 0.0
    parameters.set(scores.params[0].name, weight)
    samples = [(rng.standard_normal((n, 8)).astype(np.float32),) for n in (3, 1, 5)]
    outputs = [paddle.infer(output_layer=scores, parameters=parameters, input=samples,
                            sparse=mode).ravel() for mode in (False, True, "auto")]
    for out in outputs[1:]:
        np.testing.assert_allclose(out, outputs[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose([outputs[0][:3].sum(), outputs[0][3], outputs[0][4:].sum()],
                               1.0, rtol=1e-5)


@pytest.mark.parametrize("backend_name", ["numpy", "cpu"])
@pytest.mark.parametrize("batch", [1, 2])
def test_fc_products_run_the_plans_layouts_without_checking_them_again(
        rng, monkeypatch, backend_name, batch):
    """Three fc products (the hidden layer's two inputs and the output layer), each a
    ``csr_matmul`` told that the plan's layout was checked when built (``check=False``);
    the dense results."""
    from minidl.backends import registry
    set_backend(backend_name)
    out, parameters = pruned_network(rng)
    checks, original = [], registry._KERNELS[backend_name]["csr_matmul"]

    def recording(*args, check=True, **kwargs):
        checks.append(check)
        return original(*args, check=check, **kwargs)
    monkeypatch.setitem(registry._KERNELS[backend_name], "csr_matmul", recording)
    data = samples(rng, batch)
    got = paddle.infer(output_layer=out, parameters=parameters, input=data, sparse=True)
    assert checks == [False] * 3
    dense = paddle.infer(output_layer=out, parameters=parameters, input=data, sparse=False)
    np.testing.assert_allclose(got, dense, rtol=1e-4, atol=1e-6)


def test_a_plan_resolves_each_sparse_forward_once_and_runs_float32_inputs_only(rng):
    """The plan keeps one SparseForward per layer and layout (what it resolved: kernel,
    activation, bias), makes a new one for other layouts (a variant on trial), and a layer
    whose input is not float32 runs dense (the kernels take their inputs unchecked)."""
    from minidl.core import Tensor, no_grad
    from minidl.layers.graph import RunContext
    from minidl.sparse_inference.sparse_forward import dense_forward
    out, parameters = pruned_network(rng)
    inference = paddle.inference.Inference(out, parameters, sparse=True)
    data = samples(rng, 2)
    values, averaged = inference.parameter_values()
    feed = {"img": np.stack([s[0] for s in data])}
    plan = inference.plan(values, feed, 2, averaged)
    hidden = out.inputs[0]
    assert hidden.name in plan.sparse
    ctx = RunContext(values)
    with no_grad():
        outputs = inference.network.forward(feed, RunContext(values))
        xs = [outputs[p.name] for p in hidden.inputs]
        first = plan.forward(hidden, ctx, xs).data
        made = plan._forwards[hidden.name][1]
        assert plan.forward(hidden, ctx, xs) is not None and \
            plan._forwards[hidden.name][1] is made
        np.testing.assert_allclose(first, dense_forward(hidden, ctx, xs).data,
                                   rtol=1e-4, atol=1e-5)
        kind, csr = plan.sparse[hidden.name]
        plan.sparse = dict(plan.sparse, **{hidden.name: (kind, list(csr))})
        plan.forward(hidden, ctx, xs)
        assert plan._forwards[hidden.name][1] is not made
        wide = [Tensor(x.data.astype(np.float64)) for x in xs]
        assert plan.forward(hidden, ctx, wide) is None
