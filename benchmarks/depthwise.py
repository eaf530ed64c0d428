"""Depthwise convolution and MobileNet v1 on the CPU: minidl against PyTorch, and against
minidl's own grouped im2col path (``groups = C``), same process, same shapes.

    python benchmarks/depthwise.py [--repeats 7] [--rounds 3] [--markdown FILE] [--threads N]
    python benchmarks/depthwise.py --infer-blocks [SECONDS]

1. The distinct 3x3 depthwise layers of MobileNet v1 at 224x224, batch 1 and 8: forward
   alone, and forward + backward (input and filter gradients) as one step, for
   * minidl: the kernels ``conv2d`` dispatches ``groups == C`` to (Numba on ``cpu``); and
     the forward of an ``img_conv(groups=C)`` layer through the public call
     (``Inference.infer`` on the batch's samples, rows of one array: ``via infer``);
   * grouped im2col: minidl's cpu im2col convolution with ``groups = C``;
   * PyTorch: ``torch.nn.functional.conv2d(groups=C)`` (+ autograd for both gradients).
2. The whole network (``minidl.models.mobilenet``, 102 classes): forward at batch 1
   through ``Inference.infer`` (moving statistics, each batch norm folded into its
   convolution's kernel, no graph) and forward + backward at batch 8 (training mode),
   against the same network in PyTorch (eval / train mode; its eager forward runs each
   batch norm as a pass of its own). Each library runs the network in a process of its
   own (in one shared process the OpenMP runtimes of PyTorch and Numba and OpenBLAS's
   threads slowed each other several-fold); the two processes take turns running short
   blocks (``timing.alternating_blocks``: forward 2 untimed + 5 timed steps for 12 s,
   training 1 + 3 for 24 s), and the ratio is the median of consecutive blocks' ratios.

``--threads N`` gives every library N threads (OpenBLAS, Numba, PyTorch); by default each
uses its own default (all cores). Layer times are medians of ``--repeats`` runs after two
warm-up runs, in milliseconds; a layer step's time is its best of ``--rounds`` such blocks, the
steps' blocks alternating (one block each left PyTorch's and minidl's times 1.5x apart
between runs on the shared host). Each measurement is a block of its own (never
interleaved with another library): OpenBLAS, Numba's and PyTorch's worker threads spin
for a while after a call and would be charged to the next library otherwise. Every
layer's inputs are checked against PyTorch's output.

Loading minidl's ``cpu`` backend tunes the process (``minidl/backends/numba_cpu/
__init__.py``: Numba's OpenMP workers spin briefly after a parallel loop, glibc keeps freed
memory);
The network runs get the same malloc settings in both libraries' processes (through
glibc's ``MALLOC_*_`` variables); in the layer benchmarks PyTorch is imported first, so its
own OpenMP keeps its defaults, but the malloc setting applies to both libraries.
``MINIDL_CPU_TUNING=0`` turns the tuning off.

``--infer-blocks`` measures only each layer's forward through ``Inference.infer`` against
PyTorch's, in alternating blocks of a few runs for ``SECONDS`` (3) per layer
(``timing.short_blocks``): on a host whose slow spells move whole blocks of seconds, the
median ratio of consecutive short blocks moves less, and each block's first untimed runs
take what switching libraries costs (the other's threads still spinning).

On machines that set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (see the environment notes),
unset both for this command only: they slow a current NumPy's OpenBLAS.
"""

import argparse
import functools
import json
import math
import os
import statistics
import subprocess
import sys
from timing import alternating_blocks, block_ms, median_ms, rounds_ms, short_blocks


