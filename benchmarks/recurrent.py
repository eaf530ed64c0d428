"""Fused recurrent layers against PyTorch CPU, same process, same shapes.

    python benchmarks/recurrent.py [--repeats 7] [--rounds 3] [--hidden 512] [--batch 64]
                                   [--steps 50]

Rows (float32, forward + backward unless the label says fwd; median ms):

1. ``lstmemory`` alone: the recurrence over input rows already projected to ``4H`` (what the
   layer does; PyTorch has no module doing only this, so no peer).
2. LSTM layer, input ``H`` -> hidden ``H``: minidl's input projection (``x @ W``, ``4H``
   outputs, as the ``fc``/``mixed`` layer before ``lstmemory``) then ``lstmemory``, against
   ``torch.nn.LSTM(H, H)``, which does both (its input GEMM included). minidl also computes
   the three peephole terms PyTorch's LSTM has not.
3. The same with ragged lengths (uniform in 10 .. 90, mean ~50): minidl runs the packed
   rows; PyTorch runs a ``PackedSequence`` (``pack_padded_sequence``, packed outside the
   timed block).
4. GRU rows as 2 and 3: input projection + ``grumemory`` against ``torch.nn.GRU(H, H)``.

Both sides start from a zero state, and backward gets a gradient for every output row;
minidl's forward + backward is the Functions' (``functions.basic.matmul``,
``functions.recurrent.lstm`` / ``gru``) with gradients for the input, weights and biases.
Each pair is timed in alternating blocks (``timing.rounds_ms``: the best of ``--rounds``
medians): the machine these figures come from is shared, so compare ratios, not times.
"""

import argparse
import os
import sys

import numpy as np

import minidl as paddle
from minidl.core import Tensor
from minidl.core.sequence import SequenceLayout
from minidl.functions.basic import matmul
from minidl.functions.recurrent import gru, lstm
from timing import rounds_ms

try:
    import torch
except ImportError:  # the peer is optional
    torch = None


def _minidl_step(kind, x, w_in, w, bias, starts, with_backward=True):
    """A closure running minidl's projection (if ``w_in``) + recurrence, and its backward."""
    def step():
        tx = Tensor(x, requires_grad=True)
        tw, tb = Tensor(w, requires_grad=True), Tensor(bias, requires_grad=True)
        inputs = tx if w_in is None else matmul(tx, Tensor(w_in, requires_grad=True))
        run = lstm if kind == "lstm" else gru
        h = run(inputs, tw, tb, starts)
        if with_backward:
            h.backward(np.ones(h.shape, dtype=h.dtype))
        return h
    return step


def _params(rng, kind, hidden, projected):
    gates = 4 if kind == "lstm" else 3
    scale = 1 / np.sqrt(hidden)
    w_in = None if projected else (rng.standard_normal((hidden, gates * hidden)) * scale)
    w = rng.standard_normal((hidden, gates * hidden)) * scale
    bias = rng.standard_normal((1, (7 if kind == "lstm" else 3) * hidden)) * 0.1
    return (None if w_in is None else w_in.astype(np.float32), w.astype(np.float32),
            bias.astype(np.float32))


def _torch_step(kind, lengths, hidden, with_backward=True):
    module = (torch.nn.LSTM if kind == "lstm" else torch.nn.GRU)(hidden, hidden)
    batch, longest = len(lengths), int(max(lengths))
    padded = torch.randn(longest, batch, hidden)
    ragged = len(set(lengths)) > 1
    packed = padded.requires_grad_()
    if ragged:      # the packed rows are the leaf that gets the input gradient
        packed = torch.nn.utils.rnn.pack_padded_sequence(padded.detach(), torch.tensor(lengths),
                                                         enforce_sorted=False)
        packed = torch.nn.utils.rnn.PackedSequence(
            packed.data.requires_grad_(), packed.batch_sizes, packed.sorted_indices,
            packed.unsorted_indices)

    def step():
        module.zero_grad()
        out, _ = module(packed)
        values = out.data if ragged else out
        if with_backward:
            values.backward(torch.ones_like(values))
        return values

    def forward():
        with torch.no_grad():
            return module(packed)
    return step if with_backward else forward


def bench(kind, hidden, batch, steps, repeats, rounds, rng):
    """Rows (label, minidl ms, torch ms or None) for one kind of recurrence."""
    uniform = [steps] * batch
    ragged = rng.integers(10, 91, batch).tolist()
    rows = []
    if kind == "lstm":
        layout = SequenceLayout.from_lengths(uniform)
        x = rng.standard_normal((layout.num_rows, 4 * hidden)).astype(np.float32)
        _, w, bias = _params(rng, kind, hidden, projected=True)
        alone = rounds_ms({"minidl": _minidl_step(kind, x, None, w, bias, layout.starts)},
                          repeats, rounds)
        rows.append((f"lstmemory alone (projected input), {batch}x{steps}", alone["minidl"],
                     None))
    for lengths, label in ((uniform, f"{batch} x {steps} steps"),
                           (ragged, f"{batch} ragged 10-90, {sum(ragged)} rows")):
        layout = SequenceLayout.from_lengths(lengths)
        x = rng.standard_normal((layout.num_rows, hidden)).astype(np.float32)
        w_in, w, bias = _params(rng, kind, hidden, projected=False)
        steps_fb = {"minidl": _minidl_step(kind, x, w_in, w, bias, layout.starts)}
        if torch is not None:
            steps_fb["torch"] = _torch_step(kind, lengths, hidden)
        timed = rounds_ms(steps_fb, repeats, rounds)
        name = "LSTM" if kind == "lstm" else "GRU"
        rows.append((f"{name} {hidden}->{hidden}, {label}", timed["minidl"],
                     timed.get("torch")))
        if lengths is uniform:
            steps_f = {"minidl": _minidl_step(kind, x, w_in, w, bias, layout.starts, False)}
            if torch is not None:
                steps_f["torch"] = _torch_step(kind, lengths, hidden, False)
            timed = rounds_ms(steps_f, repeats, rounds)
            rows.append((f"{name} {hidden}->{hidden}, {label}, fwd", timed["minidl"],
                         timed.get("torch")))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args(argv)
    paddle.init(seed=1)
    if torch is not None:
        torch.manual_seed(1)
    rng = np.random.default_rng(1)
    print(f"minidl backend {paddle.backends.current_backend().name}, torch "
          f"{torch.__version__ if torch else 'not installed'} "
          f"({torch.get_num_threads() if torch else '-'} threads, {os.cpu_count()} cores)")
    rows = []
    for kind in ("lstm", "gru"):
        rows += bench(kind, args.hidden, args.batch, args.steps, args.repeats, args.rounds,
                      rng)
    print(f"\n{'forward + backward (fwd: forward only)':<52} {'minidl ms':>10} "
          f"{'torch ms':>10} {'ratio':>7}")
    for label, ours, theirs in rows:
        ratio = f"{ours / theirs:7.2f}" if theirs else "      -"
        torch_ms = f"{theirs:10.2f}" if theirs else "         -"
        print(f"{label:<52} {ours:10.2f} {torch_ms} {ratio}")
    return rows


if __name__ == "__main__":
    sys.exit(main() and 0)
