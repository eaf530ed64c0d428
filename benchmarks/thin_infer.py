"""What ``paddle.infer`` costs beyond the network's forward, for inputs of 1 MB and more.

    python benchmarks/thin_infer.py [--rounds 3] [--seconds 2]

For each network and batch: ``forward`` times ``Network.forward`` alone on a batch already
converted to arrays, with the parameter Tensors made once (the kernels and the layers'
glue), as inference runs it (each batch norm folded into its convolution's kernel);
``infer`` times the whole public call, ``paddle.infer(output, parameters,
input=samples)`` with the samples as a list of tuples of NumPy arrays (feeding conversion,
parameter lookup, the topology walk, gathering the results): separate arrays, or for the
depthwise layer the rows of one array (a dataset array's rows, fed without a copy).
``extra us``: the median over pairs of runs (infer, then forward, back to back) of
infer - forward, microseconds; ``overhead`` = extra / forward. Target: at most 10 % from
1 MB of input on. The MLP rows (784-128-64-10, MNIST-sized) show the fixed cost of a call
where the forward itself is short. Medians, ms, of the middle one of ``--rounds`` rounds
(ranked by extra).
"""

import argparse

import numpy as np
from timing import paired_ms

import minidl as paddle
from minidl.core import no_grad
from minidl.layers.base import reset_names
from minidl.layers.graph import Network, RunContext
from minidl.models.mobilenet import image_layer, mobile_net
from minidl.training.feeding import Feeder
from minidl.training.inference import _inference_values


def mobilenet():
    reset_names()
    out = mobile_net(image_layer(224), 102)
    parameters = paddle.parameters.create(out)
    for name in parameters.names():         # moving variances of 1, as after training
        if name.endswith(".w2"):
            parameters.set(name, np.ones(parameters.get_shape(name), np.float32))
    return out, parameters, 3 * 224 * 224


def vgg_cifar():
    reset_names()
    image = paddle.layer.data("image", paddle.data_type.dense_vector(3 * 32 * 32),
                              height=32, width=32)
    net = paddle.networks.vgg_16_network(image, num_channels=3, num_classes=10)
    return net, paddle.parameters.create(net), 3 * 32 * 32


def mlp():
    reset_names()
    image = paddle.layer.data("pixel", paddle.data_type.dense_vector(784))
    hidden = paddle.layer.fc(image, size=128, act=paddle.activation.Relu())
    hidden = paddle.layer.fc(hidden, size=64, act=paddle.activation.Relu())
    out = paddle.layer.fc(hidden, size=10, act=paddle.activation.Softmax())
    return out, paddle.parameters.create(out), 784


def depthwise_layer():
    """One cheap layer with a large output: MobileNet's 128-channel 56x56 depthwise
    convolution (its output, 1.6 MB a sample, is what ``infer`` returns)."""
    reset_names()
    image = paddle.layer.data("image", paddle.data_type.dense_vector(128 * 56 * 56),
                              height=56, width=56)
    conv = paddle.layer.img_conv(image, filter_size=3, num_filters=128, groups=128,
                                 padding=1, bias_attr=False, act=paddle.activation.Linear())
    return conv, paddle.parameters.create(conv), 128 * 56 * 56


def steps(out, parameters, size, batch, rng, one_array=False):
    """``one_array``: the samples are the rows of one array (a reader of a dataset array),
    which is fed as it is; otherwise separate arrays, stacked into the batch (one copy)."""
    if one_array:
        rows = rng.standard_normal((batch, size)).astype(np.float32)
        samples = [(row,) for row in rows]
    else:
        samples = [(rng.standard_normal(size).astype(np.float32),) for _ in range(batch)]
    network = Network([out])
    values, _ = _inference_values(parameters, network.param_specs)
    feed = Feeder(network.data_layers)(samples)

    def forward():
        ctx = RunContext(values)
        ctx.fold_batch_norm = True          # as Inference.run asks for it
        with no_grad():
            return network.forward(feed, ctx)

    def infer():
        return paddle.infer(output_layer=out, parameters=parameters, input=samples)

    return {"forward": forward, "infer": infer}, batch * size * 4


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="seconds of pairs per round")
    args = parser.parse_args()
    paddle.init(sparse=False)
    rng = np.random.default_rng(0)
    print("| network | batch | input MB | forward | infer | overhead | extra us |")
    print("|---|---|---|---|---|---|---|")
    for label, build, batches, one_array in (
            ("MLP 784-128-64-10", mlp, (1, 16), False),
            ("MobileNet v1 224", mobilenet, (2, 8), False),
            ("VGG-16 CIFAR", vgg_cifar, (128, 512), False),
            ("depthwise 128x56x56 layer, rows of one array", depthwise_layer, (1, 8), True)):
        out, parameters, size = build()
        for batch in batches:
            timed, nbytes = steps(out, parameters, size, batch, rng, one_array)
            rounds = sorted((paired_ms(timed["infer"], timed["forward"], args.seconds)
                             for _ in range(args.rounds)), key=lambda measured: measured[2])
            infer, forward, extra = rounds[len(rounds) // 2]
            print(f"| {label} | {batch} | {nbytes / 1e6:.3g} | {forward:.3f} | {infer:.3f} | "
                  f"{extra / forward:+.1%} | {1e3 * extra:.0f} |", flush=True)


if __name__ == "__main__":
    main()
