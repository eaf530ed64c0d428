"""What the trainer's NaN/inf check costs per training step (``paddle.init(check_nan_inf=...)``).

Every batch the trainer checks that the cost is finite and that each gradient is: an fc
weight gradient whose layer bounded it (``x^T gy`` from the squared norms of ``x`` and
``gy``, cheaper at small batches; ``minidl.functions.certified_matmul``) is proven finite
without being read, every other gradient by its squared norm (one BLAS dot product each;
``minidl.training.trainer._all_finite``). Measurements per network and batch size:

* ``check``: that work alone for a real step -- the bounds' dot products and the dot
  products of the gradients left to read (median of many runs);
* ``on`` / ``off``: whole training steps (forward, backward, update) with the check on and
  off, each the best of ``--rounds`` rounds of a block of ``--repeats`` passes of
  ``--steps`` batches (``timing.rounds_ms``), divided by the steps;
* ``in-step``: the time spent reading gradients during the timed steps with the check on,
  over the time of those steps (both clocked in the same run, so a busy machine slows
  both alike; the bounds, computed inside backward, are not in it).

``check / off`` is the share of a step the check takes; ``on / off - 1``
is the measured difference of whole steps, which on a shared machine is mostly noise at
this size.

    python benchmarks/nan_check.py [--repeats 5 --rounds 3 --steps 10]
"""

import argparse
import math
import time

import numpy as np
from sparse_common import machine
from timing import median_ms, rounds_ms

import minidl as paddle
from minidl.core import settings
from minidl.layers.base import reset_names
from minidl.models.book_mnist import build_conv_network
from minidl.training.feeding import Feeder
from minidl.training import trainer as trainer_module
from minidl.functions.certified_matmul import CertifiedMatMul
from minidl.training.trainer import _all_finite, _unproven


def mlp_network():
    """784 -> 512 -> 512 -> 10 (fc layers: the most parameters per flop)."""
    images = paddle.layer.data(name="pixel", type=paddle.data_type.dense_vector(784))
    label = paddle.layer.data(name="label", type=paddle.data_type.integer_value(10))
    hidden = images
    for _ in range(2):
        hidden = paddle.layer.fc(input=hidden, size=512, act=paddle.activation.Relu())
    prediction = paddle.layer.fc(input=hidden, size=10, act=paddle.activation.Softmax())
    return paddle.layer.classification_cost(input=prediction, label=label)


NETWORKS = {"book conv (demo)": lambda: build_conv_network()[0], "mlp 784-512-512-10": mlp_network}


def measure(build, batch_size, steps, repeats, rounds):
    reset_names()
    cost = build()
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Momentum(
                                     learning_rate=1e-4 / batch_size, momentum=0.9))
    rng = np.random.default_rng(0)
    minibatch = [(rng.uniform(-1, 1, 784).astype(np.float32), int(rng.integers(10)))
                 for _ in range(batch_size)]
    reader = lambda: iter([minibatch] * steps)   # noqa: E731

    clock = {"check": 0.0, "steps": 0.0}

    def timed_check(arrays):
        start = time.perf_counter()
        try:
            return _all_finite(arrays)
        finally:
            clock["check"] += time.perf_counter() - start

    def train(check):
        def step():
            settings.update(check_nan_inf=check)
            start = time.perf_counter()
            trainer.train(reader, num_passes=1)
            if check:
                clock["steps"] += time.perf_counter() - start
        return step

    trainer_module._all_finite = timed_check
    try:
        per_block = rounds_ms({"on": train(True), "off": train(False)}, repeats, rounds)
    finally:
        trainer_module._all_finite = _all_finite
    # the check of the cost: a float already on the host, isfinite on it is ~0.1 us
    in_step = clock["check"] / clock["steps"]
    check_ms = _check_alone(trainer, minibatch)
    size = sum(int(np.prod(parameters.get_shape(name))) for name in trainer.trainable)
    return per_block["on"] / steps, per_block["off"] / steps, check_ms, in_step, size


def _check_alone(trainer, minibatch):
    """Milliseconds of one step's check: the bounds' products and the gradients read."""
    products = []
    real_backward = CertifiedMatMul.backward

    def recording_backward(self, gy):
        before = self.bounds[self.name].bounded
        result = real_backward(self, gy)
        if self.bounds[self.name].bounded > before:
            products.append((self.saved[0].reshape(-1), gy.reshape(-1)))
        return result
    CertifiedMatMul.backward = recording_backward
    bounds = {}
    real_forward = trainer._forward

    def keeping_bounds(*args, **kw):
        outputs, total, tensors, ctx = real_forward(*args, **kw)
        bounds.update(ctx.gradient_bounds or {})
        return outputs, total, tensors, ctx
    trainer._forward = keeping_bounds
    try:
        settings.update(check_nan_inf=True)
        feeder = Feeder(trainer.network.data_layers)
        grads, _, cost_sum, _, _ = trainer._forward_backward(feeder, minibatch, check=True)
    finally:
        CertifiedMatMul.backward = real_backward
        del trainer._forward
    unproven = _unproven(grads, bounds)

    def check():
        for a, gy in products:
            math.sqrt(float(np.dot(a, a)) * float(np.dot(gy, gy)))
        return math.isfinite(cost_sum) and _all_finite(unproven)
    return median_ms(check, repeats=101)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-sizes", default="128,16")
    args = parser.parse_args()
    saved = settings.get("check_nan_inf")
    paddle.init(seed=1)
    print(machine())
    print(f"backend {paddle.backends.current_backend().name}\n")
    print(f"{'network':<20}{'batch':>6}{'weights':>10}{'step off ms':>13}{'step on ms':>12}"
          f"{'check ms':>10}{'check/off':>11}{'in-step':>9}{'on/off-1':>10}")
    try:
        for label, build in NETWORKS.items():
            for batch_size in (int(b) for b in args.batch_sizes.split(",")):
                on, off, check, in_step, size = measure(build, batch_size, args.steps,
                                                        args.repeats, args.rounds)
                print(f"{label:<20}{batch_size:>6}{size:>10,}{off:>13.2f}{on:>12.2f}"
                      f"{check:>10.3f}{100 * check / off:>10.2f}%{100 * in_step:>8.2f}%"
                      f"{100 * (on / off - 1):>9.1f}%", flush=True)
    finally:
        settings.update(check_nan_inf=saved)


if __name__ == "__main__":
    main()
