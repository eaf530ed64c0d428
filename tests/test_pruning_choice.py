"""Sensitivity analysis, choosing per-layer sparsities and the hooks that apply them.

The sensitivity numbers are checked against a NumPy forward written out by hand, the
choice against the obvious answer and against brute force over every combination."""

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minidl as paddle
from minidl.backends import available_backends, current_backend, set_backend
from minidl.io import compact
from minidl.layers.attrs import ParamAttr
from minidl.pruning import (LayerSensitivity, SensitivityTable, choose, hooks_for,
                            sensitivity)
from minidl.pruning.choose import predicted_losses
from minidl.pruning.prunable import prunable_weights
from minidl.pruning.trial import MagnitudeOrder, magnitude_pruned, pruned
from minidl.layers.graph import Network
from minidl.sparse_inference.plan import MARGIN

W0, B0, W1, B1 = ("___fc_layer_0__.w0", "___fc_layer_0__.wbias", "___fc_layer_1__.w0",
                  "___fc_layer_1__.wbias")


def _tiny():
    """x (4) -> fc 5 relu -> fc 3 softmax -> classification_cost."""
    x = paddle.layer.data("x", paddle.data_type.dense_vector(4))
    label = paddle.layer.data("label", paddle.data_type.integer_value(3))
    hidden = paddle.layer.fc(input=x, size=5, act=paddle.activation.Relu())
    out = paddle.layer.fc(input=hidden, size=3, act=paddle.activation.Softmax())
    return paddle.layer.classification_cost(input=out, label=label), out


def _setup(n=13, seed=3):
    cost, out = _tiny()
    params = paddle.parameters.create(cost)
    rng = np.random.default_rng(seed)
    for name in (W0, B0, W1, B1):
        params.set(name, rng.standard_normal(params.get_shape(name)).astype(np.float32))
    xs = rng.standard_normal((n, 4)).astype(np.float32)
    labels = rng.integers(0, 3, n)
    samples = [(xs[i], int(labels[i])) for i in range(n)]
    reader = paddle.batch(lambda: iter(samples), 5, drop_last=False)   # batches 5, 5, 3
    return cost, out, params, xs, labels, reader


def _by_hand_prune(w, ratio):
    """Keep the floor(n (1 - ratio)) largest |w| (lower index first on ties), by a loop."""
    flat = w.ravel()
    keep = int(math.floor(flat.size * (1 - ratio) + 1e-9))
    ranked = sorted(range(flat.size), key=lambda i: (-abs(float(flat[i])), i))
    out = np.zeros_like(flat)
    for i in ranked[:keep]:
        out[i] = flat[i]
    return out.reshape(w.shape)


def _by_hand_probabilities(xs, w0, b0, w1, b1):
    hidden = np.maximum(xs @ w0 + b0, 0)
    logits = hidden @ w1 + b1
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _values(params, **replace):
    values = {name: params.get(name) for name in (W0, B0, W1, B1)}
    values.update({{"w0": W0, "w1": W1}[k]: v for k, v in replace.items()})
    return values[W0], values[B0], values[W1], values[B1]


@pytest.mark.parametrize("metric", ["accuracy", "cost"])
def test_sensitivity_matches_a_forward_written_by_hand(metric):
    cost, _, params, xs, labels, reader = _setup()
    ratios = (0.3, 0.5, 0.8)
    table = sensitivity(cost, params, reader, ratios=ratios, metric=metric, timing_batch=None,
                        progress=False)

    def by_hand(**replace):
        p = _by_hand_probabilities(xs, *_values(params, **replace))
        if metric == "accuracy":
            return 100.0 * np.mean(p.argmax(axis=1) == labels)
        return float(np.mean(-np.log(p[np.arange(len(labels)), labels])))

    assert table.metric == metric and table.samples == 13
    assert table.baseline == pytest.approx(by_hand(), rel=1e-5, abs=1e-9)
    assert table.names() == [W0, W1]
    for key, name in (("w0", W0), ("w1", W1)):
        for ratio in ratios:
            expected = by_hand(**{key: _by_hand_prune(params.get(name), ratio)})
            assert table[name].metric[ratio] == pytest.approx(expected, rel=1e-5, abs=1e-9)
            assert table.loss(name, ratio) == pytest.approx(
                (table.baseline - expected) if metric == "accuracy"
                else (expected - table.baseline), rel=1e-5, abs=1e-6)


