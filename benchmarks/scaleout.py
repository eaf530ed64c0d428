"""Scale-out: data-parallel training throughput on 1 and 2 MPI ranks, and what to expect
at 8, 64 and 512 ranks on a commodity cluster.

    python benchmarks/scaleout.py                  # runs mpiexec -n 1 and -n 2 itself
    python benchmarks/scaleout.py --bandwidth-gbit 100 --latency-us 2    # an InfiniBand cluster

The network is an MNIST-sized MLP (784-512-256-10, 0.54 M parameters: 2.1 MB of float32
gradients summed per step) with a global batch of 128. Each rank runs one BLAS thread, as
when one rank runs per core. One rank at batches 128 and 16, and two ranks, measure per step:

    t0 + c*b  forward + backward of b samples (BeginIteration..EndForwardBackward): a fixed
              cost t0 (Python, per-layer overhead) and c per sample, fitted on b = 128, 16
    u         the update (EndForwardBackward..EndIteration): every rank does all of it
    A         the allreduce of the gradients between the two ranks of this machine

and model a step on ``p`` ranks of a cluster (one rank per core; ``alpha`` latency,
``beta`` bytes/s per link, ``S`` gradient bytes; a recursive-halving allreduce; the trainer's
two collectives a step: the gradients' allreduce and an allgather of about G = 512 bytes a
rank of cost, sample count and evaluator statistics)::

    t(p) = t0 + c * b + u + allreduce(p) + allgather(p)
    allreduce(p) = 2 * log2(p) * alpha + 2 * (p - 1)/p * S / beta
    allgather(p) = log2(p) * alpha + p * G / beta

with ``b`` the samples per rank. The same formula with this machine's measured ``A`` predicts
the 2-rank step, to compare with the measurement. Efficiency is the throughput per rank over
the 1-rank throughput. Two ways of growing: *fixed global batch* (the script's batch of 128
split over the ranks, as ``paddle.batch(..., 128)`` under ``mpiexec`` does), and *fixed batch
per rank* (the script asks for ``128 * p``; each rank keeps 128 samples).
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time

import numpy as np

SIZES = (784, 512, 256, 10)
BATCH = 128
WARMUP, STEPS = 3, 20


def worker(batch, steps):
    """One rank's part of the measurement; rank 0 prints a JSON line."""
    import minidl as paddle
    from minidl.distributed import get_comm

    paddle.init(seed=1)
    x = paddle.layer.data("x", paddle.data_type.dense_vector(SIZES[0]))
    label = paddle.layer.data("label", paddle.data_type.integer_value(SIZES[-1]))
    hidden = x
    for i, size in enumerate(SIZES[1:-1]):
        hidden = paddle.layer.fc(input=hidden, size=size, act=paddle.activation.Relu(),
                                 name=f"hidden{i}")
    out = paddle.layer.fc(input=hidden, size=SIZES[-1], act=paddle.activation.Softmax(),
                          name="out")
    cost = paddle.layer.classification_cost(input=out, label=label)
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, parameters, paddle.optimizer.Momentum(
        momentum=0.9, learning_rate=0.1 / batch))
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((batch * (WARMUP + steps), SIZES[0])).astype(np.float32)
    labels = rng.integers(0, SIZES[-1], len(xs))
    samples = [(xs[i], int(labels[i])) for i in range(len(xs))]
    marks = {}

    def handler(event):
        marks.setdefault((type(event).__name__, event.batch_id), time.perf_counter())

    trainer.train(paddle.batch(lambda: iter(samples), batch), num_passes=1,
                  event_handler=lambda e: hasattr(e, "batch_id") and handler(e),
                  feeding={"x": 0, "label": 1})
    timed = range(WARMUP, WARMUP + steps)
    step = np.median([marks["EndIteration", b] - marks["BeginIteration", b] for b in timed])
    forward_backward = np.median([marks["EndForwardBackward", b] - marks["BeginIteration", b]
                                  for b in timed])
    update = np.median([marks["EndIteration", b] - marks["EndForwardBackward", b]
                        for b in timed])
    total = marks["EndIteration", WARMUP + steps - 1] - marks["BeginIteration", WARMUP]
    comm = get_comm()
    gradient_bytes = 4 * sum(parameters.get(name).size for name in parameters.names())
    allreduce = allgather = float("nan")
    if comm.size > 1:   # the step's two collectives alone, best of 20 (no waiting for a peer)
        buffer = np.ones(gradient_bytes // 4, dtype=np.float32)
        entry = {"batch": batch, "samples": batch // 2, "cost": 1.0, "stats": [[1.0, 2.0]],
                 "shapes": {}}
        allreduce = _best_of(20, lambda: comm.allreduce_sum(buffer))
        allgather = _best_of(20, lambda: comm.allgather(entry))
    if comm.is_main:
        print(json.dumps({"ranks": comm.size, "samples_per_s": batch * steps / total,
                          "step": step, "forward_backward": forward_backward,
                          "update": update, "allreduce": allreduce, "allgather": allgather,
                          "gradient_bytes": gradient_bytes}), flush=True)


def _best_of(repeats, call):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.min(times))


