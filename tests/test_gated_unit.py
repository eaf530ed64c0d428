"""gated_unit: v2's composite (two fc layers and a dotmul mixed layer) -- names, parameter
shapes, the attributes reaching the right sub-layer, the values against the closed form
``act(xW + b) * sigmoid(xV + c)``, gradients on plain and sequence inputs, a tiny training
run, and the errors."""

import numpy as np
import pytest

import minidl as paddle
from minidl.layers.attrs import ExtraAttr, ParamAttr
from minidl.layers.graph import Network, RunContext
from minidl.core import Tensor
from minidl.core.gradcheck import check_directional
from minidl.core.sequence import SequenceLayout

L = paddle.layer
dt = paddle.data_type


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def test_structure_names_and_parameters():
    x = L.data("x", dt.dense_vector(3))
    out = L.gated_unit(x, size=4)
    proj, gate = out.inputs
    assert out.name == "__gated_unit_layer_0___gated_act" and out.type == "mixed"
    assert out.size == 4 and out.params == []                 # the product has no bias
    assert (proj.name, proj.type, proj.size) == ("__gated_unit_layer_0___input_proj", "fc", 4)
    assert (gate.name, gate.type, gate.size) == ("__gated_unit_layer_0___gate", "fc", 4)
    assert isinstance(proj.act, paddle.activation.Linear)
    assert isinstance(gate.act, paddle.activation.Sigmoid)
    shapes = {spec.name: spec.shape for layer in (proj, gate) for spec in layer.params}
    assert shapes == {"___gated_unit_layer_0___input_proj.w0": (3, 4),
                      "___gated_unit_layer_0___input_proj.wbias": (1, 4),
                      "___gated_unit_layer_0___gate.w0": (3, 4),
                      "___gated_unit_layer_0___gate.wbias": (1, 4)}


def test_attributes_reach_their_sub_layers():
    x = L.data("x", dt.dense_vector(3))
    out = L.gated_unit(x, 2, act=paddle.activation.Tanh(), name="g",
                       gate_param_attr=ParamAttr(name="gate_w"), gate_bias_attr=False,
                       inproj_param_attr=ParamAttr(name="proj_w"), inproj_bias_attr=False,
                       gate_attr=ExtraAttr(drop_rate=0.1), inproj_attr=ExtraAttr(drop_rate=0.2),
                       layer_attr=ExtraAttr(drop_rate=0.3))
    proj, gate = out.inputs
    assert [s.name for s in proj.params] == ["proj_w"] and [s.name for s in gate.params] == \
        ["gate_w"]
    assert isinstance(proj.act, paddle.activation.Tanh)
    assert (proj.layer_attr.drop_rate, gate.layer_attr.drop_rate, out.layer_attr.drop_rate) == \
        (0.2, 0.1, 0.3)


def _run(out, feeds, params):
    network = Network([out])
    values = network.forward(feeds, RunContext(params))
    return values[out.name]


@pytest.mark.parametrize("lengths", [None, [2, 1, 3]])
def test_values_and_gradients_against_the_closed_form(rng, lengths):
    seq = lengths is not None
    x = L.data("x", dt.dense_vector_sequence(3) if seq else dt.dense_vector(3))
    out = L.gated_unit(x, 2, act=paddle.activation.Tanh(), name="g")
    layout = SequenceLayout.from_lengths(lengths) if seq else None
    xv = rng.standard_normal((6, 3))
    names = ["_g_input_proj.w0", "_g_input_proj.wbias", "_g_gate.w0", "_g_gate.wbias"]
    arrays = [rng.standard_normal((3, 2)), rng.standard_normal((1, 2)),
              rng.standard_normal((3, 2)), rng.standard_normal((1, 2))]
    w, b, v, c = arrays
    y = _run(out, {"x": Tensor(xv, seq=layout)},
             {name: Tensor(a) for name, a in zip(names, arrays)})
    np.testing.assert_allclose(y.data, np.tanh(xv @ w + b) * sigmoid(xv @ v + c), rtol=1e-12)
    assert y.seq == layout

    def fn(xt, *params):
        xt.seq = layout
        return _run(out, {"x": xt}, dict(zip(names, params)))

    check_directional(fn, xv, *arrays)


def test_gated_unit_trains():
    """Learns ``y = x0 * sigmoid(x1)``-like targets: the cost falls by an order of magnitude."""
    paddle.init(use_gpu=False, trainer_count=1, seed=2)
    x = L.data("x", dt.dense_vector(2))
    target = L.data("t", dt.dense_vector(1))
    out = L.gated_unit(x, 1, name="glu")
    cost = L.square_error_cost(input=out, label=target)
    parameters = paddle.parameters.create(cost)
    assert parameters.get_shape("_glu_gate.w0") == (2, 1)
    rng = np.random.default_rng(4)
    inputs = rng.standard_normal((64, 2)).astype(np.float32)
    samples = [(v, [v[0] * sigmoid(2 * v[1])]) for v in inputs]
    costs = []
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Adam(learning_rate=0.05))
    trainer.train(paddle.batch(lambda: iter(samples), 16), num_passes=60,
                  event_handler=lambda e: costs.append(e.cost)
                  if isinstance(e, paddle.event.EndIteration) else None)
    assert np.mean(costs[-4:]) < 0.1 * np.mean(costs[:4])


def test_errors():
    x = L.data("x", dt.dense_vector(3))
    with pytest.raises(ValueError, match=r"layer g \(gated_unit\): input must be one layer"):
        L.gated_unit([x], 2, name="g")
    with pytest.raises(ValueError, match=r"layer g \(gated_unit\): size=0 must be a positive "
                                         r"integer"):
        L.gated_unit(x, 0, name="g")
    from minidl.layers.base import build_listeners
    built = []
    build_listeners.append(built.append)
    try:
        with pytest.raises(ValueError, match=r"layer g \(gated_unit\): gate_param_attr must be a "
                                             r"ParamAttr, None or False, got 'w'"):
            L.gated_unit(x, 2, name="g", gate_param_attr="w")
        with pytest.raises(ValueError, match=r"layer g: layer_attr must be an ExtraAttr"):
            L.gated_unit(x, 2, name="g", layer_attr=0.5)
    finally:
        build_listeners.remove(built.append)
    assert built == []          # refused before any sub-layer was built