def test_agreement_of_an_output_layer_needs_no_labels():
    _, out, params, xs, _, _ = _setup()
    unlabelled = paddle.batch(lambda: iter([(x,) for x in xs]), 4, drop_last=False)
    table = sensitivity(out, params, unlabelled, ratios=(0.5, 0.9), timing_batch=None,
                        progress=False)
    reference = _by_hand_probabilities(xs, *_values(params)).argmax(axis=1)
    assert table.metric == "agreement" and table.baseline == 100.0
    pruned_classes = _by_hand_probabilities(
        xs, *_values(params, w1=_by_hand_prune(params.get(W1), 0.9))).argmax(axis=1)
    assert table[W1].metric[0.9] == pytest.approx(100 * np.mean(pruned_classes == reference))


def test_stored_bytes_are_those_of_the_compact_file():
    cost, _, params, _, _, reader = _setup()
    table = sensitivity(cost, params, reader, ratios=(0.5, 0.9), timing_batch=None,
                        progress=False)
    for ratio in (0.5, 0.9):
        with pruned(params, {W0: ratio}):
            sizes = {p.name: p.stored_bytes for p in paddle.pruning.file_sizes(params).parameters}
        assert table[W0].stored_bytes[ratio] == sizes[W0]
    assert table[W0].stored_bytes[0.0] == compact.dense_size(params.get(W0))


@settings(max_examples=30)
@given(st.integers(1, 40), st.floats(0.0, 0.99), st.integers(0, 2 ** 31))
def test_magnitude_order_prunes_as_the_hook_does(size, ratio, seed):
    rng = np.random.default_rng(seed)
    value = rng.integers(-3, 4, size).astype(np.float32)   # many ties and zeros
    assert MagnitudeOrder(value).pruned(ratio).tobytes() == \
        magnitude_pruned(value, ratio).tobytes() == _by_hand_prune(value, ratio).tobytes()


# --- restoring the parameters -----------------------------------------------------------

def _snapshot(params):
    return {name: params.get(name).tobytes() for name in params.names()}


def _with_negative_zeros(params):
    value = params.get(W0)
    value[0, 0] = -0.0
    params.set(W0, value)


def test_parameters_come_back_bit_for_bit_after_analysis_with_timing():
    cost, _, params, _, _, reader = _setup()
    _with_negative_zeros(params)
    before = _snapshot(params)
    previous = current_backend().name
    set_backend("cpu" if "cpu" in available_backends() else previous)
    try:
        table = sensitivity(cost, params, reader, ratios=(0.5, 0.9), progress=False)
    finally:
        set_backend(previous)
    assert _snapshot(params) == before
    assert table.timing_batch == 1


def test_parameters_come_back_after_an_error_in_the_middle():
    cost, _, params, _, _, reader = _setup()
    _with_negative_zeros(params)
    before = _snapshot(params)
    seen = []

    def handler(event):
        seen.append(event)
        if len(seen) == 7:
            raise KeyboardInterrupt("stop")
    with pytest.raises(KeyboardInterrupt):
        sensitivity(cost, params, reader, timing_batch=None, progress=handler)
    assert _snapshot(params) == before


def test_parameters_come_back_when_timing_fails(monkeypatch):
    cost, _, params, _, _, reader = _setup()
    _with_negative_zeros(params)
    before = _snapshot(params)
    timing = sys.modules["minidl.pruning.layer_timing"]
    pruned_inside = []

    def failing_explain(outputs, parameters, *args, **kwargs):
        pruned_inside.append(parameters.get(W0).tobytes() != before[W0])
        raise RuntimeError("planner failed")
    monkeypatch.setattr(timing, "explain", failing_explain)
    with pytest.raises(RuntimeError, match="planner failed"):
        sensitivity(cost, params, reader, ratios=(0.9,), progress=False)
    assert pruned_inside == [True]        # the parameters really were pruned in place
    assert _snapshot(params) == before


