"""Choosing each weight's sparsity from a sensitivity table, within a loss budget.

    choice = paddle.pruning.choose(table, budget=1.0)                 # 1 point of accuracy
    print(choice)                 # per layer: weights, ratio, predicted loss, bytes, time
    attrs = paddle.pruning.hooks_for(choice)                          # fine-tune with them

Each weight takes one of the measured ratios (or stays unpruned, ratio 0). The predicted
loss of a ratio is the drop the table measured with that weight pruned alone, made
conservative: a gain (pruning that happened to help) counts as no loss, and a ratio is
predicted to lose at least as much as any smaller measured ratio (noise can make 0.9 look
better than 0.8; pruning more does not help). The losses of different weights are assumed
to add up; fine-tuning afterwards usually wins most of them back.

Objectives, maximised with the summed predicted loss at most ``budget``:

* ``'size'`` -- bytes saved in a compact file: the weight's value member unpruned minus at
  the ratio, both the compact writer's real sizes (a weight below the writer's density
  threshold is stored dense and saves nothing);
* ``'latency'`` -- milliseconds saved by the owning layer's forward at the table's timing
  batch size, from the sparse planner's per-layer times (its cost model's or measured): a
  ratio saves ``dense - sparse`` only where the sparse forward beats the dense one by the
  planner's margin (``sparse <= MARGIN * dense``); below that break-even it buys no speed
  and, costing accuracy for nothing, is not chosen. ``dense`` is the layer's fastest dense
  time over the ratios.

The search is exact: a dynamic programme over the weights keeps every partial choice not
beaten in both loss and gain (a Pareto front; with accuracy measured on N samples the
losses are multiples of 100/N points, so the front stays short). Among equal gains the
smaller loss wins, and among equal losses the smaller ratios.
"""

import math
import numbers
from dataclasses import dataclass

from ..sparse_inference.plan import MARGIN
from .choice_table import Choice, LayerChoice
from .sensitivity_table import SensitivityTable

OBJECTIVES = ("size", "latency")


@dataclass
class _Option:
    ratio: float
    loss: float
    stored_bytes: int
    ms: float          # predicted forward time of the owning layer, or None
    gain: float


def predicted_losses(table, entry):
    """{ratio: predicted loss} of one weight: clipped at 0, non-decreasing in the ratio."""
    losses, worst = {0.0: 0.0}, 0.0
    for ratio in sorted(r for r in entry.metric if r > 0):
        worst = max(worst, table.loss(entry.parameter, ratio))
        losses[ratio] = worst
    return losses


def predicted_ms(entry):
    """(dense ms, {ratio: predicted ms}) of the owning layer; (None, {}) when not timed."""
    if not entry.dense_ms:
        return None, {}
    dense = min(entry.dense_ms.values())
    times = {}
    for ratio in entry.metric:
        sparse = entry.sparse_ms.get(ratio)
        times[ratio] = sparse if sparse is not None and sparse <= MARGIN * dense else dense
    return dense, times


def _options(table, entry, objective):
    losses = predicted_losses(table, entry)
    dense_ms, times = predicted_ms(entry)
    unpruned_bytes = entry.stored_bytes[0.0]
    options = []
    for ratio in sorted(losses):
        ms = times.get(ratio)
        if objective == "size":
            gain = unpruned_bytes - entry.stored_bytes[ratio]
        else:
            gain = 0.0 if ms is None else dense_ms - ms
        options.append(_Option(ratio, losses[ratio], entry.stored_bytes[ratio], ms, gain))
    return options


def best_choices(option_lists, budget):
    """Index of the option picked for each list: the largest summed ``gain`` with summed
    ``loss`` within ``budget`` (sums within a billionth of the budget of it count as within:
    losses are differences of float metrics, and ``0.4 + 0.7`` must fit a budget of 1.1)."""
    limit = budget + 1e-9 * max(1.0, budget)
    front = [(0.0, 0.0, ())]           # (loss, gain, picks), loss and gain increasing
    for options in option_lists:
        grown = [(loss + o.loss, gain + o.gain, picks + (index,))
                 for loss, gain, picks in front for index, o in enumerate(options)
                 if loss + o.loss <= limit]
        grown.sort(key=lambda state: (state[0], -state[1]))   # stable: lower ratios first
        front, best = [], -math.inf
        for state in grown:            # keep a state only if no cheaper one gains as much
            if state[1] > best:
                front.append(state)
                best = state[1]
    return max(front, key=lambda state: state[1])[2]      # first maximum: the least loss


def _check(sensitivity, budget, objective):
    if not isinstance(sensitivity, SensitivityTable):
        raise TypeError(f"choose needs the SensitivityTable paddle.pruning.sensitivity "
                        f"returns, got {sensitivity!r:.80}")
    if isinstance(budget, bool) or not isinstance(budget, numbers.Real) \
            or math.isnan(budget) or math.isinf(budget) or budget < 0:
        raise ValueError(f"budget={budget!r} must be a finite number >= 0 (the summed "
                         f"predicted {sensitivity.metric} loss allowed)")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective={objective!r}: expected one of {OBJECTIVES}")
    if objective == "latency" and not any(entry.dense_ms for entry in sensitivity.layers):
        raise ValueError("objective='latency': the sensitivity table has no layer times -- "
                         "it was made with timing_batch=None, on a backend without sparse "
                         "kernels (backend 'numpy'), or with no ratio sparse enough for the "
                         "planner to time (density <= 0.5)")


def choose(sensitivity, budget, objective="size"):
    """A :class:`Choice`: one ratio per weight of ``sensitivity`` (see the module docstring).

    ``budget``: the summed predicted loss allowed, in the table's metric unit (percentage
    points for accuracy: ``budget=1.0`` is one point).
    """
    _check(sensitivity, budget, objective)
    budget = float(budget)
    option_lists = [_options(sensitivity, entry, objective) for entry in sensitivity.layers]
    picks = best_choices(option_lists, budget)
    rows = []
    for entry, options, index in zip(sensitivity.layers, option_lists, picks):
        picked, unpruned = options[index], options[0]
        rows.append(LayerChoice(entry.parameter, entry.layer, entry.kind, entry.weights,
                                picked.ratio, picked.loss, unpruned.stored_bytes,
                                picked.stored_bytes, unpruned.ms, picked.ms))
    return Choice(objective, budget, sensitivity.metric, sensitivity.timing_batch, rows)
