"""MobileNet v1 forward+backward on the GPU: minidl's depthwise RawKernels, minidl's grouped
im2col path, and PyTorch CUDA, in one process on one device.

    python benchmarks/gpu_mobilenet.py [--repeats 5] [--out DIR]
    python benchmarks/gpu_mobilenet.py --smoke      # the same code on the CPU, tiny and fast

Whole network (3x224x224, 102 classes, float32, batch 1 and 40; one forward pass of the
training graph -- batch norm with batch statistics -- and the backward pass, no update):

* (a) minidl, ``gpu`` backend: depthwise layers run the CUDA RawKernels
  (``minidl/backends/cupy_gpu/kernels/depthwise.cu``);
* (b) minidl, ``gpu`` backend, the same layers through the grouped im2col convolution
  (the reference ``conv2d_*`` kernels with ``groups = C`` on CuPy: im2col on the device,
  cuBLAS batched GEMM) -- the "group convolution" baseline;
* (c) PyTorch CUDA, the same network defined below (``torch.backends.cudnn.benchmark``
  on: cuDNN or PyTorch's own depthwise kernels, whichever it picks).

Then every distinct depthwise layer of MobileNet (forward + input gradient + filter
gradient) for (a), (b) and (c) alone. Times are medians after warm-up, each run closed by a
device synchronisation. The issue's targets: (a) at least 10x faster than (b), and at most
1.2x the time of (c); the script prints whether each holds, for the whole network and per
layer, and writes ``gpu_mobilenet.md`` / ``.json`` to ``--out``.

minidl's MobileNet is ``minidl.models.mobilenet.mobile_net``, PyTorch's is defined below
from the same block list. A row that cannot be measured (no PyTorch with CUDA; conv2d not
dispatching ``groups == C`` to the depthwise kernels) is reported as such and the exit
status is 1.
"""

import argparse
import contextlib
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import minidl as paddle
from minidl.core import random as minidl_random
from minidl.backends import get_kernel, registry, set_backend
from minidl.backends.cupy_gpu import conv as im2col_conv   # im2col + cuBLAS GEMM
from minidl.core import Tensor
from minidl.core.tensor import backward
from minidl.functions.basic import sum_all
from minidl.layers.base import reset_names
from minidl.layers.graph import Network, RunContext
from minidl.models.mobilenet import BLOCKS, mobile_net

CLASSES = 102
INPUT_SIZE = 224
IMAGE = (3, INPUT_SIZE, INPUT_SIZE)


def depthwise_layers():
    """MobileNet's distinct depthwise layers: (channels, input size, stride, how many)."""
    found, size = {}, INPUT_SIZE // 2   # after the stride-2 stem
    for channels, _, stride in BLOCKS:
        found[(channels, size, stride)] = found.get((channels, size, stride), 0) + 1
        size //= stride
    return [key + (count,) for key, count in found.items()]


DEPTHWISE_OPS = ("depthwise_conv2d_forward", "depthwise_conv2d_grad_input",
                 "depthwise_conv2d_grad_filter")
TARGET_VS_GROUPED = 10.0   # (a) at least this many times faster than (b)
TARGET_VS_TORCH = 1.2      # (a) at most this many times the time of (c)


class Unavailable(Exception):
    """A measurement that cannot be made here; the message says why."""


# --- the device ---------------------------------------------------------------------------

class Device:
    """Where everything runs: the gpu backend with CuPy and torch.cuda, or (``--smoke``)
    the cpu/numpy backend with NumPy and torch's CPU."""

    def __init__(self, smoke):
        self.smoke = smoke
        if smoke:
            from minidl.backends import available_backends
            self.backend = "cpu" if "cpu" in available_backends() else "numpy"
            self.xp, self.name = np, f"CPU smoke run ({platform.processor() or 'cpu'})"
        else:
            import cupy
            self.backend, self.xp = "gpu", cupy
            props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
            name = props["name"]
            self.name = name.decode() if isinstance(name, bytes) else str(name)
        set_backend(self.backend)
        self.torch = self._torch()

    def _torch(self):
        try:
            import torch
        except ImportError as error:
            print(f"PyTorch is not installed ({error}): its columns stay empty")
            return None
        if not self.smoke and not torch.cuda.is_available():
            print("PyTorch has no CUDA here: its columns stay empty")
            return None
        torch.backends.cudnn.benchmark = True
        return torch

    @property
    def torch_device(self):
        return "cpu" if self.smoke else "cuda"

    def sync(self):
        if not self.smoke:
            self.xp.cuda.Device().synchronize()
            if self.torch is not None:
                self.torch.cuda.synchronize()

    def free(self):
        """Return cached blocks between measurements (batch 40 im2col needs gigabytes)."""
        if not self.smoke:
            self.xp.get_default_memory_pool().free_all_blocks()
            if self.torch is not None:
                self.torch.cuda.empty_cache()

    def versions(self):
        found = {"device": self.name, "backend": self.backend, "numpy": np.__version__,
                 "python": platform.python_version()}
        if not self.smoke:
            found["cupy"] = self.xp.__version__
            found["cuda_runtime"] = self.xp.cuda.runtime.runtimeGetVersion()
            found["cuda_driver"] = self.xp.cuda.runtime.driverGetVersion()
        if self.torch is not None:
            found["torch"] = self.torch.__version__
            if not self.smoke:
                found["cudnn"] = self.torch.backends.cudnn.version()
        return found


