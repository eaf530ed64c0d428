"""Pruned conv layers: minidl's direct sparse convolution against dense PyTorch and im2col.

For AlexNet's conv2-5 shapes and two
VGG-CIFAR layers, batch 1, plus batch-16 rows), weights magnitude-pruned to each sparsity;
each cell is the best of ``--rounds`` block medians of ``--repeats`` runs, the blocks of
one row alternating (``timing.rounds_ms``: a shared machine's spells move a single block
by up to 2x):

* ``torch``: ``torch.nn.functional.conv2d`` (oneDNN, dense); ``vs torch`` is the median
  ratio of alternating short blocks of the two (``timing.short_blocks``, 2 s a row): the
  host's spells, seconds long, moved one library's best block against the other's by up
  to 1.5x, where consecutive blocks a few milliseconds apart move together;
* ``im2col``: minidl's dense ``conv2d_forward`` (im2col + one BLAS GEMM);
* ``minidl sparse``: the ``direct_sparse_conv2d`` kernel alone (no bias, no ReLU);
* then the whole ``img_conv`` layer (bias + ReLU) run dense, sparse and with
  ``sparse='auto'`` -- ``auto/best``, over the faster of the other two, must stay at or
  below ~1.05. It is the median over pairs of runs, ``'auto'`` and that one back to back
  (``timing.paired_ms``): a slow spell of the host moves both runs of a pair, where it
  moved one block's median against another's by up to 1.4x.

    python benchmarks/sparse_conv.py [--repeats 11] [--rounds 3]

Unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for this command where the machine sets them.
"""

import argparse

import numpy as np
from sparse_common import LayerRun, machine, magnitude_pruned, optional, rounds_ms
from timing import paired_ms, short_blocks

import minidl as paddle
from minidl.backends import get_kernel, set_backend
from minidl.sparse_inference.layout import conv_layout

#: (label, batch, C, F, H=W, kernel, padding, stride, sparsities)
LAYERS = [
    ("AlexNet conv2", 1, 96, 256, 27, 5, 2, 1, (0.8, 0.9)),
    ("AlexNet conv3", 1, 256, 384, 13, 3, 1, 1, (0.8, 0.9)),
    ("AlexNet conv4", 1, 384, 384, 13, 3, 1, 1, (0.8, 0.9)),
    ("AlexNet conv5", 1, 384, 256, 13, 3, 1, 1, (0.8, 0.9)),
    ("VGG-CIFAR", 1, 64, 64, 32, 3, 1, 1, (0.5, 0.8, 0.9)),
    ("VGG-CIFAR", 1, 512, 512, 4, 3, 1, 1, (0.8, 0.9)),
    ("VGG-CIFAR", 16, 64, 64, 32, 3, 1, 1, (0.8, 0.9)),
    ("VGG-CIFAR", 16, 512, 512, 4, 3, 1, 1, (0.8, 0.9)),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    set_backend("cpu")
    torch = optional("torch")
    print(machine())
    print(f"best of {args.rounds} block medians of {args.repeats} runs, ms; ratios = other "
          "time / minidl sparse time\n")
    header = ("| layer | batch | C->F, HxW, k | sparsity | torch | im2col | minidl sparse "
              "| vs torch | vs im2col | layer dense | layer sparse | layer auto | auto/best "
              "| auto ran |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    rng = np.random.default_rng(0)
    for label, n, c, f, size, k, pad, stride, sparsities in LAYERS:
        x = rng.standard_normal((n, c, size, size)).astype(np.float32)
        dense_w = (rng.standard_normal((f, c, k, k)) * 0.05).astype(np.float32)
        bias = (rng.standard_normal(f) * 0.1).astype(np.float32)
        for sparsity in sparsities:
            w = magnitude_pruned(dense_w, sparsity)
            print(f"| {label} | {n} | {c}->{f}, {size}x{size}, {k} | {sparsity} | "
                  + row(x, w, bias, pad, stride, torch, args.repeats, args.rounds), flush=True)


def row(x, w, bias, pad, stride, torch, repeats, rounds):
    """The timing cells of one table row."""
    n, c, size, _ = x.shape
    f, _, k, _ = w.shape
    geometry = ((stride, stride), (pad, pad), (1, 1))
    dense_conv, sparse_conv = get_kernel("conv2d_forward"), get_kernel("direct_sparse_conv2d")
    csr = conv_layout(w, (c, size, size), *geometry, 1)
    steps = {"im2col": lambda: dense_conv(x, w, *geometry, 1),
             "ours": lambda: sparse_conv(x, csr.indptr, csr.indices, csr.values, (k, k),
                                         *geometry)}
    if torch is not None:
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)

        def torch_step():
            with torch.no_grad():
                return torch.nn.functional.conv2d(tx, tw, stride=stride, padding=pad)
        steps["torch"] = torch_step
    kernels = rounds_ms(steps, repeats, rounds)
    im2col, ours, theirs = kernels["im2col"], kernels["ours"], kernels.get("torch")
    versus = short_blocks(steps["torch"], steps["ours"], 2.0)[2] if torch is not None else None

    data = paddle.layer.data("x", paddle.data_type.dense_vector(c * size * size), height=size,
                             width=size)
    conv = paddle.layer.img_conv(data, filter_size=k, num_filters=f, padding=pad, stride=stride,
                                 name="conv")
    run = LayerRun(conv, {"_conv.w0": w.reshape(1, -1), "_conv.wbias": bias[:, None]},
                   [x.reshape(n, -1)])
    layer = rounds_ms({"dense": run.step(False), "sparse": run.step(True),
                       "auto": run.step("auto")}, repeats, rounds)
    best = "dense" if layer["dense"] < layer["sparse"] else "sparse"
    auto_paired, best_paired, _ = paired_ms(run.step("auto"), run.step(best == "sparse"), 1.0)
    np.testing.assert_allclose(run.step("auto")(), run.step(False)(), rtol=1e-3, atol=1e-4)
    torch_cell = f"{theirs:.3f}" if theirs is not None else "-"
    torch_ratio = f"{versus:.1f}x" if versus is not None else "-"
    return (f"{torch_cell} | {im2col:.3f} | {ours:.3f} | {torch_ratio} | "
            f"{im2col / ours:.1f}x | {layer['dense']:.3f} | {layer['sparse']:.3f} | "
            f"{layer['auto']:.3f} | {auto_paired / best_paired:.2f} | "
            f"{run.decision().choice} |")

if __name__ == "__main__":
    main()
