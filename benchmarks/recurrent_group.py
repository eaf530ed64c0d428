"""A GRU unrolled by ``recurrent_group``: minidl against a PyTorch ``GRUCell`` loop, CPU.

    python benchmarks/recurrent_group.py [--repeats 7] [--rounds 3] [--threads N]

The network is v2's ``networks.gru_group`` on 256-wide inputs: an ``fc`` (linear, no bias)
projecting every timestep to the GRU's three gates at once, then a ``recurrent_group`` whose
step is ``memory`` + ``gru_step`` (hidden 256). PyTorch runs ``torch.nn.GRUCell(256, 256)``
in a Python loop over the timesteps -- the same work, its input projection done step by step
inside the cell. Batch 32, 50 timesteps, float32; a step of each is:

1. forward + backward (``sum`` of all outputs as the loss; every parameter's and the
   input's gradient), all 32 sequences 50 steps long;
2. the same on ragged lengths (a seeded draw in 1..50): minidl sorts the sequences by length
   once and runs each timestep on those still running; the PyTorch loop does the same with
   the batch sorted by length (``h[:n]`` at each step), as ``PackedSequence`` does;
3. forward only, without recording a graph (inference), equal lengths.

What is measured is the per-step cost of the group machinery next to PyTorch's: one Python
step function call per timestep on each side. Neither includes an optimizer update or the
feeding of samples. Each figure is the best of ``--rounds`` blocks, each the median of
``--repeats`` runs after warm-up, the two libraries' blocks alternating
(``timing.rounds_ms``: the machine is shared, and other work comes and goes between
blocks); ratio = minidl / PyTorch (target: <= 2).

``--threads N`` gives every library N threads (OpenBLAS, OpenMP, PyTorch); without it each
uses its defaults.
"""

import argparse
import os
import sys


def _threads_from_command_line():
    """``--threads N`` must reach OpenBLAS and OpenMP before they load."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--threads", type=int)
    threads = early.parse_known_args()[0].threads
    if threads:
        for name in ("OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS", "OMP_NUM_THREADS",
                     "MKL_NUM_THREADS"):
            os.environ[name] = str(threads)
    return threads


THREADS = _threads_from_command_line() if __name__ == "__main__" else None

import numpy as np  # noqa: E402  (after the thread counts are set)

import minidl as paddle  # noqa: E402
from minidl.core import Tensor, no_grad  # noqa: E402
from minidl.core.sequence import SequenceLayout  # noqa: E402
from minidl.layers.graph import Network, RunContext  # noqa: E402
from timing import rounds_ms  # noqa: E402

try:
    import torch
except ImportError:  # the peer is optional
    torch = None

HIDDEN, INPUT, BATCH, STEPS = 256, 256, 32, 50


def gru_network():
    """fc (3 * HIDDEN, linear) + networks.gru_group: v2's simple_gru without its mixed bias."""
    paddle.layer.reset_names()
    x = paddle.layer.data(name="x", type=paddle.data_type.dense_vector_sequence(INPUT))
    projected = paddle.layer.fc(input=x, size=3 * HIDDEN, act=paddle.activation.Linear(),
                                bias_attr=False)
    return paddle.networks.gru_group(input=projected, size=HIDDEN)


def minidl_steps(lengths, rng):
    """(forward + backward, forward only) closures of the minidl network on ``lengths``."""
    out = gru_network()
    network = Network(out)
    params = {name: (0.05 * rng.standard_normal(spec.compute_shape)).astype(np.float32)
              for name, spec in network.param_specs.items()}
    layout = SequenceLayout.from_lengths(lengths)
    x = rng.standard_normal((layout.num_rows, INPUT)).astype(np.float32)

    def run(train):
        tensors = {name: Tensor(value, requires_grad=train) for name, value in params.items()}
        fed = Tensor(x, requires_grad=train, seq=layout)
        return network.forward({"x": fed}, RunContext(tensors, is_train=train))[out.name]

    def forward_backward():
        y = run(True)
        y.backward(np.ones_like(y.data))

    def forward():
        with no_grad():
            run(False)

    return forward_backward, forward


def torch_steps(lengths, rng):
    """The same with ``GRUCell`` over the batch sorted by length (a prefix per step)."""
    cell = torch.nn.GRUCell(INPUT, HIDDEN)
    order = sorted(lengths, reverse=True)
    running = [sum(1 for n in order if n > t) for t in range(order[0])]
    x = torch.tensor(rng.standard_normal((order[0], len(order), INPUT)).astype(np.float32),
                     requires_grad=True)

    def run():
        h, outputs = torch.zeros(len(order), HIDDEN), []
        for t, n in enumerate(running):
            h = cell(x[t, :n], h[:n])
            outputs.append(h)
        return torch.cat(outputs)

    def forward_backward():
        run().sum().backward()

    def forward():
        with torch.no_grad():
            run()

    return forward_backward, forward


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int,
                        help="threads for every library (default: their own defaults)")
    args = parser.parse_args(argv)
    paddle.init(seed=1)
    if torch is not None:
        torch.manual_seed(1)
        if THREADS:
            torch.set_num_threads(THREADS)
    rng = np.random.default_rng(1)
    equal = [STEPS] * BATCH
    ragged = rng.integers(1, STEPS + 1, BATCH).tolist()
    print(f"minidl backend {paddle.backends.current_backend().name}, torch "
          f"{torch.__version__ if torch else 'not installed'} "
          f"({torch.get_num_threads() if torch else '-'} threads), {os.cpu_count()} cores; "
          f"GRU hidden {HIDDEN}, input {INPUT}, batch {BATCH}, {STEPS} steps")
    ours_equal, ours_ragged = minidl_steps(equal, rng), minidl_steps(ragged, rng)
    rows = [("forward + backward, lengths all 50", ours_equal[0]),
            (f"forward + backward, ragged lengths (mean {np.mean(ragged):.0f})", ours_ragged[0]),
            ("forward only (no graph), lengths all 50", ours_equal[1])]
    theirs = [None] * 3
    if torch is not None:
        peer_equal, peer_ragged = torch_steps(equal, rng), torch_steps(ragged, rng)
        theirs = [peer_equal[0], peer_ragged[0], peer_equal[1]]
    results = []
    for (label, step), peer in zip(rows, theirs):
        steps = {"ours": step} if peer is None else {"ours": step, "peer": peer}
        best = rounds_ms(steps, args.repeats, args.rounds)
        results.append((label, best["ours"], best.get("peer")))
    print(f"\n{'step':<48} {'minidl ms':>10} {'torch ms':>10} {'ratio':>7}")
    for label, ours_ms, peer_ms in results:
        ratio = f"{ours_ms / peer_ms:7.2f}" if peer_ms else "      -"
        peer_text = f"{peer_ms:10.2f}" if peer_ms else "         -"
        print(f"{label:<48} {ours_ms:10.2f} {peer_text} {ratio}")
    return results


if __name__ == "__main__":
    sys.exit(main() and 0)