def _threads_from_command_line():
    """``--threads N`` must reach OpenBLAS, Numba and OpenMP before they load."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--threads", type=int)
    threads = early.parse_known_args()[0].threads
    if threads:
        for name in ("OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS", "OMP_NUM_THREADS"):
            os.environ[name] = str(threads)
    return threads


THREADS = _threads_from_command_line() if __name__ == "__main__" else None

import numpy as np  # noqa: E402  (after the thread counts are set)

#: (channels, input size, stride): MobileNet v1's distinct depthwise layers at 224x224
LAYERS = [(32, 112, 1), (128, 56, 2), (512, 14, 1), (512, 14, 2), (1024, 7, 1)]
BATCHES = (1, 8)
CLASSES = 102
TARGETS = {"layers_vs_torch": 0.8, "speedup_vs_grouped": 10.0, "network_forward_vs_torch": 1.0,
           "network_training_vs_torch": 1.3}
OPS = ("depthwise_conv2d_forward", "depthwise_conv2d_grad_input", "depthwise_conv2d_grad_filter")


def geometric_mean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


# --- layers -------------------------------------------------------------------------------

def layer_steps(kernels, x, w, gy, geometry):
    """``(forward, forward + both gradients)`` of one set of kernels."""
    forward, grad_input, grad_filter = kernels

    def both():
        forward(x, w, *geometry)
        grad_input(gy, w, x.shape, *geometry)
        grad_filter(x, gy, w.shape, *geometry)
    return (lambda: forward(x, w, *geometry)), both


def grouped_kernels(im2col_conv, groups):
    """The im2col convolution with ``groups = C``, in the depthwise signatures."""
    extra = ((1, 1), groups)
    return (lambda x, w, s, p: im2col_conv.conv2d_forward(x, w, s, p, *extra),
            lambda gy, w, shape, s, p: im2col_conv.conv2d_grad_input(gy, w, shape, s, p,
                                                                        *extra),
            lambda x, gy, shape, s, p: im2col_conv.conv2d_grad_filter(x, gy, shape, s, p,
                                                                         *extra))


def torch_layer_steps(torch, x, w, gy, stride, channels):
    tx = torch.from_numpy(x).requires_grad_(True)
    tw = torch.from_numpy(w).requires_grad_(True)
    tgy = torch.from_numpy(gy)
    conv = torch.nn.functional.conv2d

    def forward():
        with torch.no_grad():
            conv(tx, tw, stride=stride, padding=1, groups=channels)

    def both():
        tx.grad = tw.grad = None
        conv(tx, tw, stride=stride, padding=1, groups=channels).backward(tgy)
    return forward, both, conv(tx, tw, stride=stride, padding=1, groups=channels).detach()


def layer_inputs():
    """``(batch, C, H, stride, x, w)`` of every layer at every batch: the same draws on
    every call."""
    rng = np.random.default_rng(0)
    for batch in BATCHES:
        for channels, size, stride in LAYERS:
            x = rng.standard_normal((batch, channels, size, size), dtype=np.float32)
            w = rng.standard_normal((channels, 1, 3, 3), dtype=np.float32)
            yield batch, channels, size, stride, x, w


def bench_layers(torch, repeats, rounds):
    from minidl.backends import get_kernel
    from minidl.backends.numba_cpu import conv as im2col_conv

    ours = tuple(get_kernel(op) for op in OPS)
    rng = np.random.default_rng(1)
    rows = []
    for batch, channels, size, stride, x, w in layer_inputs():
        geometry = ((stride, stride), (1, 1))
        y = ours[0](x, w, *geometry)
        gy = rng.standard_normal(y.shape, dtype=np.float32)
        row = {"batch": batch, "channels": channels, "size": size, "stride": stride}
        steps = dict(zip(("ours_fwd", "ours_fb"), layer_steps(ours, x, w, gy, geometry)))
        steps["infer_fwd"] = infer_step(x, w, stride)
        if torch is not None:
            forward, both, want = torch_layer_steps(torch, x, w, gy, stride, channels)
            np.testing.assert_allclose(y, want.numpy(), rtol=1e-3, atol=1e-3)
            steps.update(torch_fwd=forward, torch_fb=both)
        row.update(rounds_ms(steps, repeats, rounds))
        grouped = layer_steps(grouped_kernels(im2col_conv, channels), x, w, gy, geometry)
        row["grouped_fwd"], row["grouped_fb"] = (median_ms(s, max(3, repeats // 2))
                                                 for s in grouped)
        rows.append(row)
        print(".", end="", flush=True, file=sys.stderr)
    print(file=sys.stderr)
    return rows


# --- the whole network ----------------------------------------------------------------------

def minidl_network(batch, train):
    """A step of minidl's MobileNet v1: inference forward, or training forward + backward."""
    import minidl as paddle
    from minidl.core import random as minidl_random
    from minidl.core import Tensor
    from minidl.layers.base import reset_names
    from minidl.layers.graph import Network, RunContext
    from minidl.models.mobilenet import image_layer, mobile_net

    reset_names()
    minidl_random.seed(0)
    out = mobile_net(image_layer(224), CLASSES)
    parameters = paddle.parameters.create(out)
    for name in parameters.names():
        if name.endswith(".w2"):            # moving variance: Paddle starts it at 0, torch at 1
            parameters.set(name, np.ones(parameters.get_shape(name), dtype=np.float32))
    rng = np.random.default_rng(0)
    feed = {"image": rng.standard_normal((batch, 3 * 224 * 224), dtype=np.float32)}
    if not train:     # the public call: one sample, or the rows of one array
        inference = paddle.inference.Inference(out, parameters)
        samples = [(row,) for row in feed["image"]]
        return lambda: inference.infer(samples)

    network = Network(out)
    tensors = {name: Tensor(parameters.value(name).reshape(spec.compute_shape),
                            requires_grad=not spec.static)
               for name, spec in network.param_specs.items()}
    gy = rng.standard_normal((batch, CLASSES), dtype=np.float32)

    def step():
        for tensor in tensors.values():
            tensor.grad = None
        ctx = RunContext(tensors, is_train=True, rng=minidl_random.get_rng())
        network.forward(feed, ctx)[out.name].backward(gy)
    return step


