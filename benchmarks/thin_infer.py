"""What ``paddle.infer`` costs beyond the network's forward, for inputs of 1 MB and more.

    python benchmarks/thin_infer.py [--repeats 9]

For each network and batch: ``forward`` times ``Network.forward`` alone on a batch already
converted to arrays, with the parameter Tensors made once (the kernels and the layers'
glue); ``infer`` times the whole public call, ``paddle.infer(output, parameters,
input=samples)`` with the samples as a list of tuples of NumPy arrays (feeding conversion,
parameter lookup, the topology walk, gathering the results). ``overhead`` = infer / forward
- 1. Target: at most 10 % from 1 MB of input on. Medians, ms, alternating blocks.
"""

import argparse

import numpy as np
from timing import rounds_ms

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


def steps(out, parameters, size, batch, rng):
    samples = [(rng.standard_normal(size).astype(np.float32),) for _ in range(batch)]
    network = Network([out])
    values, _ = _inference_values(parameters, network.param_specs)
    feed = Feeder(network.data_layers)(samples)

    def forward():
        with no_grad():
            return network.forward(feed, RunContext(values), upto=[out])

    def infer():
        return paddle.infer(output_layer=out, parameters=parameters, input=samples)

    return {"forward": forward, "infer": infer}, batch * size * 4


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    paddle.init(sparse=False)
    rng = np.random.default_rng(0)
    print("| network | batch | input MB | forward | infer | overhead |")
    print("|---|---|---|---|---|---|")
    for label, build, batches in (("MobileNet v1 224", mobilenet, (2, 8)),
                                  ("VGG-16 CIFAR", vgg_cifar, (128, 512))):
        out, parameters, size = build()
        for batch in batches:
            timed, nbytes = steps(out, parameters, size, batch, rng)
            ms = rounds_ms(timed, args.repeats)
            print(f"| {label} | {batch} | {nbytes / 1e6:.1f} | {ms['forward']:.2f} | "
                  f"{ms['infer']:.2f} | {ms['infer'] / ms['forward'] - 1:+.1%} |")


if __name__ == "__main__":
    main()
