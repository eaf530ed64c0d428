"""Pruned recurrent networks (Narang et al., ICLR 2017): pruning hooks on recurrent weights
and embeddings, and sparse inference of pruned ``lstmemory`` / ``grumemory`` layers.

* ``Hook('pruning')`` and ``Hook('dynamic_pruning')`` on ``lstmemory`` / ``grumemory``
  weights, the step layers' weights inside a ``recurrent_group`` (``lstmemory_group``: the
  memory's full matrix projection; ``gru_group``: ``gru_step``'s weight), the input
  projections and embedding tables (dense and ``sparse_update`` row gradients): under every
  optimizer, after every step, the pruned weights are exactly +0.0 (and so are
  ModelAverage's averages), as many as the schedule asks, while the kept weights train.
* ``paddle.infer(..., sparse=True/'auto')``: the recurrent product through the CSR kernels
  equals the dense forward (float32 rounding) for both layers, forwards and reversed, on
  ragged batches and at batch 1; the plan lists the recurrent layer; layouts follow
  parameter changes; the GRU's two weight matrices are laid out as Paddle's memory holds
  them.
"""

import importlib.util
import math
import pathlib

import numpy as np
import pytest

import minidl as paddle
from minidl.backends import current_backend, get_kernel, set_backend
from minidl.backends.numpy_ref.recurrent import gru_weight_views
from minidl.layers.attrs import Hook, ParamAttr
from minidl.pruning.schedule import target_at
from minidl.sparse_inference import layout as layouts
from minidl.sparse_inference import plan as plans

from conftest import BACKENDS_PRESENT
from test_trainer import OPTIMIZERS

L, dt, A = paddle.layer, paddle.data_type, paddle.activation

H = 4           # hidden size of the hook tests' layers
FEATURES = 5    # width of a dense input row
VOCABULARY = 30

HOOKS = {
    "pruning": Hook("pruning", sparsity_ratio=0.75),
    # masks at passes 0 (sparsity 0), 1, 2 and 3 (0.75), frozen after
    "dynamic_pruning": Hook("dynamic_pruning", upper_bound=0.75, inter_pass=1, end_pass=3),
}
PASSES = 5      # four batches each: 20 steps
FEEDING = {"x": 0, "label": 1}


# --- the hook tests' networks: one per layer type, each returning (cost, data) ---------------

def _classifier(sequence, label):
    last = L.last_seq(input=sequence)
    out = L.fc(input=last, size=2, act=A.Softmax())
    return L.classification_cost(input=out, label=label)


def _hooked(hook, **kw):
    return ParamAttr(update_hooks=hook, **kw)


def _dense_input():
    return L.data("x", dt.dense_vector_sequence(FEATURES))


def _projection(x, gates, hook):
    """The input projection (an fc layer, linear, no bias), pruned too, as Narang et al. do."""
    return L.fc(input=x, size=gates * H, act=A.Linear(), bias_attr=False,
                param_attr=_hooked(hook))


def _lstmemory(hook, label):
    x = _dense_input()
    return _classifier(L.lstmemory(input=_projection(x, 4, hook), param_attr=_hooked(hook)),
                       label)


def _grumemory(hook, label):
    x = _dense_input()
    return _classifier(L.grumemory(input=_projection(x, 3, hook), param_attr=_hooked(hook)),
                       label)


def _lstm_step(hook, label):
    """lstm_step inside a recurrent_group: its recurrent weight is the memory's projection."""
    x = _dense_input()
    group = paddle.networks.lstmemory_group(input=_projection(x, 4, hook), size=H,
                                            param_attr=_hooked(hook))
    return _classifier(group, label)


def _gru_step(hook, label):
    x = _dense_input()
    group = paddle.networks.gru_group(input=_projection(x, 3, hook), size=H,
                                      gru_param_attr=_hooked(hook))
    return _classifier(group, label)


def _embedding(sparse_update):
    def build(hook, label):
        words = L.data("x", dt.integer_value_sequence(VOCABULARY))
        emb = L.embedding(input=words, size=6,
                          param_attr=_hooked(hook, sparse_update=sparse_update))
        pooled = L.pooling(input=emb, pooling_type=paddle.pooling.Sum())
        out = L.fc(input=pooled, size=2, act=A.Softmax())
        return L.classification_cost(input=out, label=label)
    return build


NETWORKS = {
    "lstmemory": (_lstmemory, 2),     # (builder, number of hooked parameters)
    "grumemory": (_grumemory, 2),
    "lstm_step": (_lstm_step, 2),
    "gru_step": (_gru_step, 2),
    "embedding": (_embedding(False), 1),
    "embedding_sparse_update": (_embedding(True), 1),
}


