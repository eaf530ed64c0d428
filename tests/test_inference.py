"""paddle.infer on the real Paddle tarball, output fields, topology files, plots, progress."""

import io
import json
import os

import numpy as np
import pytest

import minidl as paddle

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "paddle_v2", "fit_a_line.tar")


def _fit_a_line():
    x = paddle.layer.data(name="x", type=paddle.data_type.dense_vector(13))
    return paddle.layer.fc(input=x, size=1, act=paddle.activation.Linear())


def test_real_tarball_predicts_x_dot_w_plus_b():
    y = _fit_a_line()
    with open(FIXTURE, "rb") as f:
        parameters = paddle.parameters.Parameters.from_tar(f)
    w = parameters.get("___fc_layer_0__.w0")[:, 0].astype(np.float64)
    b = float(parameters.get("___fc_layer_0__.wbias")[0, 0])
    assert b == pytest.approx(22.632673)
    xs = np.random.default_rng(0).standard_normal((6, 13)).astype(np.float32)
    predicted = paddle.infer(output_layer=y, parameters=parameters, input=[(x,) for x in xs])
    assert predicted.shape == (6, 1)
    np.testing.assert_allclose(predicted[:, 0], xs @ w + b, rtol=1e-5)


def test_fields_and_several_outputs():
    x = paddle.layer.data("x", paddle.data_type.dense_vector(4))
    hidden = paddle.layer.fc(input=x, size=5, act=paddle.activation.Tanh())
    prob = paddle.layer.fc(input=hidden, size=3, act=paddle.activation.Softmax())
    cost = paddle.layer.classification_cost(
        input=prob, label=paddle.layer.data("label", paddle.data_type.integer_value(3)))
    parameters = paddle.parameters.create(cost)
    samples = [(np.random.default_rng(i).standard_normal(4),) for i in range(7)]
    values = paddle.infer(output_layer=prob, parameters=parameters, input=samples)
    ids = paddle.infer(output_layer=prob, parameters=parameters, input=samples, field="id")
    np.testing.assert_array_equal(ids, values.argmax(axis=1))
    np.testing.assert_allclose(values.sum(axis=1), 1.0, rtol=1e-5)
    both = paddle.infer(output_layer=[hidden, prob], parameters=parameters, input=samples)
    assert [a.shape for a in both] == [(7, 5), (7, 3)]
    pair = paddle.infer(output_layer=prob, parameters=parameters, input=samples,
                        field=["value", "id"])
    np.testing.assert_array_equal(pair[1], ids)
    with pytest.raises(ValueError, match="field 'prob'"):
        paddle.infer(output_layer=prob, parameters=parameters, input=samples, field="prob")
    with pytest.raises(ValueError, match="expects a vector of 4 values"):
        paddle.infer(output_layer=prob, parameters=parameters, input=[(np.ones(3),)])


def test_batches_are_gathered_and_the_callers_code_keeps_gradients():
    """``batch_size`` runs the input in batches whose outputs are concatenated in order;
    between the batches of ``iter_infer`` the caller's own code records gradients."""
    from minidl.core import config
    x = paddle.layer.data("x", paddle.data_type.dense_vector(4))
    prob = paddle.layer.fc(input=x, size=3, act=paddle.activation.Softmax())
    parameters = paddle.parameters.create(prob)
    samples = [(np.random.default_rng(i).standard_normal(4),) for i in range(7)]
    inference = paddle.inference.Inference(prob, parameters)
    whole = inference.infer(samples, field=["value", "id"])
    parts = inference.infer(samples, field=["value", "id"], batch_size=3)
    np.testing.assert_allclose(parts[0], whole[0], rtol=1e-5)
    np.testing.assert_array_equal(parts[1], whole[1])
    modes = [config.grad_enabled for _ in inference.iter_infer(samples, batch_size=3)]
    assert modes == [True, True, True]


