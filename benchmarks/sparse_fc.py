"""Pruned fc layers: minidl's CSR kernel against dense BLAS, SciPy CSR and PyTorch.

For a 4096x4096 fc layer and others (``out = x . W^T``, batch 1, and a
batch-16 row), weights magnitude-pruned to each sparsity; each cell is the best of
``--rounds`` block medians of ``--repeats`` runs, the blocks of one row alternating
(``timing.rounds_ms``: a shared machine's spells move a single block by up to 2x):

* ``numpy``: ``x @ W`` through OpenBLAS; ``torch``: ``torch.nn.functional.linear``;
  ``best dense`` is the faster of the two;
* ``scipy``: ``scipy.sparse.csr_matrix @ x`` (single-threaded); ``torch csr``:
  ``torch.sparse.mm`` on a CSR tensor;
* ``minidl kernel``: the kernel alone that the layer runs, ``csr_matmul``, on the layout
  ``'auto'`` builds (its column width as this machine's calibration chose); then the whole
  fc layer (bias + ReLU) run dense and with ``sparse='auto'`` -- ``auto/dense`` must stay
  at or below ~1.05.

A second table runs the 4096x4096 layer through the public call, one sample a call:
``paddle.inference.Inference(...).infer([(x,)])`` with ``sparse=False`` and with the
default ``'auto'`` (after its plan settled), where what the call does besides the layer
(feeding, checking the plan, the walk over the network) adds to both; its ``dense / auto``
is the median ratio of alternating short blocks of the two (``timing.short_blocks``, 2 s).

Compile time is reported separately (a cold Numba cache, then a second process that must
only load it).

    python benchmarks/sparse_fc.py [--repeats 15] [--rounds 3] [--no-compile-report]

Unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for this command where the machine sets them.
"""

import argparse
import time

import numpy as np
from sparse_common import (LayerRun, compile_report, machine, magnitude_pruned, optional,
                           rounds_ms)
from timing import short_blocks

import minidl as paddle
from minidl.backends import get_kernel, set_backend
from minidl.sparse_inference import calibration, column_width
from minidl.sparse_inference.layout import fc_layout

#: (inputs, outputs, batch, sparsities)
SHAPES = [
    (25088, 4096, 1, (0.9, 0.99)),
    (4096, 4096, 1, (0.8, 0.9, 0.95, 0.99)),
    (4096, 4096, 16, (0.9, 0.99)),
]

COMPILE_SCRIPT = """
import time
import numpy as np
from minidl.backends import get_kernel
from minidl.backends.numba_cpu import sparse as kernels, sparse_runs
from minidl.sparse_inference.layout import conv_layout, fc_layout
start = time.perf_counter()  # after the imports: only the kernels' first calls count
rng = np.random.default_rng(0)
matmul, conv = get_kernel("csr_matmul", "cpu"), get_kernel("direct_sparse_conv2d", "cpu")
for k in (300, 70000):   # uint16 and uint32 indices
    csr = fc_layout(rng.standard_normal((k, 3)).astype(np.float32))
    for n in (1, 4):
        matmul(csr.indptr, csr.indices, csr.values, np.ones((n, k), np.float32))
w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
csr = conv_layout(w, (3, 8, 8), (1, 1), (1, 1), (1, 1), 1)
conv(np.ones((1, 3, 8, 8), np.float32), csr.indptr, csr.indices, csr.values, (3, 3), (1, 1),
     (1, 1), (1, 1))
compiled = sum(sum(f.stats.cache_misses.values())
               for f in (kernels._rows_dot, sparse_runs._span_of_row))
print(time.perf_counter() - start, compiled)
"""