def _samples(kind, rng, count=16):
    """Ragged sequences (lengths 1-5) with a label the data decides."""
    samples = []
    for i in range(count):
        length = 1 + i % 5
        if kind.startswith("embedding"):
            # ids from half the vocabulary: the other rows get no gradient (sparse_update
            # leaves them alone) and must stay pruned all the same
            ids = rng.integers(0, VOCABULARY // 2, size=length)
            samples.append((ids.tolist(), int(ids.sum() % 2)))
        else:
            rows = rng.standard_normal((length, FEATURES)).astype(np.float32)
            samples.append((rows, int(rows[:, 0].sum() > 0)))
    return samples


def _expected_pruned(size, hook, pass_id):
    return size - math.floor(size * (1 - target_at(hook, pass_id)) + 1e-9)


@pytest.mark.parametrize("hook_type", sorted(HOOKS))
@pytest.mark.parametrize("kind", sorted(NETWORKS))
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_pruned_weights_stay_exactly_zero(optimizer, kind, hook_type):
    build, hooked = NETWORKS[kind]
    hook = HOOKS[hook_type]
    label = L.data("label", dt.integer_value(2))
    cost = build(hook, label)
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, parameters, OPTIMIZERS[optimizer]())
    assert len(trainer.hooks) == hooked, sorted(trainer.hooks)
    start = {name: parameters.get(name).copy() for name in trainer.hooks}
    checked = []

    def check(event):
        if not isinstance(event, paddle.event.EndIteration):
            return
        averaged = trainer._averaged_values()
        for name, (runtime,) in trainer.hooks.items():
            value = parameters.get(name)
            pruned = runtime.mask == 0
            where = f"{name} after pass {event.pass_id}, batch {event.batch_id}"
            assert pruned.sum() == _expected_pruned(value.size, hook, event.pass_id), where
            assert np.all(value[pruned] == 0.0) and not np.signbit(value[pruned]).any(), where
            if averaged is not None:
                assert np.all(averaged[name][pruned] == 0.0), where + " (ModelAverage)"
        checked.append(event.batch_id)

    data = _samples(kind, np.random.default_rng(7))
    trainer.train(paddle.batch(lambda: iter(data), 4), num_passes=PASSES, event_handler=check,
                  feeding=FEEDING)
    assert len(checked) == 4 * PASSES
    for name, (runtime,) in trainer.hooks.items():
        value, kept = parameters.get(name), runtime.mask > 0
        assert np.count_nonzero(value) <= kept.sum() < value.size
        assert not np.array_equal(value[kept], start[name][kept]), f"{name} did not train"


def test_the_dynamic_schedule_prunes_a_recurrent_weight_pass_by_pass():
    hook = Hook("dynamic_pruning", upper_bound=0.9, inter_pass=2, end_pass=6)
    label = L.data("label", dt.integer_value(2))
    cost = _lstmemory(hook, label)
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, parameters, paddle.optimizer.Adam(learning_rate=0.01))
    name = "___lstmemory_0__.w0"
    assert parameters.get_shape(name) == (H, H, 4)          # v2's dims
    reached = {}

    def record(event):
        if isinstance(event, paddle.event.EndPass):
            reached[event.pass_id] = np.count_nonzero(parameters.get(name) == 0)

    data = _samples("lstmemory", np.random.default_rng(8))
    trainer.train(paddle.batch(lambda: iter(data), 8), num_passes=8, event_handler=record,
                  feeding=FEEDING)
    for pass_id, zeros in reached.items():
        assert zeros >= _expected_pruned(4 * H * H, hook, pass_id), pass_id
    assert reached[0] == 0 and reached[7] == _expected_pruned(4 * H * H, hook, 7) == 58


# --- sparse inference of pruned recurrent layers ---------------------------------------------

@pytest.fixture
def cpu_backend():
    """The cpu backend where Numba is installed (else the reference), restored after."""
    previous = current_backend().name
    set_backend("cpu" if "cpu" in BACKENDS_PRESENT else "numpy")
    yield
    set_backend(previous)


@pytest.fixture
def fresh_measurements(monkeypatch):
    """'auto' measures afresh; the network check's timing is replaced by one where the
    per-layer choices win, so that the machine's load does not decide what a test sees."""
    def per_layer_choices_win(forwards):
        for forward in forwards.values():
            forward()
        return {setting: 1.0 if setting == "plan" else 2.0 for setting in forwards}

    plans.clear_measurements()
    monkeypatch.setattr(plans, "measure_network", per_layer_choices_win)
    monkeypatch.setattr(plans, "QUIET_S", 0.001)
    yield
    plans.clear_measurements()


