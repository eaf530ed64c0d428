"""The sparse planner: a plan made before the forward (also without samples), decisions
that follow the cost model (an injected one), the unsure layers measured, the calibration's
cache file (written, reused, a corrupt one ignored, an unwritable directory tolerated), and
the model's fit."""

import json
import os

import numpy as np
import pytest

import minidl as paddle
from minidl.backends import set_backend
from minidl.sparse_inference import calibration
from minidl.sparse_inference import plan as plans
from minidl.sparse_inference.cost_model import CostModel, Work, features, fit_terms

from test_sparse_inference import RatioModel, count_kernel_calls, pruned_network, samples

@pytest.fixture(autouse=True)
def fresh(monkeypatch, tmp_path):
    plans.clear_measurements()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield
    plans.clear_measurements()


@pytest.fixture
def cpu():
    set_backend("cpu")


def by_layer(plan):
    return {d.layer: d for d in plan.rows()}


# --- the plan, before any forward ---------------------------------------------------------

def test_a_plan_is_printed_without_samples_and_without_running_the_network(rng, monkeypatch,
                                                                          cpu, capsys):
    monkeypatch.setattr(calibration, "cost_model", lambda *needs: RatioModel(0.3))
    monkeypatch.setattr(plans, "TINY_MACS", 0)     # nothing to measure: the model is sure
    out, parameters = pruned_network(rng)
    calls = count_kernel_calls(monkeypatch, "direct_sparse_conv2d")
    plan = paddle.sparse.plan(out, parameters, batch_size=3)
    print(plan)
    shown = capsys.readouterr().out
    assert calls == []                       # nothing ran: shapes came from the topology
    rows = by_layer(plan)
    assert set(rows) == {"__conv_0__", "__conv_1__", "__fc_layer_0__", "__fc_layer_1__"}
    assert {d.batch for d in rows.values()} == {3}
    assert rows["__conv_0__"].choice == "sparse" and rows["__conv_0__"].predicted
    assert "predicted: sparse 0.30x the dense time" in shown and "~1.000" in shown
    with pytest.raises(ValueError, match="batch_size=0 must be a positive integer"):
        paddle.sparse.plan(out, parameters, batch_size=0)


def test_the_forward_reads_the_plan_it_was_given(rng, monkeypatch, cpu):
    """Inference.plan, then Inference.run: the run follows the plan's choices."""
    monkeypatch.setattr(calibration, "cost_model", lambda *needs: RatioModel(
        lambda work: 0.2 if work.kind == "conv" else 3.0))
    monkeypatch.setattr(plans, "TINY_MACS", 0)
    out, parameters = pruned_network(rng, densities=(0.3, 0.2, 0.1, 0.05, 0.4))
    data = samples(rng, 2)
    inference = paddle.inference.Inference(out, parameters, sparse="auto")
    convs = count_kernel_calls(monkeypatch, "direct_sparse_conv2d")
    fcs = count_kernel_calls(monkeypatch, "csr_matmul")
    np.testing.assert_allclose(inference.infer(data),
                               paddle.infer(out, parameters, data, sparse=False),
                               rtol=1e-4, atol=1e-6)
    assert (len(convs), len(fcs)) == (2, 0)
    assert {d.choice for d in inference.sparse_plan.rows() if d.kind == "fc"} == {"dense"}


def test_a_plan_that_runs_every_layer_dense_is_no_plan(rng, monkeypatch, cpu):
    """Where no weight is sparse enough to try, Inference.plan gives the forward nothing
    to consult (the decisions are still kept to print); a float64 batch is planned apart
    from float32."""
    monkeypatch.setattr(calibration, "cost_model", lambda *needs: RatioModel(0.3))
    out, parameters = pruned_network(rng, densities=(1.0, 1.0, 1.0, 0.9, 1.0))
    inference = paddle.inference.Inference(out, parameters, sparse="auto")
    values, averaged = inference.parameter_values()
    feed = inference._feeder_for(None)(samples(rng, 2))
    assert inference.plan(values, feed, 2, averaged) is None
    assert {d.choice for d in inference.sparse_plan.rows()} == {"dense"}
    doubles = {name: fed.astype(np.float64) for name, fed in feed.items()}
    inference.plan(values, doubles, 2, averaged)
    assert {dtype for _, signature, _ in inference.sparse_plan.plans
            for _, _, dtype in signature} == {np.dtype(np.float32), np.dtype(np.float64)}