def torch_network(torch, batch, train):
    nn = torch.nn

    def conv_bn(c_in, c_out, kernel, stride, groups):
        return [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
                nn.BatchNorm2d(c_out), nn.ReLU()]

    from minidl.models.mobilenet import BLOCKS
    layers = conv_bn(3, 32, 3, 2, 1)
    for c_in, c_out, stride in BLOCKS:
        layers += conv_bn(c_in, c_in, 3, stride, c_in) + conv_bn(c_in, c_out, 1, 1, 1)
    layers += [nn.AvgPool2d(7), nn.Flatten(), nn.Linear(1024, CLASSES), nn.Softmax(dim=1)]
    model = nn.Sequential(*layers).train(train)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((batch, 3, 224, 224), dtype=np.float32))
    gy = torch.from_numpy(rng.standard_normal((batch, CLASSES), dtype=np.float32))

    def step():
        if not train:
            with torch.no_grad():
                return model(x)
        model.zero_grad(set_to_none=True)
        model(x).backward(gy)
    return step


#: seconds of alternating blocks per network step, and each block's (untimed, timed) runs
NETWORK_SECONDS = {False: 12.0, True: 24.0}
NETWORK_BLOCK = {False: (2, 5), True: (1, 3)}


class NetworkWorker:
    """One library's network step in a process of its own (``--network-worker``), which
    runs a block of steps whenever asked. A process of its own, because minidl's forward
    took 136 ms instead of 30 ms in a process where PyTorch had run: the two OpenMP
    runtimes (PyTorch's, Numba's) and OpenBLAS's threads then all wait on the same two
    cores. Both workers live through the measurement and take turns, so that their blocks
    follow the host's slow spells together (fresh processes one after the other let a
    spell of seconds hold one library's whole run: ratios of 0.68-1.06x for the same
    code)."""

    def __init__(self, library, batch, train):
        command = [sys.executable, os.path.abspath(__file__), "--network-worker", library,
                   "--batch", str(batch)]
        command += ["--train"] if train else []
        command += ["--threads", str(THREADS)] if THREADS else []
        env = dict(os.environ)
        if env.get("MINIDL_CPU_TUNING", "1") != "0":
            # the malloc settings minidl's cpu backend makes in its process, given to
            # PyTorch's process too (glibc reads them from the environment): they made its
            # forward at batch 1 ~25 % faster as well, and the comparison should not hand
            # minidl that
            env.update(MALLOC_MMAP_THRESHOLD_=str(32 << 20),
                       MALLOC_TRIM_THRESHOLD_=str(1 << 30))
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, env=env)
        self._reply()                      # built and warmed up

    def _reply(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"network worker {self.process.args[3]} exited "
                               f"({self.process.wait()})")
        return json.loads(line)

    def block(self, untimed, timed):
        """The median ms of ``timed`` steps after ``untimed`` ones."""
        self.process.stdin.write(f"{untimed} {timed}\n")
        self.process.stdin.flush()
        return self._reply()

    def close(self):
        self.process.stdin.close()
        self.process.wait()


def network_worker(library, batch, train):
    """The body of a ``--network-worker`` process: build the step, warm it up, then run a
    block for each ``untimed timed`` line read and print its median ms."""
    if library == "torch":
        import torch
        if THREADS:
            torch.set_num_threads(THREADS)
        step = torch_network(torch, batch, train)
    else:
        step = minidl_network(batch, train)
    block_ms(step, 2, 1)                  # warm-up (and first-call compiles)
    print(json.dumps("ready"), flush=True)
    for line in sys.stdin:
        untimed, timed = map(int, line.split())
        print(json.dumps(block_ms(step, untimed, timed)), flush=True)