def median_seconds(device, step, repeats, warmup):
    """Median wall time of ``step`` (synchronised before and after each run)."""
    for _ in range(warmup):
        step()
    device.sync()
    times = []
    for _ in range(repeats):
        device.sync()
        start = time.perf_counter()
        step()
        device.sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# --- which kernels serve the depthwise ops ---------------------------------------------------

def grouped_im2col_kernels():
    """The depthwise ops computed by the grouped convolution (``groups = C``): the same
    weight layout ``(C*M, 1, kh, kw)``, through im2col + GEMM."""
    forward, grad_input, grad_filter = (im2col_conv.conv2d_forward,
                                        im2col_conv.conv2d_grad_input,
                                        im2col_conv.conv2d_grad_filter)
    return {
        "depthwise_conv2d_forward":
            lambda x, w, stride, padding: forward(x, w, stride, padding, (1, 1), x.shape[1]),
        "depthwise_conv2d_grad_input":
            lambda gy, w, shape, stride, padding: grad_input(gy, w, shape, stride, padding,
                                                             (1, 1), shape[1]),
        "depthwise_conv2d_grad_filter":
            lambda x, gy, shape, stride, padding: grad_filter(x, gy, shape, stride, padding,
                                                              (1, 1), x.shape[1]),
    }


@contextlib.contextmanager
def kernels_replaced(backend, replacements):
    """Serve ``{op: kernel}`` on ``backend`` for a while. The registry has no public switch
    for this yet, so this reaches into its table and restores it afterwards."""
    table = registry._KERNELS[backend]
    saved = {op: table.get(op) for op in replacements}
    table.update(replacements)
    try:
        yield
    finally:
        for op, kernel in saved.items():
            if kernel is None:
                table.pop(op, None)
            else:
                table[op] = kernel


def counting(backend):
    """Wrappers of ``backend``'s depthwise kernels that count their calls."""
    calls = {op: 0 for op in DEPTHWISE_OPS}

    def wrap(op, kernel):
        def counted(*args):
            calls[op] += 1
            return kernel(*args)
        return counted

    return calls, {op: wrap(op, get_kernel(op, backend)) for op in DEPTHWISE_OPS}


# --- the whole network: minidl --------------------------------------------------------------

def minidl_mobilenet():
    """``(network, cost)`` of minidl's MobileNet v1 with a classification cost."""
    reset_names()
    image = paddle.layer.data("image", paddle.data_type.dense_vector(int(np.prod(IMAGE))),
                              height=INPUT_SIZE, width=INPUT_SIZE)
    label = paddle.layer.data("label", paddle.data_type.integer_value(CLASSES))
    cost = paddle.layer.classification_cost(mobile_net(image, class_dim=CLASSES), label)
    return Network(cost), cost


def minidl_step(device, network, cost, batch):
    """One forward+backward of the training graph on random data already on the device."""
    minidl_random.seed(0)
    parameters = paddle.parameters.create(cost)
    rng = np.random.default_rng(0)
    feed = {"image": device.xp.asarray(rng.standard_normal((batch, int(np.prod(IMAGE))),
                                                           dtype=np.float32)),
            "label": device.xp.asarray(rng.integers(0, CLASSES, batch))}
    tensors = {name: Tensor(parameters.value(name).reshape(spec.compute_shape),
                            requires_grad=not spec.static)
               for name, spec in network.param_specs.items()}

    def step():
        for tensor in tensors.values():
            tensor.grad = None
        ctx = RunContext(tensors, is_train=True, rng=minidl_random.get_rng())
        outputs = network.forward(feed, ctx)
        backward(sum_all(outputs[cost.name]))

    return step


