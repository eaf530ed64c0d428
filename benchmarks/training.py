"""Whole training steps: ``paddle.trainer.SGD`` against PyTorch CPU, time and memory.

    python benchmarks/training.py [--repeats 7] [--steps 5] [--rounds 2] [--only small,vgg16]
                                  [--batches 16,32]

Networks (CIFAR-shaped input, 3x32x32, 10 classes):

* ``small``: three ``img_conv`` 3x3 (padding 1, Relu; 32, 64 and 128 filters), each
  followed by ``img_pool`` 2x2 max (stride 2), then ``fc`` 10 (Softmax); batch 32.
* ``vgg16``: ``paddle.networks.vgg_16_network`` (13 convs, two fc 4096 with dropout 0.5,
  fc 10); batch 16 and 32.

minidl trains with ``paddle.trainer.SGD`` and its defaults (the ``cpu`` backend, the
NaN/inf check on) and ``paddle.optimizer.Momentum(momentum=0.9)``, one pass over several
batches per ``train()`` call, as a training script does (so whatever the loop keeps from
one batch to the next counts). PyTorch trains the same network (``torch.nn``,
``CrossEntropyLoss`` summed over the batch as Paddle's cost is,
``torch.optim.SGD(momentum=0.9)``): per batch zero_grad, forward, backward, step.

Each library and network runs in its own fresh subprocess, so neither library's memory
(allocator pools, compiled kernels, the other's graph) counts against the other. In it:
one step at batch 1 first (kernels compiled, optimizer state and gradient buffers
allocated), then the resident set size is read and the peak reset; a pass of ``--steps``
batches; then, after a pause, a pass of 2 + ``--repeats`` batches, timed. Each library
runs ``--rounds`` times, the two libraries alternating, and the table keeps each one's
fastest round (the least disturbed by other work on a shared machine) and its largest
memory growth.

Columns:

* ``minidl ms``, ``torch ms``: median milliseconds of one batch (minidl: from its
  BeginIteration to its EndIteration event) over ``--repeats`` batches after two more,
  best round; ``ratio``: minidl / torch (target <= 1.3).
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
import statistics
import subprocess
import sys
import time

import numpy as np

from timing import SETTLE_S

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


def minidl_training(network):
    """A function training ``network`` through minidl on a list of batches, in one pass."""
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

    def train(batches):
        """One pass over ``batches``; each batch's milliseconds, BeginIteration to
        EndIteration (feeding, forward, backward, checks, update)."""
        began, times = [], []

        def handler(event):
            if isinstance(event, paddle.event.BeginIteration):
                began.append(time.perf_counter())
            elif isinstance(event, paddle.event.EndIteration):
                times.append((time.perf_counter() - began[-1]) * 1e3)
        trainer.train(lambda: iter(batches), num_passes=1, event_handler=handler)
        return times
    return train


def torch_training(network):
    """The same training in PyTorch: per batch zero_grad, forward, backward, step."""
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

    def train(batches):
        times = []
        for data in batches:
            start = time.perf_counter()
            images, labels = tensors(data)
            optimizer.zero_grad()
            loss_fn(model(images), labels).backward()
            optimizer.step()
            times.append((time.perf_counter() - start) * 1e3)
        return times
    return train


# ---- one measurement, in its own process ---------------------------------------------------

def measure(library, network, batch_size, steps, repeats, warmup=2):
    """{'ms': median step, 'growth_mb': peak memory growth} of one library and network."""
    rng = np.random.default_rng(1)
    batch = samples(rng, batch_size)
    train = (minidl_training if library == "minidl" else torch_training)(network)
    train([samples(rng, 1)])   # compile kernels, allocate optimizer state at a tiny batch
    gc.collect()
    peak_reset = reset_peak()
    before_kb = _status_kb("VmRSS")
    train([batch] * steps)
    growth_mb = (_status_kb("VmHWM") - before_kb) / 1024
    time.sleep(SETTLE_S)
    times = train([batch] * (warmup + repeats))[warmup:]
    return {"ms": statistics.median(times), "growth_mb": growth_mb, "peak_reset": peak_reset}


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
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", default="small,vgg16")
    parser.add_argument("--batches", default="", help="only these batch sizes, e.g. 16,32")
    parser.add_argument("--worker", nargs=3, metavar=("LIBRARY", "NETWORK", "BATCH"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        library, network, batch_size = args.worker
        print(json.dumps(measure(library, network, int(batch_size), args.steps, args.repeats)))
        return 0
    libraries = ["minidl"] + (["torch"] if torch_available() else [])
    batches = {int(b) for b in args.batches.split(",") if b}
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; best of "
          f"{args.rounds} rounds of a median of {args.repeats} steps; memory: the largest "
          f"peak growth over {args.steps} steps\n")
    print("| network | batch | minidl ms | torch ms | ratio | minidl MB | torch MB | mem ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for label, network, batch_size in CASES:
        if network not in args.only.split(",") or (batches and batch_size not in batches):
            continue
        runs = {lib: [] for lib in libraries}
        for _ in range(args.rounds):   # alternating, so both see the same spells of load
            for lib in libraries:
                runs[lib].append(in_subprocess(lib, network, batch_size, args.steps,
                                               args.repeats))
        result = {lib: best(done) for lib, done in runs.items()}
        print(row(label, batch_size, result), flush=True)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    return 0


def best(runs):
    """One library's rounds as one result: the fastest median step (the round least
    disturbed by other work) and the largest memory growth (never flattering)."""
    return {"ms": min(r["ms"] for r in runs), "growth_mb": max(r["growth_mb"] for r in runs),
            "peak_reset": all(r["peak_reset"] for r in runs)}


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