def bench_network(torch):
    """Both libraries' workers alive, in alternating blocks (``timing.alternating_blocks``):
    each library's time the median of its blocks, the ratio the median of consecutive
    blocks' ratios."""
    rows = []
    for label, batch, train in (("forward", 1, False), ("forward + backward", 8, True)):
        row = {"what": label, "batch": batch}
        untimed, timed = NETWORK_BLOCK[train]
        ours = NetworkWorker("minidl", batch, train)
        try:
            if torch is None:
                row["ours"] = statistics.median(ours.block(untimed, timed) for _ in range(5))
            else:
                theirs = NetworkWorker("torch", batch, train)
                try:
                    row["ours"], row["torch"], row["ratio"] = alternating_blocks(
                        functools.partial(ours.block, untimed, timed),
                        functools.partial(theirs.block, untimed, timed),
                        NETWORK_SECONDS[train])
                finally:
                    theirs.close()
        finally:
            ours.close()
        rows.append(row)
    return rows


def infer_step(x, w, stride):
    """The forward of a depthwise ``img_conv`` layer holding ``w``, through the public
    ``Inference.infer`` on the samples of ``x`` (rows of one array, as a reader of a
    dataset array gives them)."""
    import minidl as paddle
    batch, channels, size, _ = x.shape
    image = paddle.layer.data("image", paddle.data_type.dense_vector(channels * size * size),
                              height=size, width=size)
    conv = paddle.layer.img_conv(image, filter_size=3, num_filters=channels, groups=channels,
                                 stride=stride, padding=1, bias_attr=False,
                                 act=paddle.activation.Linear())
    parameters = paddle.parameters.create(conv)
    parameters.set(conv.params[0].name, w.reshape(1, -1))
    inference = paddle.inference.Inference(conv, parameters)
    samples = [(row,) for row in x.reshape(batch, -1)]
    return lambda: inference.infer(samples)


# --- report -------------------------------------------------------------------------------

def layer_table(rows, torch):
    head = ("| C, H, stride | batch | minidl fwd | via infer | minidl f+b | grouped im2col f+b "
            "| speedup |")
    rule = "|---|---|---|---|---|---|---|"
    if torch:
        head += " torch fwd | torch f+b | minidl / torch (f+b) |"
        rule += "---|---|---|"
    lines = [head, rule]
    for r in rows:
        line = (f"| {r['channels']}, {r['size']}, {r['stride']} | {r['batch']} "
                f"| {r['ours_fwd']:.2f} | {r['infer_fwd']:.2f} | {r['ours_fb']:.2f} "
                f"| {r['grouped_fb']:.1f} "
                f"| {r['grouped_fb'] / r['ours_fb']:.0f}x |")
        if torch:
            line += (f" {r['torch_fwd']:.2f} | {r['torch_fb']:.2f} "
                     f"| {r['ours_fb'] / r['torch_fb']:.2f} |")
        lines.append(line)
    return "\n".join(lines)


def network_table(rows, torch):
    lines = ["| MobileNet v1, 224, 102 classes | batch | minidl | "
             + ("torch | minidl / torch |" if torch else ""),
             "|---|---|---|" + ("---|---|" if torch else "")]
    for r in rows:
        line = f"| {r['what']} | {r['batch']} | {r['ours']:.1f} |"
        if torch:
            line += f" {r['torch']:.1f} | {r['ratio']:.2f} |"
        lines.append(line)
    return "\n".join(lines)


def verdicts(layers, network, torch):
    lines = []
    for batch in BATCHES:
        rows = [r for r in layers if r["batch"] == batch]
        speedup = geometric_mean([r["grouped_fb"] / r["ours_fb"] for r in rows])
        lines.append(f"- batch {batch}: f+b geometric mean {speedup:.0f}x faster than grouped "
                     f"im2col (target >= {TARGETS['speedup_vs_grouped']:.0f}x: "
                     f"{'met' if speedup >= TARGETS['speedup_vs_grouped'] else 'NOT met'})")
        if torch:
            ratio = geometric_mean([r["ours_fb"] / r["torch_fb"] for r in rows])
            fwd = geometric_mean([r["ours_fwd"] / r["torch_fwd"] for r in rows])
            infer = geometric_mean([r["infer_fwd"] / r["torch_fwd"] for r in rows])
            lines.append(f"- batch {batch}: f+b geometric mean {ratio:.2f}x PyTorch's time "
                         f"(forward alone {fwd:.2f}x, through paddle.infer {infer:.2f}x; "
                         f"target <= "
                         f"{TARGETS['layers_vs_torch']}: "
                         f"{'met' if ratio <= TARGETS['layers_vs_torch'] else 'NOT met'})")
    for row, key in zip(network if torch else (), ("network_forward_vs_torch",
                                                  "network_training_vs_torch")):
        ratio = row["ratio"]
        lines.append(f"- MobileNet v1 {row['what']}, batch {row['batch']}: {ratio:.2f}x "
                     f"PyTorch's time (target <= {TARGETS[key]}: "
                     f"{'met' if ratio <= TARGETS[key] else 'NOT met'})")
    return "\n".join(lines)


