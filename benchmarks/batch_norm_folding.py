"""What folding each batch norm into its convolution saves at inference.

    python benchmarks/batch_norm_folding.py [--seconds 3]

For MobileNet v1 (224x224, 102 classes; 27 convolution + batch norm pairs) and the CIFAR VGG
of Paddle's book (``networks.small_vgg``; 10 pairs, with the batch norms' dropout), the
forward pass as ``Inference`` runs it (``RunContext.fold_batch_norm``: each pair one
``conv2d_batch_norm_act`` kernel) against the same forward unfolded (the convolution, then
the batch norm's own pass), on the ``cpu`` backend with moving statistics that are not
their initial values. Then the CIFAR VGG with every convolution magnitude-pruned to 0.8
and run sparse (``sparse=True``'s plan): folded, each batch norm's map goes into its
convolution's weights and bias. The two run in alternating short blocks
(``timing.short_blocks``): medians of the blocks, ms, and the median ratio of consecutive
blocks.
"""

import argparse

import numpy as np
from sparse_common import magnitude_pruned
from timing import short_blocks

import minidl as paddle
from minidl.backends import set_backend
from minidl.core import no_grad
from minidl.layers.base import reset_names
from minidl.layers.graph import Network, RunContext
from minidl.models.mobilenet import image_layer, mobile_net
from minidl.models.networks import small_vgg


def mobilenet():
    return mobile_net(image_layer(224), 102), 3 * 224 * 224


def cifar_vgg():
    image = paddle.layer.data("image", paddle.data_type.dense_vector(3 * 32 * 32),
                              height=32, width=32)
    return small_vgg(image, 3, 10), 3 * 32 * 32


def forwards(out, size, batch, rng, pruned=None):
    """``(folded step, unfolded step)`` of ``out``'s forward on one batch; with ``pruned``,
    every convolution magnitude-pruned to that sparsity and run sparse."""
    parameters = paddle.parameters.create(out)
    network = Network(out)
    for name in parameters.names():
        shape = parameters.get_shape(name)
        if name.endswith(".w2"):                       # moving variance
            parameters.set(name, rng.uniform(0.5, 1.5, shape).astype(np.float32))
        elif name.endswith(".w1"):                     # moving mean
            parameters.set(name, (rng.standard_normal(shape) * 0.1).astype(np.float32))
    if pruned:
        for pair in network.foldable.values():
            name = pair.conv.weight.name
            parameters.set(name, magnitude_pruned(parameters.get(name), pruned))
    inference = paddle.inference.Inference(out, parameters, sparse=bool(pruned))
    values = inference.parameter_values()[0]
    feed = {"image": rng.standard_normal((batch, size)).astype(np.float32)}
    plan = inference.plan(values, feed, batch) if pruned else None

    def step(fold):
        ctx = RunContext(values)
        ctx.sparse_plan = plan
        ctx.fold_batch_norm = fold
        with no_grad():
            return network.forward(feed, ctx)[out.name].data

    np.testing.assert_allclose(step(True), step(False), rtol=1e-3, atol=1e-5)
    return (lambda: step(True)), (lambda: step(False)), len(network.foldable) // 2


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    set_backend("cpu")
    rng = np.random.default_rng(0)
    print("| network | batch | pairs | folded | unfolded | folded / unfolded |")
    print("|---|---|---|---|---|---|")
    for label, build, batches, pruned in (
            ("MobileNet v1 224", mobilenet, (1, 8, 32), None),
            ("CIFAR VGG (book)", cifar_vgg, (1, 16), None),
            ("CIFAR VGG (book), convolutions pruned to 0.8, run sparse", cifar_vgg, (1, 16),
             0.8)):
        for batch in batches:
            reset_names()
            out, size = build()
            folded, unfolded, pairs = forwards(out, size, batch, rng, pruned)
            ours, theirs, ratio = short_blocks(folded, unfolded, args.seconds)
            print(f"| {label} | {batch} | {pairs} | {ours:.2f} | {theirs:.2f} | {ratio:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
