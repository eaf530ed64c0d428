"""Dense convolution speed: minidl's conv kernels against PyTorch CPU, same process, same shapes.

Times forward, input gradient and filter gradient of every distinct conv of VGG-16 on
CIFAR (batch 16, 3x3, padding 1) and of AlexNet conv2-5 (batch 1), as medians of several
runs after a warm-up. PyTorch (``torch.nn.functional.conv2d`` + autograd, both gradients)
is timed when it imports; otherwise its column is left out.

    python benchmarks/dense_conv.py [--repeats 7] [--rounds 1] [--backend cpu]

On a machine shared with other work, ``--rounds 3`` times every step in three blocks (one
after the other for each layer) and keeps each step's best block median
(``timing.rounds_ms``): a block that other processes slowed then drops out.

On machines that set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (see the environment notes),
unset both for this command only: they slow a current NumPy's OpenBLAS.
"""

import argparse
import os

import numpy as np

from minidl.backends import get_kernel, kernel_table, set_backend
from timing import rounds_ms

#: (label, count in the network, batch, C, F, H=W, kernel, padding, stride)
VGG16_CIFAR = [
    ("conv1_1", 1, 16, 3, 64, 32, 3, 1, 1),
    ("conv1_2", 1, 16, 64, 64, 32, 3, 1, 1),
    ("conv2_1", 1, 16, 64, 128, 16, 3, 1, 1),
    ("conv2_2", 1, 16, 128, 128, 16, 3, 1, 1),
    ("conv3_1", 1, 16, 128, 256, 8, 3, 1, 1),
    ("conv3_2-3", 2, 16, 256, 256, 8, 3, 1, 1),
    ("conv4_1", 1, 16, 256, 512, 4, 3, 1, 1),
    ("conv4_2-3", 2, 16, 512, 512, 4, 3, 1, 1),
    ("conv5_1-3", 3, 16, 512, 512, 2, 3, 1, 1),
]
ALEXNET = [
    ("alex conv2", 1, 1, 96, 256, 27, 5, 2, 1),
    ("alex conv3", 1, 1, 256, 384, 13, 3, 1, 1),
    ("alex conv4", 1, 1, 384, 384, 13, 3, 1, 1),
    ("alex conv5", 1, 1, 384, 256, 13, 3, 1, 1),
]

OPS = ("conv2d_forward", "conv2d_grad_input", "conv2d_grad_filter")


def _load():
    """The 1-, 5- and 15-minute load averages, as ``uptime`` prints them."""
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def our_steps(x, w, gy, geometry):
    forward, grad_input, grad_filter = (get_kernel(op) for op in OPS)
    return [lambda: forward(x, w, *geometry),
            lambda: grad_input(gy, w, x.shape, *geometry),
            lambda: grad_filter(x, gy, w.shape, *geometry)]


def torch_step(torch, x, w, gy, stride, padding):
    """Forward and backward with both gradients, as one step."""
    tx = torch.from_numpy(x).requires_grad_(True)
    tw = torch.from_numpy(w).requires_grad_(True)
    tgy = torch.from_numpy(gy)

    def step():
        tx.grad = tw.grad = None
        torch.nn.functional.conv2d(tx, tw, stride=stride, padding=padding).backward(tgy)
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=1,
                        help="blocks of runs per step; each step's best block median counts")
    parser.add_argument("--backend", default=None, help="numpy or cpu (default: minidl's)")
    args = parser.parse_args()
    if args.backend:
        set_backend(args.backend)
    try:
        import torch
    except Exception:  # not installed, or broken: the comparison column is left out
        torch = None

    table = kernel_table()
    print("kernels:", "; ".join(f"{op} -> {table[op]}" for op in OPS))
    threads = f", torch {torch.__version__} with {torch.get_num_threads()} threads" if torch else \
        " (torch not importable: no comparison)"
    print(f"numpy {np.__version__}, {os.cpu_count()} cores{threads}; medians of "
          f"{args.repeats} runs (best of {args.rounds} such blocks), milliseconds; "
          f"load average {_load()} at the start\n")
    header = (f"{'layer':<11}{'x':>3} {'N':>3} {'C->F':>10} {'HxW':>6} {'k':>2}"
              f" {'fwd':>8} {'grad_in':>8} {'grad_w':>8} {'ours':>8}")
    if torch:
        header += f" {'torch':>8} {'ratio':>6}"
    print(header)
    print("-" * len(header))

    rng = np.random.default_rng(0)
    for title, layers in (("VGG-16 CIFAR conv stack", VGG16_CIFAR),
                          ("AlexNet conv2-5", ALEXNET)):
        total_ours = total_torch = 0.0
        for label, count, n, c, f, size, k, pad, stride in layers:
            x = rng.standard_normal((n, c, size, size)).astype(np.float32)
            w = (rng.standard_normal((f, c, k, k)) * 0.05).astype(np.float32)
            geometry = ((stride, stride), (pad, pad), (1, 1), 1)
            out = get_kernel("conv2d_forward")(x, w, *geometry)
            gy = rng.standard_normal(out.shape).astype(np.float32)
            steps = our_steps(x, w, gy, geometry)
            if torch:
                steps.append(torch_step(torch, x, w, gy, stride, pad))
            best = rounds_ms(dict(enumerate(steps)), args.repeats, args.rounds)
            fwd, gin, gw, *theirs = (best[i] / 1e3 for i in range(len(steps)))
            ours = fwd + gin + gw
            total_ours += count * ours
            line = (f"{label:<11}{count:>3} {n:>3} {f'{c}->{f}':>10} {f'{size}x{size}':>6} {k:>2}"
                    f" {fwd * 1e3:8.2f} {gin * 1e3:8.2f} {gw * 1e3:8.2f} {ours * 1e3:8.2f}")
            if torch:
                total_torch += count * theirs[0]
                line += f" {theirs[0] * 1e3:8.2f} {ours / theirs[0]:6.2f}"
            print(line)
        line = f"{'total ' + title:<52} {total_ours * 1e3:8.2f}"
        if torch:
            line += f" {total_torch * 1e3:8.2f} {total_ours / total_torch:6.2f}"
        print(line + "\n")
    print(f"load average {_load()} at the end (other processes on the cores skew both columns)")


if __name__ == "__main__":
    main()
