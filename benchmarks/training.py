"""Whole training steps: ``paddle.trainer.SGD`` against PyTorch CPU, time and memory.

    python benchmarks/training.py [--repeats 7] [--steps 5] [--only small,vgg16]

Networks (CIFAR-shaped input, 3x32x32, 10 classes):

* ``small``: three ``img_conv`` 3x3 (padding 1, Relu; 32, 64 and 128 filters), each
  followed by ``img_pool`` 2x2 max (stride 2), then ``fc`` 10 (Softmax); batch 32.
* ``vgg16``: ``paddle.networks.vgg_16_network`` (13 convs, two fc 4096 with dropout 0.5,
  fc 10); batch 16 and 32.

minidl trains with ``paddle.trainer.SGD`` and its defaults (the ``cpu`` backend, the
NaN/inf check on), ``paddle.optimizer.Momentum(momentum=0.9)``, one ``train()`` call of one
batch per step. PyTorch trains the same network (``torch.nn``, ``CrossEntropyLoss`` summed
over the batch as Paddle's cost is, ``torch.optim.SGD(momentum=0.9)``): zero_grad, forward,
backward, step.

Each library and network runs in its own fresh subprocess, so neither library's memory
(allocator pools, compiled kernels, the other's graph) counts against the other. In it:
one step at batch 1 first (kernels compiled, optimizer state and gradient buffers
allocated), then the resident set size is read and the peak reset; ``--steps`` training
steps on the real batch; then the timing.

Columns:

* ``minidl ms``, ``torch ms``: median milliseconds of one training step over ``--repeats``
  steps after warm-up (``timing.median_ms``); ``ratio``: minidl / torch (target <= 1.3).
* ``minidl MB``, ``torch MB``: peak memory growth while training: the process's peak
  resident set (``VmHWM``, reset just before) during ``--steps`` steps, less its resident
  set before them -- the activations, gradients and temporaries one step needs above what
  the process already held (parameters, optimizer state, code). ``mem ratio``: minidl /
  torch (target <= 1.3).

Unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for this command where the machine sets them.
"""

import argparse
import gc
import json
import os
import subprocess
import sys

import numpy as np

from timing import median_ms

CLASSES = 10
#: (label, network, batch)
CASES = [("small conv net", "small", 32), ("vgg_16_network", "vgg16", 16),
         ("vgg_16_network", "vgg16", 32)]
SMALL_FILTERS = (32, 64, 128)
VGG_GROUPS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
LEARNING_RATE = 1e-4


# ---- memory of this process --------------------------------------------------------------