# --- decisions from the cost model --------------------------------------------------------

def test_decisions_follow_the_cost_model_and_only_the_unsure_are_measured(rng, monkeypatch,
                                                                         cpu):
    ratios = {"__conv_0__": 0.2, "__conv_1__": 3.0, "__fc_layer_1__": 1.0}
    layer_of = {}

    class Model(RatioModel):
        def predict(self, work, forward):
            return 1e-3 if forward == "dense" else 1e-3 * ratios[layer_of[work.weights]]

    out, parameters = pruned_network(rng, densities=(0.3, 0.2, 0.1, 0.9, 0.4))
    for name in ratios:   # each has one weight
        layer_of[parameters.get(f"_{name}.w0").size] = name
    measured = []

    def measure(dense, sparse, before=None):
        measured.append(True)
        return 1.0, 0.5, dense(), sparse()

    monkeypatch.setattr(calibration, "cost_model", lambda *needs: Model(1.0))
    monkeypatch.setattr(plans, "measure", measure)
    monkeypatch.setattr(plans, "TINY_MACS", 0)     # no layer is measured for its size
    rows = by_layer(paddle.sparse.plan(out, parameters, batch_size=2))
    assert (rows["__conv_0__"].choice, rows["__conv_0__"].predicted) == ("sparse", True)
    assert (rows["__conv_1__"].choice, rows["__conv_1__"].predicted) == ("dense", True)
    assert "density 0.727 > 0.5" in rows["__fc_layer_0__"].reason   # not predicted at all
    assert rows["__fc_layer_1__"].reason == "measured: sparse 0.50x the dense time"
    assert rows["__fc_layer_1__"].choice == "sparse" and not rows["__fc_layer_1__"].predicted
    assert len(measured) == 1
    paddle.sparse.plan(out, parameters, batch_size=2)
    assert len(measured) == 1                      # the verdict is kept for the process
    paddle.sparse.plan(out, parameters, batch_size=5)
    assert len(measured) == 2                      # another batch size: measured again


def test_small_layers_are_measured_and_the_measuring_has_a_budget(rng, monkeypatch, cpu):
    monkeypatch.setattr(calibration, "cost_model", lambda *needs: RatioModel(0.1))  # sparse
    measured = []

    def slow_measure(dense, sparse, before=None):
        measured.append(True)
        import time
        time.sleep(0.02)
        return 1.0, 2.0, dense(), sparse()

    monkeypatch.setattr(plans, "measure", slow_measure)
    out, parameters = pruned_network(rng)
    rows = by_layer(paddle.sparse.plan(out, parameters, batch_size=1))
    # every layer of this network is small: all measured, measured slower, so dense
    assert len(measured) == 4 and {d.choice for d in rows.values()} == {"dense"}
    plans.clear_measurements()
    measured.clear()
    monkeypatch.setattr(plans, "CONFIRM_BUDGET_S", 0.0)
    rows = by_layer(paddle.sparse.plan(out, parameters, batch_size=1))
    assert len(measured) == 1                      # the budget was spent by the first
    unmeasured = [d for d in rows.values() if d.predicted]
    assert len(unmeasured) == 3 and all(d.reason.endswith("(unsure; no time left to measure)")
                                        and d.choice == "sparse" for d in unmeasured)


def test_auto_results_equal_dense_with_a_real_measurement(rng, monkeypatch, cpu):
    monkeypatch.setattr(calibration, "cost_model", lambda *needs: RatioModel(1.0))  # unsure
    monkeypatch.setattr(plans, "CONFIRM_BUDGET_S", 60.0)
    out, parameters = pruned_network(rng)
    data = samples(rng, 3)
    plan = paddle.sparse.explain(out, parameters, data)
    assert all(d.reason.startswith("measured:") and d.dense_ms > 0 and d.sparse_ms > 0
               for d in plan.rows())
    np.testing.assert_allclose(paddle.infer(out, parameters, data, sparse="auto"),
                               paddle.infer(out, parameters, data, sparse=False),
                               rtol=1e-4, atol=1e-6)


# --- the calibration's cache file ---------------------------------------------------------

def quick_model(calls):
    """A stand-in for calibration.calibrate that counts its calls."""
    def calibrate(key=None, rng=None, kinds=None, regimes=None):
        calls.append(key)
        return CostModel({"fc/dense/one": [1e-5, 1e-3, 0.0, 0.0]}, key)
    return calibrate


