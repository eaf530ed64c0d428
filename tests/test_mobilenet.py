"""MobileNet v1 (``minidl.models.mobilenet``), its flowers training script with and without
dynamic pruning, and the design's ``depthwise_conv_bn_layer`` example."""

import importlib.util
import pathlib

import numpy as np
import pytest

import minidl as paddle
from minidl.core import Tensor, as_numpy, no_grad
from minidl.functions import conv_function
from minidl.layers.graph import Network, RunContext
from minidl.models.mobilenet import BLOCKS, image_layer, mobile_net

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _convs(network):
    return [layer for layer in network.layers if layer.type == "exconv"]


def test_the_paddle_definition_at_224():
    out = mobile_net(image_layer(224), class_dim=1000)
    network = Network(out)
    convs = _convs(network)
    assert len(convs) == 27                                  # stem + 13 x (depthwise, 1x1)
    stem, depthwise, pointwise = convs[0], convs[1::2], convs[2::2]
    assert (stem.filter_size, stem.stride, stem.image_shape) == ((3, 3), (2, 2), (32, 112, 112))
    for conv, (c_in, _, stride) in zip(depthwise, BLOCKS):
        assert conv.groups == c_in and conv.image_shape[0] == c_in
        assert conv.stride == (stride, stride) and conv.params[0].compute_shape == (c_in, 1, 3, 3)
    assert [conv.params[0].compute_shape for conv in pointwise] == [
        (c_out, c_in, 1, 1) for c_in, c_out, _ in BLOCKS]
    assert all(conv.bias is None for conv in convs)          # the batch norms carry the shift
    assert pointwise[-1].image_shape == (1024, 7, 7)
    pool = out.inputs[0]
    assert pool.image_shape == (1024, 1, 1) and pool.window == (7, 7)
    assert out.act.__class__.__name__ == "Softmax"
    assert convs[1].name == "__conv_1__" and out.name == "__fc_layer_0__"
    # the count Keras reports for MobileNet v1 (alpha 1, 224, 1000 classes, batch norm
    # moving statistics included): an independent check of every layer's shape
    assert sum(int(np.prod(spec.shape)) for spec in network.param_specs.values()) == 4_253_864


def test_width_multiplier_and_input_size():
    out = mobile_net(image_layer(64), class_dim=5, scale=0.25)
    convs = _convs(Network(out))
    assert [conv.image_shape[0] for conv in convs[::2]] == [8] + [
        int(c_out * 0.25) for _, c_out, _ in BLOCKS]
    assert convs[-1].image_shape == (256, 2, 2) and out.inputs[0].window == (2, 2)
    plain = paddle.layer.data("plain", paddle.data_type.dense_vector(3 * 96 * 96))
    assert _convs(Network(mobile_net(plain, 3, 0.5)))[-1].image_shape == (512, 3, 3)


@pytest.mark.parametrize("build, message", [
    (lambda: image_layer(100), "input_size=100 must be a positive multiple of 32"),
    (lambda: mobile_net(paddle.layer.data("x", paddle.data_type.dense_vector(3 * 48 * 48)), 2),
     "input_size=48 must be a positive multiple of 32"),
    (lambda: mobile_net(paddle.layer.data("x", paddle.data_type.dense_vector(3 * 32 * 64),
                                          height=32, width=64), 2), "is 32x64; expected a square"),
    (lambda: mobile_net(image_layer(32), 2, scale=0.01), "scale=0.01 must be > 0"),
])
def test_bad_inputs_are_named(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_forward_and_backward_run_the_depthwise_kernels(backend, xp, rng, monkeypatch):
    called = []
    real = conv_function.kernel
    monkeypatch.setattr(conv_function, "kernel", lambda op: called.append(op) or real(op))
    out = mobile_net(image_layer(32), class_dim=3, scale=0.25)
    network = Network(out)
    parameters = paddle.parameters.create(out)
    for name, spec in network.param_specs.items():
        if name.endswith(".w2"):       # moving variances: Paddle starts them at 0, use 1
            parameters.set(name, np.ones(spec.shape, dtype=np.float32))
    tensors = {name: Tensor(xp.asarray(parameters.value(name)).reshape(spec.compute_shape),
                            requires_grad=not spec.static)
               for name, spec in network.param_specs.items()}
    image = xp.asarray(rng.standard_normal((2, 3 * 32 * 32)).astype(np.float32))
    probabilities = network.forward({"image": image}, RunContext(tensors, is_train=True,
                                                                 rng=rng))[out.name]
    assert probabilities.shape == (2, 3)
    np.testing.assert_allclose(as_numpy(probabilities.data).sum(axis=1), 1, rtol=1e-5)
    probabilities.backward(xp.asarray(rng.standard_normal((2, 3)).astype(np.float32)))
    assert called.count("depthwise_conv2d_forward") == 13
    assert called.count("depthwise_conv2d_grad_input") == 13
    assert called.count("depthwise_conv2d_grad_filter") == 13
    for name, spec in network.param_specs.items():
        if not spec.static:
            assert np.all(np.isfinite(as_numpy(tensors[name].grad))), name
    with no_grad():
        test_output = network.forward({"image": image}, RunContext(tensors))[out.name]
    assert test_output.shape == (2, 3) and np.all(np.isfinite(as_numpy(test_output.data)))


def test_training_script_on_the_tiny_set_learns():
    costs = {}

    def record(event):
        if isinstance(event, paddle.event.EndIteration):
            costs.setdefault(event.pass_id, []).append(event.cost)

    # Paddle's learning rate (0.001 / batch) needs far more steps than a test can take
    accuracy, trainer = _example("mobilenet_flowers").main(
        tiny=True, passes=8, batch_size=8, learning_rate=0.001, event_handler=record,
        verbose=False)
    assert 0 <= accuracy <= 1
    first, last = np.mean(costs[0]), np.mean(costs[6] + costs[7])
    # the generated classes are easy: seeds 1-3 end at 0.3-0.5 of the first pass's cost
    assert np.isfinite(last) and last < 0.7 * first


def test_training_script_prunes_pointwise_convs_and_fc():
    accuracy, trainer = _example("mobilenet_flowers").main(
        tiny=True, prune=True, passes=3, inter_pass=1, end_pass=2, verbose=False)
    parameters = trainer.parameters
    sparsity = {name: 1 - np.count_nonzero(parameters.get(name)) / parameters.get(name).size
                for name in parameters.names()}
    # layer names: __conv_0__ the stem, then per block __conv_<odd>__ depthwise and
    # __conv_<even>__ the 1x1 conv
    pointwise = [f"___conv_{i}__.w0" for i in range(2, 27, 2)]
    assert len(pointwise) == 13
    for name in pointwise:            # floor(n * 0.25) weights kept, exactly zero elsewhere
        value = parameters.get(name)
        assert np.count_nonzero(value) == int(value.size * 0.25), name
    fc = parameters.get("___fc_layer_0__.w0")
    assert np.count_nonzero(fc) == int(fc.size * (1 - 0.8) + 1e-9)
    for name in ["___conv_0__.w0"] + [f"___conv_{i}__.w0" for i in range(1, 27, 2)]:
        assert sparsity[name] < 0.05, name                   # stem and depthwise: not pruned


def test_depthwise_conv_bn_layer_example():
    block, parameters, out = _example("depthwise_conv_bn_layer").main(channels=4, size=8)
    conv = block.inputs[0]
    assert conv.type == "depthwise_conv" and block.type == "batch_norm"
    assert conv.params[0].compute_shape == (8, 1, 3, 3) and conv.bias is None
    assert out.shape == (2, 8 * 4 * 4) and np.all(np.isfinite(out))
