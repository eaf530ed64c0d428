"""Settling a plan on real batches: per-layer choices, all candidates sparse, or all dense.

The cost model and the measurements time each layer alone. In a network the layers run
between others, and on a small machine that changes their cost (caches, threads still
busy with the layer before), so a network can run faster with every candidate sparse (or
dense) than with the per-layer choices. No extra forward is spent finding out: the first
real batches of a shape run the variants one after the other, each as a block of
consecutive batches -- untimed for its first batch and ``QUIET_S`` seconds (it loads
kernels, builds layouts and lets the previous variant's threads stop spinning), then
``RUNS`` timed -- in ``ROUNDS`` rounds, and the fastest is kept, the per-layer plan unless
another takes at most ``MARGIN`` of its time. Later batches of that shape run the verdict.
Two rounds, as in the plan's own measurement (``timing.MEASURE_ROUNDS``): a shared machine
has spells that slow everything by up to 2x for longer than a block, and a spell over one
block must not decide alone.
"""

import time
from dataclasses import replace

from .timing import QUIET_S

#: timed runs of each variant's block (after its warm-up)
RUNS = 3
#: blocks of each variant, in turn, before the verdict
ROUNDS = 2

NAMES = {"plan": "per-layer choices", "sparse": "all candidates sparse",
         "dense": "all candidates dense"}


class Settling:
    """Which variant of a plan runs the next batch, until one is settled.

    ``variants``: {name: callable returning the variant's {layer name: (kind, CSR)}};
    'plan' first. ``margin``: how much faster another variant must be to replace it.
    """

    def __init__(self, variants, margin):
        self.variants = dict(variants)
        self.margin = margin
        self.runs = {name: 0 for name in variants}
        self.best = {name: float("inf") for name in variants}
        self.round = 0
        self._block = None      # (name, round) of the block running now
        self._began = 0.0       # clock when that block began
        self.verdict = None

    def next(self):
        """The name of the variant to run now."""
        if self.verdict is not None:
            return self.verdict
        # the first variant (in order: plan, sparse, dense) whose block in this round is
        # not complete
        return next(name for name in self.variants
                    if self.runs[name] < RUNS * (self.round + 1))

    def record(self, name, seconds):
        """One run of ``name`` took ``seconds``; returns the verdict once there is one."""
        if self.verdict is not None:
            return self.verdict
        now = time.perf_counter()
        if self._block != (name, self.round):      # a block begins with this run
            self._block, self._began = (name, self.round), now - seconds
        if now - seconds > self._began and now - self._began >= QUIET_S:   # past the warm-up
            self.best[name] = min(self.best[name], seconds)
            self.runs[name] += 1
        if all(count >= RUNS * (self.round + 1) for count in self.runs.values()):
            self.round += 1
        if self.round == ROUNDS:
            self.verdict = min(self.variants, key=lambda n: self.best[n] if n == "plan"
                               else self.best[n] / self.margin)
        return self.verdict

    def describe(self):
        """One line: the timed variants and the verdict (or that it is still running)."""
        timed = ", ".join(f"{NAMES[n]} {t * 1e3:.3f} ms" for n, t in self.best.items()
                          if t != float("inf"))
        if self.verdict is None:
            return f"settling on real batches: {timed or 'not yet run'}"
        return f"settled on real batches: {timed} -> {NAMES[self.verdict]}"


def settled_decisions(decisions, verdict, candidates):
    """``decisions`` with the candidates' choices changed to an all-sparse or all-dense
    verdict (the reason says why)."""
    if verdict == "plan":
        return decisions
    changed = dict(decisions)
    for name in candidates:
        decision = changed[name]
        if decision.choice != verdict:
            changed[name] = replace(decision, choice=verdict,
                                    reason=decision.reason + f"; on real batches: all {verdict}")
    return changed