def test_topology_serialises_to_json_without_code():
    y = _fit_a_line()
    buffer = io.BytesIO()
    paddle.topology.Topology(y).serialize_for_inference(buffer)
    described = json.loads(buffer.getvalue())
    assert [layer["name"] for layer in described["layers"]] == ["x", "__fc_layer_0__"]
    assert described["layers"][1]["params"][0] == {"name": "___fc_layer_0__.w0",
                                                   "shape": [13, 1]}
    buffer.seek(0)
    assert paddle.topology.load_description(buffer)["outputs"] == ["__fc_layer_0__"]
    assert paddle.topology.Topology(y).data_type()[0][0] == "x"


def test_ploter_collects_and_draws(tmp_path):
    ploter = paddle.plot.Ploter("train", "test")
    for step in range(5):
        ploter.append("train", step, 1.0 / (step + 1))
    with pytest.raises(ValueError, match="no curve 'valid'"):
        ploter.append("valid", 0, 1.0)
    pytest.importorskip("matplotlib")
    ploter.plot(tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 0


def test_progress_handler_prints_cost_and_metrics():
    stream = io.StringIO()
    bar = paddle.progress.ProgressBar(stream=stream, log_every=1)
    bar._tqdm = None                         # the plain-line fallback
    bar(paddle.event.BeginPass(0))
    bar(paddle.event.EndIteration(0, 0, 0.5, {"classification_error_evaluator": 0.25}))
    bar(paddle.event.EndPass(0, {"classification_error_evaluator": 0.2}))
    text = stream.getvalue()
    assert "cost=0.5000 classification_error_evaluator=0.2500" in text
    assert "pass 0 done classification_error_evaluator=0.2000" in text


def _aliasing_outputs():
    """Layers whose outputs alias what lives on after a call: the fed input itself, a
    parameter's live array, and another output."""
    from minidl.core import Tensor
    from minidl.layers.base import Layer

    class Same(Layer):
        type = "same"

        def forward(self, ctx, xs):
            return xs[0]

    class Weight(Layer):
        type = "weight"

        def __init__(self, input):
            super().__init__("weight_out", [input], 3_000)
            self.weight = self.add_param("w0", (1, 3_000), paddle.attr.ParamAttr())

        def forward(self, ctx, xs):
            return ctx.param(self.weight)

    class Doubled(Layer):
        type = "doubled"

        def forward(self, ctx, xs):
            return Tensor(xs[0].data * 2)      # memory of its own, writeable

    x = paddle.layer.data("x", paddle.data_type.dense_vector(3_000))
    same = Same("same", [x], 3_000)
    doubled = Doubled("doubled", [x], 3_000)
    return [x, same, Same("same_again", [same], 3_000), Weight(x), doubled,
            Same("doubled_again", [doubled], 3_000)]


def test_outputs_are_the_callers_own_arrays():
    """A single batch's output may be returned without a copy, but never one that the
    caller's input, a parameter or another returned output also holds."""
    outputs = _aliasing_outputs()
    parameters = paddle.parameters.create(outputs)
    sample = np.arange(3_000, dtype=np.float32)
    kept = parameters.get("_weight_out.w0").copy()
    results = paddle.infer(output_layer=outputs, parameters=parameters, input=[(sample,)])
    np.testing.assert_array_equal(results[-1], 2 * sample[None])
    for i, result in enumerate(results):
        assert result.flags.writeable and not np.shares_memory(result, sample)
        assert not any(np.shares_memory(result, other) for other in results[i + 1:])
        result[...] = -1.0
    np.testing.assert_array_equal(sample, np.arange(3_000, dtype=np.float32))
    np.testing.assert_array_equal(parameters.get("_weight_out.w0"), kept)



@pytest.mark.parametrize("index", range(6))
def test_a_single_output_is_the_callers_own_array(index):
    """The same for each of those outputs asked for alone (one sample, one output: the
    short way of ``Inference._infer_in_place``), fed as one sample and as a batch of two."""
    outputs = _aliasing_outputs()
    parameters = paddle.parameters.create(outputs)
    sample = np.arange(3_000, dtype=np.float32)
    kept = parameters.get("_weight_out.w0").copy()
    for input in ([(sample,)], [(sample,)] * 2):
        result = paddle.infer(output_layer=outputs[index], parameters=parameters, input=input)
        assert result.flags.writeable and not np.shares_memory(result, sample)
        result[...] = -1.0
        np.testing.assert_array_equal(sample, np.arange(3_000, dtype=np.float32))
        np.testing.assert_array_equal(parameters.get("_weight_out.w0"), kept)

def test_a_fresh_output_is_returned_as_the_forward_made_it(monkeypatch):
    """No copy of a convolution's output (1.6 MB at batch 1: the copy costs as much as a
    fast layer): the array returned is the one the forward computed."""
    from minidl.layers.graph import Network
    made = []
    forward = Network.forward
    monkeypatch.setattr(Network, "forward", lambda self, feed, ctx: made.append(
        forward(self, feed, ctx)) or made[-1])
    image = paddle.layer.data("image", paddle.data_type.dense_vector(16 * 64 * 64),
                              height=64, width=64)
    conv = paddle.layer.img_conv(image, filter_size=3, num_filters=100, num_channels=16,
                                 padding=1, act=paddle.activation.Relu())
    parameters = paddle.parameters.create(conv)
    sample = np.random.default_rng(0).standard_normal(16 * 64 * 64).astype(np.float32)
    out = paddle.infer(output_layer=conv, parameters=parameters, input=[(sample,)])
    assert out.shape == (1, 100 * 64 * 64) and np.shares_memory(out, made[0][conv.name].data)
    batch = paddle.infer(output_layer=conv, parameters=parameters, input=[(sample,)] * 2)
    assert np.shares_memory(batch, made[1][conv.name].data)    # the general path too


@pytest.mark.parametrize("act", ["Relu", "Tanh", "Softmax", "Linear", "Sigmoid"])
def test_inference_without_a_graph_computes_what_the_graph_does(act, monkeypatch):
    """Under no_grad, fc layers and activations skip the Functions' bookkeeping; the values
    are the same, bit for bit (the same kernels in the same order)."""
    from minidl.core import Tensor, no_grad, tensor
    from minidl.functions import activation
    from minidl.layers.graph import Network, RunContext
    a = paddle.layer.data("a", paddle.data_type.dense_vector(7))
    b = paddle.layer.data("b", paddle.data_type.dense_vector(5))
    both = paddle.layer.fc(input=[a, b], size=6, act=getattr(paddle.activation, act)())
    top = paddle.layer.fc(input=both, size=4, bias_attr=False,
                          act=getattr(paddle.activation, act)())
    parameters = paddle.parameters.create(top)
    network = Network([top])
    rng = np.random.default_rng(1)
    feed = {"a": rng.standard_normal((3, 7)).astype(np.float32),
            "b": rng.standard_normal((3, 5)).astype(np.float32)}
    values = {name: Tensor(parameters.get(name).reshape(spec.compute_shape))
              for name, spec in network.param_specs.items()}
    recorded = network.forward(feed, RunContext(values))
    calls = []
    for function in (tensor.MatMul, tensor.Add, activation.Activation):
        monkeypatch.setattr(function, "__call__", lambda *a, **k: calls.append(a))
    with no_grad():
        plain = network.forward(feed, RunContext(values))
    assert calls == []      # no Function ran
    for layer in (both, top):
        assert plain[layer.name].creator is None
        assert np.array_equal(plain[layer.name].data, recorded[layer.name].data)


def test_device_values_never_hold_a_host_output():
    """On the GPU backend the parameter values are device arrays: outputs reach the host as
    copies, so those values are not compared with them (NumPy could not)."""
    from minidl.training.held_memory import HeldMemory

    class DeviceArray:          # as a CuPy view: a base of its kind, no implicit copy
        def __init__(self, base=None):
            self.base = base

        def __array__(self, *args, **kwargs):
            raise TypeError("Implicit conversion to a NumPy array is not allowed")

    weight = np.zeros((4, 3), dtype=np.float32)
    memory = HeldMemory([DeviceArray(DeviceArray()), weight.reshape(-1)])
    assert memory.free(np.ones(3, dtype=np.float32), [])
    assert not memory.free(weight[1], [])