def launch(ranks, batch, steps, independent=False):
    """Run the worker on ``ranks`` ranks; ``independent``: each trains alone (no MPI
    communication), the control for how much the machine's other work slows 2 processes."""
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if not os.path.exists(mpiexec):
        mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        sys.exit("scaleout: no mpiexec (pip install 'minidl[mpi]')")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    if independent:
        env["PADDLE_INIT_DISTRIBUTED"] = "none"
    done = subprocess.run([mpiexec, "-n", str(ranks), sys.executable, __file__, "--worker",
                           "--batch", str(batch), "--steps", str(steps)],
                          capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        sys.exit(f"scaleout: {ranks} ranks failed:\n{done.stdout}{done.stderr}")
    runs = [json.loads(line) for line in done.stdout.strip().splitlines()]
    if independent:
        return {**runs[0], "ranks": len(runs),
                "samples_per_s": sum(run["samples_per_s"] for run in runs)}
    return runs[0]


GATHERED_BYTES = 512


def modelled_step(p, per_rank, fit, communication):
    """Seconds of one step on ``p`` ranks with ``per_rank`` samples each (see the docstring)."""
    t0, c, u = fit
    return t0 + c * per_rank + u + (communication if p > 1 else 0.0)


def cluster_communication(p, size, alpha, beta):
    """allreduce(p) + allgather(p) of the docstring."""
    allreduce = 2 * math.log2(p) * alpha + 2 * (p - 1) / p * size / beta
    return allreduce + math.log2(p) * alpha + p * GATHERED_BYTES / beta


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--bandwidth-gbit", type=float, default=10.0,
                        help="link bandwidth of the modelled cluster (default 10 Gb/s Ethernet)")
    parser.add_argument("--latency-us", type=float, default=30.0,
                        help="MPI message latency of the modelled cluster (default 30 us, TCP)")
    args = parser.parse_args()
    if args.worker:
        return worker(args.batch, args.steps)

    load = os.getloadavg()[0]
    small = max(1, args.batch // 8)
    one, one_small, two = (launch(1, args.batch, args.steps), launch(1, small, args.steps),
                           launch(2, args.batch, args.steps))
    alone = launch(2, args.batch // 2, args.steps, independent=True)
    print(f"MLP {'-'.join(map(str, SIZES))}, {one['gradient_bytes'] / 1e6:.2f} MB of "
          f"gradients per step, one BLAS thread per rank; {os.cpu_count()} cores, load "
          f"average {load:.1f} before and {os.getloadavg()[0]:.1f} after (other work on "
          "the machine slows the 2-rank run)\n")
    print("| ranks | global batch | samples/s | step ms | forward+backward ms | update ms | "
          "efficiency |")
    print("|---|---|---|---|---|---|---|")
    rows = ((one, args.batch, "1"), (one_small, small, "1"), (two, args.batch, "2"),
            (alone, args.batch // 2, "2 alone*"))
    for run, batch, label in rows:
        efficiency = run["samples_per_s"] / one["samples_per_s"] / run["ranks"]
        print(f"| {label} | {batch} | {run['samples_per_s']:.0f} | "
              f"{run['step'] * 1e3:.1f} | {run['forward_backward'] * 1e3:.1f} | "
              f"{run['update'] * 1e3:.1f} | {efficiency:.0%} |")
    print("\n\\* two processes training alone on the same cores, no communication: what "
          "the machine gives two processes now (the first one's times; samples/s of both)")

    c = (one["forward_backward"] - one_small["forward_backward"]) / (args.batch - small)
    t0 = max(0.0, one["forward_backward"] - c * args.batch)
    fit = (t0, c, one["update"])
    size = one["gradient_bytes"]
    here = modelled_step(2, args.batch / 2, fit, two["allreduce"] + two["allgather"])
    print(f"\nfit: t0 = {t0 * 1e3:.2f} ms, c = {c * 1e6:.0f} us/sample, u = "
          f"{fit[2] * 1e3:.2f} ms; between the 2 ranks here (shared memory) the allreduce "
          f"of the gradients takes {two['allreduce'] * 1e3:.2f} ms, the allgather "
          f"{two['allgather'] * 1e3:.2f} ms")
    print(f"2 ranks here: the model says {here * 1e3:.1f} ms a step "
          f"({args.batch / here / 2 / one['samples_per_s']:.0%} efficiency), measured "
          f"{two['step'] * 1e3:.1f} ms")

    alpha, beta = args.latency_us * 1e-6, args.bandwidth_gbit * 1e9 / 8
    print(f"\nModelled cluster: {args.bandwidth_gbit:g} Gb/s links, {args.latency_us:g} us "
          "latency, one rank per core\n")
    print("| ranks | communication ms | fixed global batch 128: samples/rank | step ms | "
          "efficiency | fixed 128 per rank: step ms | efficiency |")
    print("|---|---|---|---|---|---|---|")
    single = modelled_step(1, args.batch, fit, 0.0)
    for p in (2, 8, 64, 512):
        communication = cluster_communication(p, size, alpha, beta)
        weak = modelled_step(p, args.batch, fit, communication)
        if args.batch >= p:
            strong = modelled_step(p, args.batch / p, fit, communication)
            fixed = f"{args.batch / p:g} | {strong * 1e3:.1f} | {single / (p * strong):.0%}"
        else:
            fixed = f"{args.batch / p:g} | - | - (fewer samples than ranks)"
        print(f"| {p} | {communication * 1e3:.2f} | {fixed} | {weak * 1e3:.1f} | "
              f"{single / weak:.0%} |")


if __name__ == "__main__":
    main()
