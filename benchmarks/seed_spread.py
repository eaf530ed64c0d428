"""How much the book's digits script varies with the seed, beside PyTorch.

For each seed, ``examples/mnist.py`` (the book's convolutional network, Momentum 0.1/128,
momentum 0.9, L2 0.0005*128, batch 128, 5 passes over the 4,000 shipped training digits)
trains under minidl; PyTorch then trains the same network from the same initial weights on
the same batches in the same order, with the same update rule (Paddle's momentum step on
gradients summed over the batch equals ``torch.optim.SGD(lr, momentum, weight_decay)`` on
a summed loss). Both report accuracy on the 1,000 shipped test digits.

    python benchmarks/seed_spread.py [--seeds 10 --passes 5]
"""

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np
from sparse_common import machine

import minidl as paddle
from minidl.layers.base import reset_names


def load_mnist_example():
    path = Path(__file__).resolve().parent.parent / "examples" / "mnist.py"
    spec = importlib.util.spec_from_file_location("mnist_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def recording_batch(batches):
    """``paddle.batch`` that also records every training minibatch it yields."""
    original = paddle.batch

    def batch(reader, batch_size, drop_last=True):
        batched = original(reader, batch_size, drop_last)
        if batch_size != 128 or not drop_last:   # the test reader is not recorded
            return batched

        def recorded():
            for minibatch in batched():
                batches.append(minibatch)
                yield minibatch
        return recorded
    return batch, original


def keeping_initial_values(create, captured):
    """``paddle.parameters.create`` that also copies the initial values into ``captured``."""
    def create_and_keep(layers):
        parameters = create(layers)
        captured.update({name: parameters.get(name).copy() for name in parameters.names()})
        return parameters
    return create_and_keep


def torch_run(initial, batches, test_samples):
    import torch
    from torch import nn
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
                          nn.Conv2d(20, 50, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
                          nn.Flatten(), nn.Linear(800, 10))
    values = [initial["___conv_pool_0___conv.w0"].reshape(20, 1, 5, 5),
              initial["___conv_pool_0___conv.wbias"].reshape(20),
              initial["___conv_pool_1___conv.w0"].reshape(50, 20, 5, 5),
              initial["___conv_pool_1___conv.wbias"].reshape(50),
              initial["___fc_layer_0__.w0"].T, initial["___fc_layer_0__.wbias"].reshape(10)]
    with torch.no_grad():
        for parameter, value in zip(model.parameters(), values):
            parameter.copy_(torch.from_numpy(np.ascontiguousarray(value)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1 / 128, momentum=0.9,
                                weight_decay=0.0005 * 128)
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    for minibatch in batches:
        x = torch.from_numpy(np.stack([s[0] for s in minibatch]).reshape(-1, 1, 28, 28))
        y = torch.tensor([s[1] for s in minibatch])
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        x = torch.from_numpy(np.stack([s[0] for s in test_samples]).reshape(-1, 1, 28, 28))
        y = np.array([s[1] for s in test_samples])
        return float((model(x).argmax(1).numpy() == y).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
    example = load_mnist_example()
    test_samples = list(paddle.dataset.mnist.subset_test()())
    print(machine())
    print(f"{'seed':>4} {'minidl %':>9} {'PyTorch %':>10} {'minidl s':>9}")
    rows = []
    for seed in range(1, args.seeds + 1):
        batches = []
        paddle.batch, original = recording_batch(batches)
        captured = {}
        create = paddle.parameters.create
        paddle.parameters.create = keeping_initial_values(create, captured)
        try:
            reset_names()   # Paddle's default parameter names in every run
            start = time.perf_counter()
            accuracy, _ = example.main("conv", args.passes, seed=seed, verbose=False)
            seconds = time.perf_counter() - start
        finally:
            paddle.batch, paddle.parameters.create = original, create
        theirs = torch_run(captured, batches, test_samples) if torch else float("nan")
        rows.append((accuracy, theirs))
        print(f"{seed:>4} {100 * accuracy:>9.2f} {100 * theirs:>10.2f} {seconds:>9.1f}",
              flush=True)
    mine, theirs = np.array(rows).T * 100
    print(f"minidl  : {mine.min():.2f}-{mine.max():.2f} %, median {np.median(mine):.2f} %")
    print(f"PyTorch : {theirs.min():.2f}-{theirs.max():.2f} %, median {np.median(theirs):.2f} %")


if __name__ == "__main__":
    main()