# --- JSON and text ----------------------------------------------------------------------

def test_json_round_trip(tmp_path):
    cost, _, params, _, _, reader = _setup()
    table = sensitivity(cost, params, reader, ratios=(0.5, 0.9), timing_batch=None,
                        progress=False)
    table[W0].dense_ms.update({0.5: 0.25, 0.9: 0.5})
    table[W0].sparse_ms.update({0.5: 0.3, 0.9: 0.125})
    path = tmp_path / "sensitivity.json"
    table.save(path)
    loaded = SensitivityTable.load(path)
    assert loaded.as_dict() == table.as_dict()
    assert json.loads(path.read_text())["metric"] == "accuracy"
    assert loaded[W0].metric == table[W0].metric and loaded[W0].dense_ms[0.9] == 0.5
    assert str(loaded) == str(table) and W1 in str(table)
    assert choose(loaded, 5.0).rows == choose(table, 5.0).rows


def test_plot_sensitivity(tmp_path):
    pytest.importorskip("matplotlib")
    cost, _, params, _, _, reader = _setup()
    table = sensitivity(cost, params, reader, ratios=(0.5, 0.9), timing_batch=None,
                        progress=False)
    paddle.pruning.plot_sensitivity(table, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 1000


# --- choose --------------------------------------------------------------------------------

def _entry(name, losses, stored, baseline=90.0, dense_ms=None, sparse_ms=None):
    """A weight measured by hand: ``losses``/``stored`` {ratio: ...}, ratio 0 included."""
    metric = {ratio: baseline - loss for ratio, loss in losses.items()}
    return LayerSensitivity(name, "layer_" + name, "fc", (10, 10), 100, metric, dict(stored),
                            dict(dense_ms or {}), dict(sparse_ms or {}))


def _table(entries, ratios=(0.5, 0.9, 0.99)):
    return SensitivityTable("accuracy", 90.0, 1000, ratios, entries, timing_batch=1)


def test_choose_size_takes_the_obviously_best_split():
    big = _entry("big", {0: 0, .5: 0, .9: 0.2, .99: 0.4}, {0: 400016, .5: 400016, .9: 60000,
                                                            .99: 6000})
    small = _entry("small", {0: 0, .5: 0.3, .9: 0.7, .99: 2.0}, {0: 416, .5: 416, .9: 70,
                                                                 .99: 20})
    choice = choose(_table([big, small]), budget=1.0, objective="size")
    assert choice.sparsities == {"big": 0.99}        # small at 0.9 would overrun the budget
    assert choice.loss == pytest.approx(0.4)
    assert choice.bytes_saved == 400016 - 6000
    assert choose(_table([big, small]), budget=1.1).sparsities == {"big": 0.99, "small": 0.9}
    assert choose(_table([big, small]), budget=0.0).sparsities == {}   # 0.5 saves nothing
    text = str(choice)
    assert "layer_big" in text and "400,016" in text and "6,000" in text


def test_predicted_loss_is_clipped_and_never_falls_with_the_ratio():
    entry = _entry("w", {0: 0, .5: -0.3, .9: 0.4, .99: 0.1}, {0: 1, .5: 1, .9: 1, .99: 1})
    assert predicted_losses(_table([entry]), entry) == pytest.approx(
        {0.0: 0.0, 0.5: 0.0, 0.9: 0.4, 0.99: 0.4})


def test_latency_ignores_sparsities_below_the_break_even():
    slow = _entry("slow", {0: 0, .5: 0, .9: 0, .99: 0}, {0: 4016, .5: 4016, .9: 500, .99: 60},
                  dense_ms={.5: 1.0, .9: 1.1, .99: 1.05},
                  sparse_ms={.5: 0.99, .9: 1.2, .99: 1.3})     # never below MARGIN * 1.0
    fast = _entry("fast", {0: 0, .5: 0.1, .9: 0.5, .99: 3.0}, {0: 4016, .5: 4016, .9: 500,
                                                               .99: 60},
                  dense_ms={.5: 2.0, .9: 2.0, .99: 2.0}, sparse_ms={.5: 1.5, .9: 0.5, .99: 0.2})
    choice = choose(_table([slow, fast]), budget=1.0, objective="latency")
    assert choice.sparsities == {"fast": 0.9}     # "slow" costs nothing but buys no speed
    rows = {row.parameter: row for row in choice.rows}
    assert rows["slow"].ms == rows["slow"].unpruned_ms == 1.0
    assert rows["fast"].ms == 0.5 and choice.times() == (3.0, 1.5)
    assert choose(_table([slow, fast]), budget=1.0, objective="size").sparsities == \
        {"slow": 0.99, "fast": 0.9}
    assert 0.99 > MARGIN


@settings(max_examples=30)
@given(st.data())
def test_choose_equals_brute_force(data):
    ratios = (0.5, 0.9)
    entries = []
    for index in range(data.draw(st.integers(1, 4))):
        losses = {0: 0, **{r: data.draw(st.integers(-1, 4)) for r in ratios}}
        stored = {0: 1000, **{r: data.draw(st.integers(0, 1000)) for r in ratios}}
        entries.append(_entry(f"w{index}", losses, stored))
    table = _table(entries, ratios)
    budget = data.draw(st.integers(0, 6))
    options = [predicted_losses(table, e) for e in entries]
    best = max(sum(1000 - e.stored_bytes[r] for e, r in zip(entries, picks))
               for picks in itertools.product((0.0,) + ratios, repeat=len(entries))
               if sum(o[r] for o, r in zip(options, picks)) <= budget)
    choice = choose(table, budget)
    assert choice.bytes_saved == best and choice.loss <= budget


# --- hooks_for ---------------------------------------------------------------------------

def _choice():
    a = _entry(W0, {0: 0, .5: 0, .9: 0.2}, {0: 96, .5: 96, .9: 20})
    b = _entry(W1, {0: 0, .5: 5, .9: 9}, {0: 76, .5: 76, .9: 20})
    return choose(_table([a, b], (0.5, 0.9)), budget=1.0)


def test_hooks_for_gives_static_or_dynamic_hooks():
    static = hooks_for(_choice())
    assert list(static) == [W0] and static.get(W1) is None and static.hook(W1) is None
    assert static.hook(W0) == paddle.attr.Hook("pruning", sparsity_ratio=0.9)
    assert static[W0].name == W0
    dynamic = hooks_for(_choice(), dynamic=True, inter_pass=1, end_pass=4, curve="cubic")
    assert dynamic.hook(W0) == paddle.attr.Hook("dynamic_pruning", upper_bound=0.9,
                                                inter_pass=1, end_pass=4, curve="cubic")


def test_training_with_hooks_for_reaches_the_chosen_sparsity():
    settings_ = hooks_for(_choice())
    x = paddle.layer.data("x", paddle.data_type.dense_vector(4))
    label = paddle.layer.data("label", paddle.data_type.integer_value(3))
    hidden = paddle.layer.fc(input=x, size=5, act=paddle.activation.Relu(),
                             param_attr=settings_.get(W0))
    out = paddle.layer.fc(input=hidden, size=3, act=paddle.activation.Softmax(),
                          param_attr=settings_.get(W1))
    cost = paddle.layer.classification_cost(input=out, label=label)
    params = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=0.01))
    rng = np.random.default_rng(0)
    samples = [(rng.standard_normal(4).astype(np.float32), int(rng.integers(0, 3)))
               for _ in range(10)]
    trainer.train(paddle.batch(lambda: iter(samples), 5), num_passes=1)
    assert np.count_nonzero(params.get(W0)) == 2       # floor(20 * 0.1)
    assert np.count_nonzero(params.get(W1)) == 15


