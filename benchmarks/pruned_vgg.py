"""A pruned VGG-16 (CIFAR variant, 32x32) end to end: minidl dense vs sparse vs PyTorch dense.

Sparsities as in the pruning hooks' VGG-16 recipe: the first two convs 0.5, the other
eleven 0.8, the three fc layers 0.99, each weight magnitude-pruned. ``paddle.infer``-style
batches of 1 and 16 through ``paddle.inference.Inference`` with ``sparse=False``,
``'auto'`` and ``True`` (all fc/conv layers sparse), and the same network and weights in
PyTorch (``torch.nn`` dense, no_grad). Each: the best of three rounds of a block (median of
several runs after quiet and warm-up, ``timing.rounds_ms``), 'auto' once its plan has
settled on real batches (the calls that took are printed); the 'auto' plan of each batch
size is printed (which layers ran sparse, and the predicted or measured times).

    python benchmarks/pruned_vgg.py [--repeats 9]

Unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for this command where the machine sets them.
"""

import argparse
import sys

import numpy as np
from sparse_common import machine, magnitude_pruned, optional, rounds_ms

import minidl as paddle
from minidl.backends import set_backend
from minidl.models.networks import vgg_16_network


def pruned_vgg(rng):
    """The network, its pruned Parameters, and the weights in order (for PyTorch)."""
    img = paddle.layer.data("img", paddle.data_type.dense_vector(3 * 32 * 32), height=32,
                            width=32)
    out = vgg_16_network(img, num_channels=3, num_classes=10)
    parameters = paddle.parameters.create(out)
    convs = [n for n in parameters.names() if n.startswith("___conv") and n.endswith(".w0")]
    fcs = [n for n in parameters.names() if n.startswith("___fc") and n.endswith(".w0")]
    assert len(convs) == 13 and len(fcs) == 3, (convs, fcs)
    for i, name in enumerate(convs + fcs):
        sparsity = 0.5 if i < 2 else 0.8 if i < 13 else 0.99
        parameters.set(name, magnitude_pruned(parameters.get(name), sparsity))
    for name in parameters.names():
        if name.endswith("wbias"):
            shape = parameters.get_shape(name)
            parameters.set(name, (rng.standard_normal(shape) * 0.01).astype(np.float32))
    return out, parameters, convs, fcs


def torch_vgg(torch, parameters, convs, fcs):
    """The same network in torch.nn with the same weights."""
    nn = torch.nn
    layers, channels = [], 3
    for i, name in enumerate(convs):
        w = parameters.get(name).reshape(-1, channels, 3, 3)
        conv = nn.Conv2d(channels, w.shape[0], 3, padding=1)
        conv.weight.data = torch.from_numpy(w)
        conv.bias.data = torch.from_numpy(parameters.get(name[:-3] + ".wbias").reshape(-1))
        layers += [conv, nn.ReLU()]
        if i in (1, 3, 6, 9, 12):
            layers.append(nn.MaxPool2d(2, 2))
        channels = w.shape[0]
    layers.append(nn.Flatten())
    for i, name in enumerate(fcs):
        w = parameters.get(name)
        fc = nn.Linear(*w.shape)
        fc.weight.data = torch.from_numpy(np.ascontiguousarray(w.T))
        fc.bias.data = torch.from_numpy(parameters.get(name[:-3] + ".wbias").reshape(-1))
        layers += [fc, nn.ReLU() if i < 2 else nn.Softmax(dim=1)]
    return nn.Sequential(*layers).eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    set_backend("cpu")
    torch = optional("torch")
    print(machine())
    rng = np.random.default_rng(0)
    out, parameters, convs, fcs = pruned_vgg(rng)
    model = torch_vgg(torch, parameters, convs, fcs) if torch is not None else None
    inferences = {mode: paddle.inference.Inference(out, parameters, sparse=mode)
                  for mode in (False, "auto", True)}
    print(f"best of 3 rounds of a block (median of {args.repeats} runs), ms\n")
    print("| batch | minidl dense | minidl auto | minidl all sparse | torch dense "
          "| dense / auto | torch / auto |")
    print("|---|---|---|---|---|---|---|")
    plans = {}
    for batch in (1, 16):
        images = rng.standard_normal((batch, 3 * 32 * 32)).astype(np.float32)
        print(row(images, inferences, model, torch, args.repeats), flush=True)
        plans[batch] = inferences["auto"].sparse_plan.table(batch)
    for batch, plan in plans.items():
        print(f"\n'auto' plan at batch {batch}:\n{plan}")


def settle(inference, samples, limit=500):
    """Run 'auto' on ``samples`` until its plan has settled (its first real batches try
    the plan's variants); the number of calls it took. The table then times the steady
    state a serving process reaches."""
    for calls in range(1, limit + 1):
        inference.infer(samples)
        plans = inference.sparse_plan.plans.values()
        if all(p.settling is None or p.settling.verdict is not None for p in plans):
            return calls
    return limit


def row(images, inferences, model, torch, repeats):
    """One table row: the three minidl modes and PyTorch on ``images``, results checked."""
    batch = len(images)
    samples = [(image,) for image in images]
    results = {mode: inference.infer(samples) for mode, inference in inferences.items()}
    for mode in ("auto", True):
        np.testing.assert_allclose(results[mode], results[False], rtol=1e-3, atol=1e-5)
    settled_after = settle(inferences["auto"], samples)
    print(f"(batch {batch}: 'auto' settled after {settled_after} calls)", file=sys.stderr)
    steps = {mode: (lambda i=inference: i.infer(samples))
             for mode, inference in inferences.items()}
    if model is not None:
        timages = torch.from_numpy(images.reshape(batch, 3, 32, 32))

        def torch_step():
            with torch.no_grad():
                return model(timages).numpy()
        # the same weights (not the same rounding: 16 layers of another summation order)
        np.testing.assert_allclose(torch_step(), results[False], rtol=1e-2, atol=1e-4)
        steps["torch"] = torch_step
    # three rounds of one block per setting, each setting's best block: a slow spell of the
    # shared machine then hits one block of each setting, not one setting's only block
    times = rounds_ms(steps, repeats)
    if model is not None:
        theirs = f"{times['torch']:.2f} | {times[False] / times['auto']:.2f}x | " \
                 f"{times['torch'] / times['auto']:.2f}x"
    else:
        theirs = f"- | {times[False] / times['auto']:.2f}x | -"
    return (f"| {batch} | {times[False]:.2f} | {times['auto']:.2f} | {times[True]:.2f} | "
            f"{theirs} |")

if __name__ == "__main__":
    main()