def test_the_model_is_calibrated_once_saved_and_reused(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(calibration, "calibrate", quick_model(calls))
    first = calibration.cost_model()
    path = calibration.cache_path(calibration.machine())
    assert path.startswith(str(tmp_path / "cache" / "minidl"))
    assert len(calls) == 1 and os.path.exists(path)
    with open(path) as f:
        assert json.load(f)["machine"] == calibration.machine()
    assert calibration.cost_model() is first and len(calls) == 1      # memory
    calibration.forget()
    again = calibration.cost_model()                                  # the file
    assert len(calls) == 1 and again.terms == first.terms
    assert [n for n in os.listdir(os.path.dirname(path)) if n.endswith(".tmp")] == []


def test_each_kind_is_calibrated_when_a_plan_first_needs_it_and_kept(monkeypatch):
    calls = []

    def calibrate(key=None, rng=None, kinds=calibration.KINDS, regimes=None):
        calls.append(tuple(kinds))
        return CostModel({f"{k}/{f}/{r}": [1e-5, 1e-3, 0.0, 0.0] for k in kinds
                          for f in ("dense", "sparse") for r in ("one", "many")}, key)
    monkeypatch.setattr(calibration, "calibrate", calibrate)
    conv = calibration.cost_model(["conv"])
    assert calls == [("conv",)] and conv.covers("conv") and not conv.covers("fc")
    assert calibration.cost_model(["conv"]) is conv and len(calls) == 1
    both = calibration.cost_model(["conv", "fc"])                  # only fc is timed
    assert calls == [("conv",), ("fc",)] and both.covers("conv") and both.covers("fc")
    calibration.forget()
    again = calibration.cost_model(["fc"])                           # from the file
    assert len(calls) == 2 and again.terms == both.terms and not again.covers("recurrent")
    assert calibration.cost_model() is again and len(calls) == 2


def test_each_batch_regime_is_calibrated_when_a_plan_first_needs_it(monkeypatch, rng):
    """A plan at batch 1 times the layers at batch 1 only; a plan at batch 16 then adds
    the other regime and keeps the first."""
    calls = []

    def calibrate(key=None, rng=None, kinds=calibration.KINDS, regimes=None):
        calls.append((tuple(kinds), tuple(regimes)))
        return CostModel({f"{k}/{f}/{r}": [1e-5, 1e-3, 0.0, 0.0] for k in kinds
                          for f in ("dense", "sparse") for r in regimes}, key)
    monkeypatch.setattr(calibration, "calibrate", calibrate)
    out, parameters = pruned_network(rng)
    kinds = ("conv", "fc")
    paddle.sparse.plan(out, parameters, batch_size=1)
    assert calls == [(kinds, ("one",))]
    paddle.sparse.plan(out, parameters, batch_size=16)
    assert calls == [(kinds, ("one",)), (kinds, ("many",))]
    model = calibration.cost_model(kinds)
    assert model.covers("fc") and model.covers("conv") and len(calls) == 2
    paddle.sparse.plan(out, parameters, batch_size=1)                 # nothing more to time
    assert len(calls) == 2


@pytest.mark.parametrize("content", [b"{not json", b'{"terms": {"x": [1, 2]}}', b"\xff\xfe",
                                     b'{"terms": {}, "machine": {"cpu": "another"}}'],
                         ids=["truncated", "wrong form", "not text", "another machine"])
def test_a_corrupt_or_foreign_cache_file_is_recalibrated(monkeypatch, content):
    calls = []
    monkeypatch.setattr(calibration, "calibrate", quick_model(calls))
    path = calibration.cache_path(calibration.machine())
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as f:
        f.write(content)
    model = calibration.cost_model()
    assert len(calls) == 1 and model.knows("fc", "one") is False      # (only dense fitted)
    assert calibration.load(path, calibration.machine()).terms == model.terms   # replaced


def test_an_unwritable_cache_directory_keeps_the_model_in_memory(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(calibration, "calibrate", quick_model(calls))
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    with pytest.warns(RuntimeWarning, match="stays in memory"):
        model = calibration.cost_model()
    assert calibration.cost_model() is model and len(calls) == 1


def test_the_calibration_fits_every_kind_and_regime(cpu, capsys):
    model = calibration.calibrate()
    for kind in ("fc", "conv", "recurrent"):
        for regime in ("one", "many"):
            assert model.knows(kind, regime)
    work = Work("fc", 1, 1, 4096 * 4096, 4096 * 4096 // 100, 4096, 4096, 1, 2)
    assert model.predict(work, "sparse") < model.predict(work, "dense")   # 1 % of the work
    from minidl.sparse_inference import layout
    assert model.narrow_from in (layout.LEAVES_L2_NONZEROS, layout.STREAMED_NONZEROS)


# --- the model's fit ------------------------------------------------------------------------

def test_the_fit_recovers_known_terms_and_keeps_them_non_negative(rng):
    true = np.array([2e-5, 3e-4, 1e-4, 0.0])
    works = [Work("fc", rows, rows, int(w), int(w * d), 512, 256, 1, 2)
             for w in (1e4, 1e5, 1e6, 4e6) for d in (0.05, 0.3) for rows in (2, 16)]
    rows = np.array([features(w, "sparse") for w in works])
    fitted = fit_terms(rows, rows @ true)
    np.testing.assert_allclose(fitted, true, rtol=1e-6, atol=1e-12)
    # a negative least-squares term (time falling with work) is clipped, not kept
    noisy = fit_terms(rows[:, :], (rows @ true) * np.linspace(1.5, 0.5, len(rows)))
    assert np.all(noisy >= 0)


def test_a_saved_model_round_trips_and_rejects_bad_terms():
    model = CostModel({"fc/dense/one": [1e-5, 1e-3, 2e-4, 0.0]}, {"cpu": "x"}, 1 << 19)
    loaded = CostModel.from_json(json.loads(json.dumps(model.to_json())))
    assert (loaded.terms, loaded.narrow_from) == (model.terms, 1 << 19)
    for bad in ({"terms": {"a": [1, 2, 3, -1]}}, {"terms": {"a": [1, 2, float("nan"), 0]}},
                {"terms": []}, [], {"terms": {}, "narrow_from": -1},
                {"terms": {}, "narrow_from": True}, {"terms": {}, "narrow_from": "524288"}):
        with pytest.raises(ValueError, match="not a saved cost model"):
            CostModel.from_json(bad)
    # a calibration that did not probe the width keeps the probed one
    assert model.merged(CostModel({}, {"cpu": "x"})).narrow_from == 1 << 19
    assert model.merged(CostModel({}, {"cpu": "x"}, 7)).narrow_from == 7


# --- the column width of fc layouts ---------------------------------------------------------

@pytest.mark.parametrize("narrow_seconds, verdict", [(0.002, "narrow"), (0.0045, "wide")])
def test_the_width_probe_takes_uint16_columns_only_where_they_are_faster(
        monkeypatch, narrow_seconds, verdict):
    """A stand-in kernel that takes 4 ms with uint32 columns and ``narrow_seconds`` with
    uint16 ones: uint16 from the L2 bound when clearly faster, else the streamed bound."""
    import time

    from minidl.sparse_inference import column_width, layout

    def product(indptr, indices, values, x):
        time.sleep(narrow_seconds if indices.dtype == np.uint16 else 0.004)

    monkeypatch.setattr(column_width, "get_kernel", lambda name: product)
    monkeypatch.setattr(column_width, "PROBE_SHAPE", (64, 256))
    got = column_width.narrow_columns_from(np.random.default_rng(0), rounds=3, runs=2)
    assert got == (layout.LEAVES_L2_NONZEROS if verdict == "narrow"
                   else layout.STREAMED_NONZEROS)


def test_plans_build_fc_layouts_with_the_width_the_cost_model_found(rng, monkeypatch, cpu):
    """(``sparse='auto'`` plans: a forced ``sparse=True`` calibrates nothing and keeps the
    default width.)"""
    from minidl.sparse_inference import layout

    out, parameters = pruned_network(rng)
    monkeypatch.setattr(plans, "TINY_MACS", 0)     # nothing to measure: the model is sure
    widths = {}
    for narrow_from in (None, 0):
        model = RatioModel(0.1)
        model.narrow_from = narrow_from
        monkeypatch.setattr(calibration, "cost_model", lambda *needs, model=model: model)
        plans.clear_measurements()
        plan = paddle.sparse.plan(out, parameters, batch_size=1)
        kind, csr = plan.sparse["__fc_layer_0__"]
        widths[narrow_from] = {c.indices.dtype for c in csr}
        assert kind == "fc" and csr[0].nnz <= layout.STREAMED_NONZEROS
    assert widths == {None: {np.dtype(np.uint32)}, 0: {np.dtype(np.uint16)}}


# --- settling a plan on real batches ---------------------------------------------------------

def test_settling_keeps_the_fastest_variant_after_warm_ups(monkeypatch):
    from minidl.sparse_inference import settling
    clock = {"now": 0.0}
    monkeypatch.setattr(settling.time, "perf_counter", lambda: clock["now"])
    race = settling.Settling({"plan": dict, "sparse": dict, "dense": dict}, margin=0.95)
    cost = {"plan": 0.010, "sparse": 0.006, "dense": 0.020}
    order = []
    while race.verdict is None:
        name = race.next()
        order.append(name)
        first = order[-2:-1] != [name]                      # the first run of a block
        seconds = cost[name] * (5 if first else 1)                   # is slow
        clock["now"] += seconds
        race.record(name, seconds)
    # each variant as one block per round, in order, its warm-up (first run of each block
    # and QUIET_S) untimed
    blocks = [name for i, name in enumerate(order) if i == 0 or order[i - 1] != name]
    assert blocks == ["plan", "sparse", "dense"] * settling.ROUNDS
    assert all(order.count(name) == settling.ROUNDS * (settling.RUNS + 1) for name in cost)
    assert race.verdict == "sparse" and race.best["sparse"] == pytest.approx(0.006)
    assert race.next() == "sparse"
    assert "-> all candidates sparse" in race.describe()


def test_a_slow_spell_over_one_block_does_not_decide(monkeypatch):
    """The host slows everything 1.6x while the plan's first block runs: the second round
    times the plan again, and it stays the fastest."""
    from minidl.sparse_inference import settling
    clock = {"now": 0.0}
    monkeypatch.setattr(settling.time, "perf_counter", lambda: clock["now"])
    race = settling.Settling({"plan": dict, "sparse": dict, "dense": dict}, margin=0.95)
    cost = {"plan": 0.008, "sparse": 0.011, "dense": 0.010}
    while race.verdict is None:
        name = race.next()
        seconds = cost[name] * (1.6 if race.round == 0 and name == "plan" else 1)
        clock["now"] += seconds
        race.record(name, seconds)
    assert race.verdict == "plan" and race.best["plan"] == pytest.approx(0.008)


def test_settling_keeps_the_plan_unless_another_is_clearly_faster(monkeypatch):
    from minidl.sparse_inference import settling
    clock = {"now": 0.0}
    monkeypatch.setattr(settling.time, "perf_counter", lambda: clock["now"])
    race = settling.Settling({"plan": dict, "sparse": dict}, margin=0.95)
    while race.verdict is None:
        name = race.next()
        seconds = 0.010 if name == "plan" else 0.0098   # 2 % faster: within the margin
        clock["now"] += seconds
        race.record(name, seconds)
    assert race.verdict == "plan"


def test_real_batches_try_every_variant_then_run_the_verdict(rng, monkeypatch, cpu):
    """The same results under every variant; after settling the plan's table says which."""
    from minidl.sparse_inference import settling
    monkeypatch.setattr(calibration, "cost_model", lambda *needs: RatioModel(
        lambda work: 0.2 if work.kind == "conv" else 3.0))     # convs sparse, fcs dense
    monkeypatch.setattr(plans, "TINY_MACS", 0)
    monkeypatch.setattr(settling, "QUIET_S", 0.0)
    out, parameters = pruned_network(rng, densities=(0.3, 0.2, 0.1, 0.05, 0.4))
    data = samples(rng, 2)
    dense = paddle.infer(out, parameters, data, sparse=False)
    inference = paddle.inference.Inference(out, parameters, sparse="auto")
    fcs = count_kernel_calls(monkeypatch, "csr_matmul")
    for _ in range(settling.ROUNDS * 3 * (settling.RUNS + 1) + 1):
        np.testing.assert_allclose(inference.infer(data), dense, rtol=1e-4, atol=1e-6)
    assert fcs      # the all-sparse variant ran the fc layers through csr_matmul
    (plan,) = inference.sparse_plan.plans.values()
    assert plan.settling.verdict in ("plan", "sparse", "dense")
    assert "settled on real batches" in inference.sparse_plan.table()