# --- bad input ------------------------------------------------------------------------------

def test_bad_input_is_named():
    cost, _, params, _, _, reader = _setup()
    run = dict(timing_batch=None, progress=False)
    with pytest.raises(ValueError, match="not a prunable layer.*__fc_layer_0__"):
        sensitivity(cost, params, reader, layers=["nope"], **run)
    for bad in ((0.5, 1.0), (-0.1,), (0.5, float("nan")), (True,), ("0.5",)):
        with pytest.raises(ValueError, match=r"\[0, 1\)"):
            sensitivity(cost, params, reader, ratios=bad, **run)
    with pytest.raises(ValueError, match="no samples"):
        sensitivity(cost, params, lambda: iter([]), **run)
    with pytest.raises(TypeError, match="reader"):
        sensitivity(cost, params, [1, 2], **run)
    with pytest.raises(ValueError, match="metric='agreement' does not apply"):
        sensitivity(cost, params, reader, metric="agreement", **run)
    with pytest.raises(ValueError, match="timing_batch"):
        sensitivity(cost, params, reader, timing_batch=0, progress=False)
    table = sensitivity(cost, params, reader, ratios=(0.5,), **run)
    for budget in (-1, -0.01, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match="budget"):
            choose(table, budget)
    with pytest.raises(ValueError, match="objective"):
        choose(table, 1.0, objective="speed")
    with pytest.raises(ValueError, match="no layer times"):
        choose(table, 1.0, objective="latency")
    with pytest.raises(TypeError, match="SensitivityTable"):
        choose({"w": 0.5}, 1.0)
    with pytest.raises(ValueError, match="dynamic=True"):
        hooks_for(_choice(), inter_pass=2)
    with pytest.raises(ValueError, match="curve"):
        hooks_for(_choice(), dynamic=True, curve="square")
    with pytest.raises(TypeError, match="Choice"):
        hooks_for({"w": 0.5})