def time_minidl(device, batch, repeats, variant):
    """Seconds per step of (a) ``variant='depthwise'`` or (b) ``'grouped'``."""
    network, cost = minidl_mobilenet()
    step = minidl_step(device, network, cost, batch)
    calls, counted = counting(device.backend)
    with kernels_replaced(device.backend, counted):
        step()
    if not all(calls.values()):
        raise Unavailable(f"conv2d does not dispatch groups == C to the depthwise kernels "
                          f"(calls in one step: {calls}); (a) would equal (b)")
    replacements = grouped_im2col_kernels() if variant == "grouped" else {}
    with kernels_replaced(device.backend, replacements):
        return median_seconds(device, step, repeats, warmup=2)


# --- the whole network: PyTorch -------------------------------------------------------------

def torch_mobilenet(torch):
    """MobileNet v1 as Paddle's scripts define it (no conv biases; batch norm + ReLU)."""
    nn = torch.nn

    def conv_bn(cin, cout, kernel, stride, groups=1):
        return [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
                nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    layers = conv_bn(3, 32, 3, 2)
    for cin, cout, stride in BLOCKS:
        layers += conv_bn(cin, cin, 3, stride, groups=cin) + conv_bn(cin, cout, 1, 1)
    layers += [nn.AvgPool2d(7), nn.Flatten(), nn.Linear(1024, CLASSES)]
    return nn.Sequential(*layers)


def time_torch(device, batch, repeats):
    torch = device.torch
    if torch is None:
        raise Unavailable("PyTorch (with CUDA) is not available")
    torch.manual_seed(0)
    model = torch_mobilenet(torch).to(device.torch_device).train()
    images = torch.randn((batch,) + IMAGE, device=device.torch_device)
    labels = torch.randint(0, CLASSES, (batch,), device=device.torch_device)
    loss = torch.nn.CrossEntropyLoss(reduction="sum")   # minidl sums the costs too

    def step():
        model.zero_grad(set_to_none=True)
        loss(model(images), labels).backward()

    return median_seconds(device, step, repeats, warmup=3)


# --- one depthwise layer ----------------------------------------------------------------------

def time_layer(device, channels, size, stride, batch, repeats):
    """Seconds of forward + input gradient + filter gradient: {'raw', 'grouped', 'torch'}."""
    rng = np.random.default_rng(0)
    out = (size + 2 - 3) // stride + 1
    host = {"x": rng.uniform(-1, 1, (batch, channels, size, size)),
            "w": rng.uniform(-1, 1, (channels, 1, 3, 3)),
            "gy": rng.uniform(-1, 1, (batch, channels, out, out))}
    x, w, gy = (device.xp.asarray(host[k], dtype=np.float32) for k in ("x", "w", "gy"))
    geometry = ((stride, stride), (1, 1))

    def run(kernels):
        def step():
            kernels["depthwise_conv2d_forward"](x, w, *geometry)
            kernels["depthwise_conv2d_grad_input"](gy, w, x.shape, *geometry)
            kernels["depthwise_conv2d_grad_filter"](x, gy, w.shape, *geometry)
        return step

    raw = {op: get_kernel(op, device.backend) for op in DEPTHWISE_OPS}
    times = {"raw": median_seconds(device, run(raw), repeats, warmup=2),
             "grouped": median_seconds(device, run(grouped_im2col_kernels()), repeats, 1)}
    torch = device.torch
    if torch is not None:
        tx, tw, tgy = (torch.tensor(host[k], dtype=torch.float32, device=device.torch_device)
                       for k in ("x", "w", "gy"))
        tx.requires_grad_(True)
        tw.requires_grad_(True)

        def torch_step():
            tx.grad = tw.grad = None
            torch.nn.functional.conv2d(tx, tw, stride=stride, padding=1,
                                       groups=channels).backward(tgy)

        times["torch"] = median_seconds(device, torch_step, repeats, warmup=3)
    return times


# --- report ---------------------------------------------------------------------------------

def ms(seconds):
    return "n/a" if seconds is None else f"{seconds * 1e3:.2f}"


def ratio(numerator, denominator):
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def verdict(speedup, slowdown):
    """Whether (a) meets both targets; None where a number is missing."""
    checks = []
    if speedup is not None:
        ok = speedup >= TARGET_VS_GROUPED
        checks.append(f"(b)/(a) {speedup:.1f}x {'>=' if ok else '<'} {TARGET_VS_GROUPED:g}x "
                      f"{'PASS' if ok else 'FAIL'}")
    if slowdown is not None:
        ok = slowdown <= TARGET_VS_TORCH
        checks.append(f"(a)/(c) {slowdown:.2f}x {'<=' if ok else '>'} {TARGET_VS_TORCH:g}x "
                      f"{'PASS' if ok else 'FAIL'}")
    return "; ".join(checks) or "n/a"


def network_rows(device, batches, repeats, notes):
    rows = []
    for batch in batches:
        row = {"batch": batch}
        for key in ("depthwise", "grouped", "torch"):
            try:
                row[key] = (time_torch(device, batch, repeats) if key == "torch"
                            else time_minidl(device, batch, repeats, key))
            except Unavailable as why:
                row[key] = None
                notes.append(f"network {key}, batch {batch}: {why}")
            device.free()  # after the measurement's arrays are gone
            print(f"  network batch {batch:>2} {key:<9} {ms(row[key])} ms", flush=True)
        rows.append(row)
    return rows


def layer_rows(device, batches, repeats, layers):
    rows = []
    for channels, size, stride, count in layers:
        for batch in batches:
            times = time_layer(device, channels, size, stride, batch, repeats)
            device.free()
            rows.append({"channels": channels, "size": size, "stride": stride, "count": count,
                         "batch": batch, **times})
            print(f"  layer C={channels:>4} {size:>3}x{size:<3} s{stride} batch {batch:>2}: "
                  + ", ".join(f"{k} {ms(v)} ms" for k, v in times.items()), flush=True)
    return rows


def markdown(device, network, layers, notes):
    lines = [f"Device: **{device.name}** -- " + ", ".join(
        f"{k} {v}" for k, v in device.versions().items() if k != "device"), "",
        "MobileNet v1, 3x224x224, forward + backward (ms, median):", "",
        "| batch | (a) minidl depthwise RawKernels | (b) minidl grouped im2col | "
        "(c) PyTorch | (b)/(a) | (a)/(c) | targets |",
        "|---|---|---|---|---|---|---|"]
    for row in network:
        speedup = ratio(row.get("grouped"), row.get("depthwise"))
        slowdown = ratio(row.get("depthwise"), row.get("torch"))
        lines.append(f"| {row['batch']} | {ms(row.get('depthwise'))} | {ms(row.get('grouped'))} "
                     f"| {ms(row.get('torch'))} | {_fmt(speedup)} | {_fmt(slowdown)} "
                     f"| {verdict(speedup, slowdown)} |")
    lines += ["", "Depthwise 3x3 layers, forward + input gradient + filter gradient (ms, "
              "median):", "",
              "| C | input | stride | x in net | batch | (a) RawKernels | (b) grouped im2col "
              "| (c) PyTorch | (b)/(a) | (a)/(c) | targets |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in layers:
        speedup = ratio(row.get("grouped"), row.get("raw"))
        slowdown = ratio(row.get("raw"), row.get("torch"))
        lines.append(f"| {row['channels']} | {row['size']}x{row['size']} | {row['stride']} | "
                     f"{row['count']} | {row['batch']} | {ms(row.get('raw'))} | "
                     f"{ms(row.get('grouped'))} | {ms(row.get('torch'))} | {_fmt(speedup)} | "
                     f"{_fmt(slowdown)} | {verdict(speedup, slowdown)} |")
    if notes:
        lines += ["", "Not measured:", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def _fmt(value):
    return "n/a" if value is None else f"{value:.2f}x"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 40])
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for gpu_mobilenet.md and gpu_mobilenet.json")
    parser.add_argument("--smoke", action="store_true",
                        help="run the same code on the CPU (cpu/numpy backend, torch CPU) on "
                             "batch 1, two layers, one repeat: checks the script, not speed")
    args = parser.parse_args(argv)
    if args.smoke:
        args.repeats, args.batches = 1, [1]
    device = Device(args.smoke)
    print(f"gpu_mobilenet on {device.name} ({device.backend} backend)", flush=True)
    notes = []
    started = time.perf_counter()
    layers = layer_rows(device, args.batches, args.repeats,
                        depthwise_layers()[-2:] if args.smoke else depthwise_layers())
    network = network_rows(device, args.batches, args.repeats, notes)
    report = markdown(device, network, layers, notes)
    print("\n" + report)
    print(f"({time.perf_counter() - started:.0f} s)")
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gpu_mobilenet.md").write_text(report)
        (args.out / "gpu_mobilenet.json").write_text(json.dumps(
            {"versions": device.versions(), "network": network, "layers": layers,
             "notes": notes}, indent=2))
    return 1 if notes else 0


if __name__ == "__main__":
    sys.exit(main())