def peers(x, w_out_in, torch, scipy):
    """{name: step} of the dense and sparse peers for ``x (N, in)``, ``W (out, in)``."""
    steps = {}
    w_in_out = np.ascontiguousarray(w_out_in.T)
    steps["numpy"] = lambda: x @ w_in_out
    if torch is not None:
        tx, tw = torch.from_numpy(x), torch.from_numpy(w_out_in)
        steps["torch"] = lambda: torch.nn.functional.linear(tx, tw)
        tcsr, txt = tw.to_sparse_csr(), tx.T.contiguous()
        steps["torch csr"] = lambda: torch.sparse.mm(tcsr, txt)
    if scipy is not None:
        import scipy.sparse
        csr, xt = scipy.sparse.csr_matrix(w_out_in), np.ascontiguousarray(x.T)
        steps["scipy"] = lambda: csr @ xt
    return steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-compile-report", action="store_true")
    args = parser.parse_args()
    set_backend("cpu")
    torch, scipy = optional("torch"), optional("scipy")
    print(machine())
    if not args.no_compile_report:
        cold, warm = compile_report(COMPILE_SCRIPT)
        print(f"Numba kernels, first use: {cold[0]:.2f} s with a cold cache ({cold[1]} "
              f"compilations); {warm[0]:.2f} s in a second process ({warm[1]} compilations)")
    print(f"best of {args.rounds} block medians of {args.repeats} runs, ms; ratios = peer "
          "time / minidl time\n")
    header = ("| in x out | batch | sparsity | numpy | torch | scipy | torch csr "
              "| minidl kernel | vs best dense | vs scipy | vs torch csr | layer dense "
              "| layer auto | auto/dense | auto ran |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    rng = np.random.default_rng(0)
    for k, f, n, sparsities in SHAPES:
        dense_w = (rng.standard_normal((f, k)) * 0.02).astype(np.float32)
        x = rng.standard_normal((n, k)).astype(np.float32)
        bias = (rng.standard_normal(f) * 0.1).astype(np.float32)
        for sparsity in sparsities:
            print(row(k, f, n, sparsity, magnitude_pruned(dense_w, sparsity), x, bias, torch,
                      scipy, args.repeats, args.rounds), flush=True)
    print("\nOne sample a call through paddle.inference.Inference.infer, and the layer "
          "alone, in the same alternating blocks, ms:\n")
    print("| in x out | sparsity | infer dense | infer auto | dense / auto | layer dense "
          "| layer auto | dense / auto |")
    print("|---|---|---|---|---|---|---|---|")
    dense_w = (rng.standard_normal((4096, 4096)) * 0.02).astype(np.float32)
    sample = [(rng.standard_normal(4096).astype(np.float32),)]
    for sparsity in (0.9, 0.99):
        print(infer_row(magnitude_pruned(dense_w, sparsity), sample, sparsity, args.repeats,
                        args.rounds), flush=True)


#: seconds of calls before the infer row is timed: 'auto' settles its plan on the first
#: real batches (a few blocks of runs, each after a short quiet spell)
SETTLE_S = 3.0


def infer_row(w_out_in, sample, sparsity, repeats, rounds):
    f, k = w_out_in.shape
    data = paddle.layer.data("x", paddle.data_type.dense_vector(k))
    fc = paddle.layer.fc(data, size=f, act=paddle.activation.Relu(), name="fc")
    parameters = paddle.parameters.create(fc)
    parameters.set("_fc.w0", w_out_in.T)
    steps = {}
    for name, sparse in (("dense", False), ("auto", "auto")):
        inference = paddle.inference.Inference(fc, parameters, sparse=sparse)
        steps[name] = lambda inference=inference: inference.infer(sample)
        start = time.perf_counter()
        while time.perf_counter() - start < SETTLE_S:
            steps[name]()
    run = LayerRun(fc, {"_fc.w0": w_out_in.T}, [sample[0][0].reshape(1, k)])
    steps.update({"layer dense": run.step(False), "layer auto": run.step("auto")})
    times = rounds_ms(steps, repeats, rounds)
    # the ratio from short alternating blocks: the dense layer streams 64 MB from memory
    # and the sparse one does not, so a slow spell of the host moved one library's best
    # block and not the other's (the ratio at 0.99 read 25-37x with the same code)
    ratio = short_blocks(steps["dense"], steps["auto"], 2.0)[2]
    return (f"| {k} x {f} | {sparsity} | {times['dense']:.3f} | {times['auto']:.3f} | "
            f"{ratio:.1f}x | {times['layer dense']:.3f} | "
            f"{times['layer auto']:.3f} | {times['layer dense'] / times['layer auto']:.1f}x |")


def row(k, f, n, sparsity, w, x, bias, torch, scipy, repeats, rounds):
    """One table row: every peer, the kernel, and the layer dense and 'auto'."""
    steps = peers(x, w, torch, scipy)
    # with the column width 'auto' gives this machine's layouts (its calibration's probe)
    csr = fc_layout(w.T, column_width.of_model(calibration.cost_model(["fc"], ["one"])))
    matmul = get_kernel("csr_matmul")
    steps["ours"] = lambda: matmul(csr.indptr, csr.indices, csr.values, x)

    data = paddle.layer.data("x", paddle.data_type.dense_vector(k))
    fc = paddle.layer.fc(data, size=f, act=paddle.activation.Relu(), name="fc")
    run = LayerRun(fc, {"_fc.w0": w.T, "_fc.wbias": bias[None]}, [x])
    steps.update({"layer dense": run.step(False), "layer auto": run.step("auto")})
    times = rounds_ms(steps, repeats, rounds)
    ours, dense_layer, auto_layer = (times.pop(name) for name in
                                     ("ours", "layer dense", "layer auto"))
    best = min(times[name] for name in ("numpy", "torch") if name in times)
    np.testing.assert_allclose(run.step("auto")(), run.step(False)(), rtol=1e-3, atol=1e-4)
    cell = {name: f"{t:.3f}" for name, t in times.items()}
    ratio = {name: f"{t / ours:.1f}x" for name, t in times.items()}
    return (f"| {k} x {f} | {n} | {sparsity} | {cell.get('numpy', '-')} | "
            f"{cell.get('torch', '-')} | {cell.get('scipy', '-')} | {cell.get('torch csr', '-')} "
            f"| {ours:.3f} | {best / ours:.1f}x | {ratio.get('scipy', '-')} | "
            f"{ratio.get('torch csr', '-')} | {dense_layer:.3f} | {auto_layer:.3f} | "
            f"{auto_layer / dense_layer:.2f} | {run.decision().choice} |")

if __name__ == "__main__":
    main()