def test_prunable_weights_are_weights_only():
    ids = paddle.layer.data("ids", paddle.data_type.integer_value_sequence(50))
    image = paddle.layer.data("image", paddle.data_type.dense_vector(3 * 8 * 8), height=8,
                              width=8)
    emb = paddle.layer.embedding(input=ids, size=8)
    lstm = paddle.networks.simple_lstm(input=emb, size=4)
    conv = paddle.layer.img_conv(input=image, filter_size=3, num_filters=4, num_channels=3,
                                 padding=1, act=paddle.activation.Relu())
    norm = paddle.layer.batch_norm(input=conv, act=paddle.activation.Relu())
    depthwise = paddle.layer.img_depthwise_conv(input=norm, filter_size=3, num_filters=4,
                                                padding=1)
    frozen = paddle.layer.fc(input=depthwise, size=3, param_attr=ParamAttr(is_static=True))
    pooled = paddle.layer.pooling(input=lstm, pooling_type=paddle.pooling.Max())
    out = paddle.layer.fc(input=[pooled, frozen], size=2, act=paddle.activation.Softmax())
    found = {w.parameter: (w.kind, w.weights) for w in prunable_weights(Network([out]))}
    # not: biases, batch norm's scale and statistics, the static fc weight
    assert found == {"___embedding_0__.w0": ("embedding", 50 * 8),
                     "_lstm_transform___lstm_0__.w0": ("fc", 8 * 16),   # the mixed layer
                     "___lstm_0__.w0": ("recurrent", 4 * 16),
                     "___conv_0__.w0": ("conv", 4 * 3 * 9),
                     "___depthwise_conv_0__.w0": ("depthwise", 4 * 9),
                     "___fc_layer_1__.w0": ("fc", 4 * 2), "___fc_layer_1__.w1": ("fc", 3 * 2)}


def test_example_quick_run():
    example = Path(__file__).resolve().parents[1] / "examples" / "pruning_choice.py"
    result = subprocess.run([sys.executable, str(example), "--quick"], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    for label in ("hand-picked", "auto, objective=size", "auto, objective=latency"):
        assert label in result.stdout
    assert "batch-1 ms" in result.stdout