def pruned_recurrent(kind, rng, hidden=8, reverse=False, density=0.1, features=6):
    """data -> fc (the input projection) -> lstmemory / grumemory, every weight pruned to
    ``density`` (the biases, peepholes included, dense and nonzero)."""
    x = L.data("x", dt.dense_vector_sequence(features))
    gates = 4 if kind == "lstmemory" else 3
    projection = L.fc(input=x, size=gates * hidden, act=A.Linear(), bias_attr=False)
    layer = getattr(L, kind)(input=projection, reverse=reverse)
    parameters = paddle.parameters.create(layer)
    for name in parameters.names():
        value = rng.standard_normal(parameters.get_shape(name)).astype(np.float32)
        if not name.endswith("wbias"):
            value *= (rng.random(value.shape) < density) / math.sqrt(density * hidden)
        parameters.set(name, value)
    return layer, parameters


def sequences(rng, lengths, features=6):
    return [(rng.standard_normal((n, features)).astype(np.float32),) for n in lengths]


#: ragged batches (lengths mixed, in two orders), one long sequence (batch 1), a single row
LENGTHS = ([1, 2, 5], [5, 1, 2, 7, 3], [12], [1])


@pytest.mark.parametrize("kind", ["lstmemory", "grumemory"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("lengths", LENGTHS, ids=str)
def test_sparse_recurrent_inference_equals_dense(backend, rng, kind, reverse, lengths):
    layer, parameters = pruned_recurrent(kind, rng, reverse=reverse)
    data = sequences(rng, lengths)
    dense = paddle.inference.Inference(layer, parameters, sparse=False).infer(data)
    inference = paddle.inference.Inference(layer, parameters, sparse=True)
    np.testing.assert_allclose(inference.infer(data), dense, rtol=1e-5, atol=1e-6)
    (row,) = [r for r in inference.sparse_plan.rows() if r.kind == "recurrent"]
    assert (row.layer, row.choice, row.reason) == (layer.name, "sparse", "forced (sparse=True)")
    gates = 4 if kind == "lstmemory" else 3
    assert row.weight_shape == (8, gates * 8) and row.density == pytest.approx(0.1, abs=0.06)


@pytest.mark.parametrize("kind", ["lstmemory", "grumemory"])
def test_a_large_pruned_layer_at_batch_one(kind, rng, cpu_backend):
    """Hidden 96 (the CSR rows' dot products of many nonzeros), one sequence of 30 steps."""
    layer, parameters = pruned_recurrent(kind, rng, hidden=96, density=0.1, features=16)
    data = sequences(rng, [30], features=16)
    dense = paddle.infer(layer, parameters, data, sparse=False)
    np.testing.assert_allclose(paddle.infer(layer, parameters, data, sparse=True), dense,
                               rtol=1e-4, atol=2e-6)


def test_the_plan_shows_the_recurrent_layer(rng, capsys, monkeypatch, fresh_measurements,
                                            cpu_backend):
    """'auto' measures the recurrent layer like an fc layer and keeps the faster forward
    (the timing is mocked here: sparse measured twice as fast)."""
    measured = []

    def half_the_time(dense, sparse, before=None):
        measured.append(True)
        return 1.0, 0.5, dense(), sparse()

    monkeypatch.setattr(plans, "measure", half_the_time)
    layer, parameters = pruned_recurrent("lstmemory", rng)
    data = sequences(rng, [4, 2])
    inference = paddle.inference.Inference(layer, parameters, sparse="auto")
    np.testing.assert_allclose(inference.infer(data),
                               paddle.infer(layer, parameters, data, sparse=False),
                               rtol=1e-5, atol=1e-6)
    print(inference.sparse_plan)
    shown = capsys.readouterr().out
    line = [text for text in shown.splitlines() if text.startswith(layer.name)]
    assert len(line) == 1, shown
    fields = line[0].split()
    if "cpu" in BACKENDS_PRESENT:
        # layer, kind, weight, density, batch (sequences), runs
        assert fields[1:3] == ["recurrent", "8x32"] and fields[4:6] == ["2", "sparse"], shown
        assert 0.0 < float(fields[3]) < 0.2
        assert "measured: sparse 0.50x the dense time" in line[0]
        assert len(measured) == 2            # the fc projection and the recurrent layer
    else:
        assert "has no sparse kernels of its own" in line[0]
        return
    # the recurrent layer's batch is its number of sequences: other lengths reuse the
    # decision (the fc projection, whose batch is its rows, is measured again)
    data = sequences(rng, [7, 1])
    np.testing.assert_allclose(inference.infer(data),
                               paddle.infer(layer, parameters, data, sparse=False),
                               rtol=1e-5, atol=1e-6)
    assert len(measured) == 3
    assert inference.sparse_plan.decisions[(layer.name, 2)].reason.endswith("dense time")


def test_a_dense_recurrent_weight_stays_dense_under_auto(rng, fresh_measurements):
    layer, parameters = pruned_recurrent("grumemory", rng, density=1.0)
    plan = paddle.sparse.explain(layer, parameters, sequences(rng, [3, 3]))
    (row,) = [r for r in plan.rows() if r.layer == layer.name]
    assert row.kind == "recurrent" and row.choice == "dense"


def test_recurrent_layouts_follow_parameter_changes(rng):
    layer, parameters = pruned_recurrent("lstmemory", rng)
    data = sequences(rng, [3, 5])
    paddle.infer(layer, parameters, data, sparse=True)
    built = layouts.builds()
    paddle.infer(layer, parameters, data, sparse=True)
    assert layouts.builds() == built
    name = "___lstmemory_0__.w0"
    parameters.set(name, parameters.get(name) * -2)
    np.testing.assert_allclose(paddle.infer(layer, parameters, data, sparse=True),
                               paddle.infer(layer, parameters, data, sparse=False),
                               rtol=1e-5, atol=1e-6)
    assert layouts.builds() == built + 2      # its nonzero count and its CSR


def test_the_gru_layout_holds_paddles_two_matrices(rng):
    hidden = 5
    w = rng.standard_normal((hidden, 3 * hidden)).astype(np.float32)
    w *= rng.random(w.shape) < 0.3
    gate, state = layouts.recurrent_layout(w, gates=3)
    w_gate, w_state = gru_weight_views(w)
    h = rng.standard_normal((2, hidden)).astype(np.float32)
    matmul = get_kernel("csr_matmul", "numpy")
    np.testing.assert_allclose(matmul(gate.indptr, gate.indices, gate.values, h), h @ w_gate,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(matmul(state.indptr, state.indices, state.values, h),
                               h @ w_state, rtol=1e-5, atol=1e-6)
    w = rng.standard_normal((hidden, 4 * hidden)).astype(np.float32)
    w *= rng.random(w.shape) < 0.3
    (lstm,) = layouts.recurrent_layout(w, gates=4)
    np.testing.assert_allclose(matmul(lstm.indptr, lstm.indices, lstm.values, h), h @ w,
                               rtol=1e-5, atol=1e-6)


def test_a_network_pruned_in_training_infers_sparse_as_dense():
    """Dynamic pruning to 0.9 of the recurrent and input weights, then sparse inference."""
    hook = Hook("dynamic_pruning", upper_bound=0.9, inter_pass=1, end_pass=2)
    label = L.data("label", dt.integer_value(2))
    x = _dense_input()
    lstm = L.lstmemory(input=_projection(x, 4, hook), param_attr=_hooked(hook))
    out = L.fc(input=L.last_seq(input=lstm), size=2, act=A.Softmax())
    cost = L.classification_cost(input=out, label=label)
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, parameters, paddle.optimizer.Adam(learning_rate=0.01))
    data = _samples("lstmemory", np.random.default_rng(9))
    trainer.train(paddle.batch(lambda: iter(data), 8), num_passes=3, feeding=FEEDING)
    assert np.count_nonzero(parameters.get("___lstmemory_0__.w0")) == 6     # floor(64 * 0.1)
    inputs = [(rows,) for rows, _ in data]
    np.testing.assert_allclose(paddle.infer(out, parameters, inputs, sparse=True),
                               paddle.infer(out, parameters, inputs, sparse=False),
                               rtol=1e-5, atol=1e-6)


def test_the_example_prunes_an_lstm_and_runs_it_sparse(fresh_measurements):
    """``examples/pruned_lstm.py`` on synthetic reviews, shrunk: 90 % of the input and
    recurrent weights pruned, the sparse outputs equal to the dense ones, smaller files."""
    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / "pruned_lstm.py"
    spec = importlib.util.spec_from_file_location("example_pruned_lstm", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    lines = []
    result = example.main(hidden=16, passes=1, finetune_passes=3, reviews=3, log=lines.append,
                          train_reviews=200, rounds=1)
    assert result["sparsity"] == {"_lstm_input.w0": pytest.approx(0.9, abs=1e-3),
                                  "_lstm.w0": pytest.approx(0.9, abs=1e-3)}
    assert result["max_difference"] < 1e-5
    assert 0 <= result["dense_accuracy"] <= 1 and 0 <= result["pruned_accuracy"] <= 1
    dense, pruned = result["sizes"]["dense"], result["sizes"]["pruned"]
    assert pruned.compact_tar < dense.dense_tar and pruned.dense_tar_gz < dense.dense_tar_gz
    assert set(result["ms"]) == {"dense network", "pruned, sparse=False",
                                 "pruned, sparse=True", "pruned, sparse='auto'"}
    assert any(line.startswith("synthetic data:") for line in lines)
    assert "lstm            recurrent" in str(result["plan"])