def _status_kb(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def reset_peak():
    """Reset VmHWM to the current resident set (Linux 4.0+); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---- the two libraries -------------------------------------------------------------------

def samples(rng, batch):
    images = rng.standard_normal((batch, 3 * 32 * 32)).astype(np.float32)
    return [(image, int(label)) for image, label in zip(images, rng.integers(0, CLASSES, batch))]


def minidl_step(network, batch):
    """A function running one training step of ``network`` on ``batch`` through minidl."""
    import minidl as paddle
    paddle.init(seed=1)
    paddle.layer.reset_names()
    img = paddle.layer.data("img", paddle.data_type.dense_vector(3 * 32 * 32), height=32,
                            width=32)
    label = paddle.layer.data("label", paddle.data_type.integer_value(CLASSES))
    if network == "small":
        tmp, channels = img, 3
        for filters in SMALL_FILTERS:
            tmp = paddle.layer.img_conv(input=tmp, filter_size=3, num_filters=filters,
                                        num_channels=channels, padding=1,
                                        act=paddle.activation.Relu())
            tmp = paddle.layer.img_pool(input=tmp, pool_size=2, stride=2,
                                        pool_type=paddle.pooling.Max())
            channels = None
        out = paddle.layer.fc(input=tmp, size=CLASSES, act=paddle.activation.Softmax())
    else:
        out = paddle.networks.vgg_16_network(img, num_channels=3, num_classes=CLASSES)
    cost = paddle.layer.classification_cost(input=out, label=label)
    parameters = paddle.parameters.create(cost)
    optimizer = paddle.optimizer.Momentum(momentum=0.9, learning_rate=LEARNING_RATE)
    trainer = paddle.trainer.SGD(cost, parameters, optimizer)
    return lambda data=batch: trainer.train(lambda: iter([data]), num_passes=1)


def torch_step(network, batch):
    """The same step in PyTorch: zero_grad, forward, backward, optimizer step."""
    import torch
    torch.manual_seed(1)
    nn = torch.nn
    layers, channels = [], 3
    if network == "small":
        for filters in SMALL_FILTERS:
            layers += [nn.Conv2d(channels, filters, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2)]
            channels = filters
        layers += [nn.Flatten(), nn.Linear(channels * 4 * 4, CLASSES)]
    else:
        for group in VGG_GROUPS:
            for filters in group:
                layers += [nn.Conv2d(channels, filters, 3, padding=1), nn.ReLU()]
                channels = filters
            layers.append(nn.MaxPool2d(2, 2))
        layers += [nn.Flatten(), nn.Linear(512, 4096), nn.ReLU(), nn.Dropout(0.5),
                   nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4096, CLASSES)]
    model = nn.Sequential(*layers).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss(reduction="sum")

    def tensors(data):
        images = torch.from_numpy(np.stack([image for image, _ in data]).reshape(-1, 3, 32, 32))
        return images, torch.tensor([label for _, label in data])

    def step(data=batch):
        images, labels = tensors(data)
        optimizer.zero_grad()
        loss_fn(model(images), labels).backward()
        optimizer.step()
    return step


# ---- one measurement, in its own process ---------------------------------------------------

def measure(library, network, batch_size, steps, repeats):
    """{'ms': median step, 'growth_mb': peak memory growth} of one library and network."""
    rng = np.random.default_rng(1)
    batch = samples(rng, batch_size)
    step = (minidl_step if library == "minidl" else torch_step)(network, batch)
    step(samples(rng, 1))   # compile kernels, allocate optimizer state at a tiny batch
    gc.collect()
    peak_reset = reset_peak()
    before_kb = _status_kb("VmRSS")
    for _ in range(steps):
        step()
    growth_mb = (_status_kb("VmHWM") - before_kb) / 1024
    return {"ms": median_ms(step, repeats), "growth_mb": growth_mb, "peak_reset": peak_reset}


def in_subprocess(library, network, batch_size, steps, repeats):
    command = [sys.executable, os.path.abspath(__file__), "--worker", library, network,
               str(batch_size), "--steps", str(steps), "--repeats", str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{library} {network} batch {batch_size} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--only", default="small,vgg16")
    parser.add_argument("--batches", default="", help="e.g. 16 to leave out VGG at batch 32")
    parser.add_argument("--worker", nargs=3, metavar=("LIBRARY", "NETWORK", "BATCH"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        library, network, batch_size = args.worker
        print(json.dumps(measure(library, network, int(batch_size), args.steps, args.repeats)))
        return 0
    libraries = ["minidl"] + (["torch"] if torch_available() else [])
    batches = {int(b) for b in args.batches.split(",") if b}
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; median of "
          f"{args.repeats} steps; memory: peak growth over {args.steps} steps\n")
    print("| network | batch | minidl ms | torch ms | ratio | minidl MB | torch MB | mem ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for label, network, batch_size in CASES:
        if network not in args.only.split(",") or (batches and batch_size not in batches):
            continue
        result = {lib: in_subprocess(lib, network, batch_size, args.steps, args.repeats)
                  for lib in libraries}
        print(row(label, batch_size, result), flush=True)
    return 0


def row(label, batch_size, result):
    ours, theirs = result["minidl"], result.get("torch")
    cells = [label, str(batch_size), f"{ours['ms']:.1f}"]
    if theirs is None:
        cells += ["-", "-", f"{ours['growth_mb']:.0f}", "-", "-"]
    else:
        cells += [f"{theirs['ms']:.1f}", f"{ours['ms'] / theirs['ms']:.2f}",
                  f"{ours['growth_mb']:.0f}", f"{theirs['growth_mb']:.0f}",
                  f"{ours['growth_mb'] / max(theirs['growth_mb'], 1e-9):.2f}"]
    if not ours["peak_reset"]:
        cells[0] += " (peak since start)"
    return "| " + " | ".join(cells) + " |"


if __name__ == "__main__":
    sys.exit(main())