def environment(torch):
    import numba

    from minidl.backends import kernel_table
    table = kernel_table()
    kernels = "; ".join(f"{op}: {table[op]}" for op in OPS[:1] + ("conv2d_forward",))
    found = (f"numpy {np.__version__}, numba {numba.__version__} "
             f"({numba.threading_layer()} layer, {numba.get_num_threads()} threads), "
             f"{os.cpu_count()} cores, OpenBLAS threads "
             f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')}")
    if torch:
        found += f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
    found += f"; MINIDL_CPU_TUNING={os.environ.get('MINIDL_CPU_TUNING', '1')}"
    return f"{found}\n{kernels}"


def infer_blocks(torch, seconds):
    """Rows ``(batch, C, H, stride, infer ms, torch ms, ratio)``: the forward through
    ``Inference.infer`` and PyTorch's in alternating short blocks (``timing.short_blocks``),
    the median ratio of consecutive blocks."""
    rows = []
    for batch, channels, size, stride, x, w in layer_inputs():
        ours = infer_step(x, w, stride)
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)

        def theirs(tx=tx, tw=tw, stride=stride, channels=channels):
            with torch.no_grad():
                torch.nn.functional.conv2d(tx, tw, stride=stride, padding=1,
                                           groups=channels)
        rows.append((batch, channels, size, stride, *short_blocks(ours, theirs, seconds)))
    return rows


def blocks_report(rows):
    lines = ["| batch | C, H, stride | via infer | torch fwd | infer / torch |",
             "|---|---|---|---|---|"]
    lines += [f"| {b} | {c}, {h}, {s} | {a:.3f} | {t:.3f} | {r:.2f} |"
              for b, c, h, s, a, t, r in rows]
    for batch in BATCHES:
        of = [r for r in rows if r[0] == batch]
        lines.append(f"batch {batch}: geometric mean {geometric_mean([r[6] for r in of]):.2f}; "
                     "target <= 0.8")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating blocks per layer step; each step's best counts")
    parser.add_argument("--markdown", help="also write the tables to this file")
    parser.add_argument("--skip-network", action="store_true")
    parser.add_argument("--threads", type=int,
                        help="threads for every library (default: their own defaults)")
    parser.add_argument("--infer-blocks", type=float, nargs="?", const=3.0, metavar="SECONDS",
                        help="only the layers' forward through infer against PyTorch's, "
                             "in alternating short blocks")
    parser.add_argument("--network-worker", choices=("minidl", "torch"),
                        help=argparse.SUPPRESS)   # internal: one network in this process
    parser.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--train", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.network_worker:
        network_worker(args.network_worker, args.batch, args.train)
        return
    try:
        import torch
        if THREADS:
            torch.set_num_threads(THREADS)
    except Exception:  # not installed, or broken: the comparison columns are left out
        torch = None
    if args.infer_blocks is not None:
        if torch is None:
            sys.exit("--infer-blocks compares with PyTorch, which is not installed")
        print(blocks_report(infer_blocks(torch, args.infer_blocks)))
        return

    layers = bench_layers(torch, args.repeats, args.rounds)
    network = [] if args.skip_network else bench_network(torch)
    text = ["Environment: " + environment(torch), "",
            f"Depthwise 3x3 layers (ms, best of {args.rounds} alternating block medians of "
            f"{args.repeats}; grouped im2col: one block of {max(3, args.repeats // 2)}):",
            "", layer_table(layers, torch), ""]
    if network:
        text += ["Whole network (ms):", "", network_table(network, torch), ""]
    text += ["Targets:", "", verdicts(layers, network, torch) if network else
             verdicts(layers, [{"ours": 1, "torch": 1}], None)]
    report = "\n".join(text)
    print(report)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(report + "\n")


if __name__ == "__main__":
    main()
