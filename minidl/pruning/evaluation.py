"""Evaluating a network many times, each time with one weight pruned.

Inference, batch by batch (no autograd, test-mode batch norm and dropout, dense kernels):
each batch runs once unpruned with every layer's output kept, then once per trial -- a
weight pruned to a ratio -- recomputing only the layers that depend on that weight's layer
(pruning an fc weight near the output reruns the last layers, not the convolutions). The
pruned values are made per trial and batch from a magnitude order sorted once per weight,
so memory holds one batch's outputs and one pruned copy, not a copy per ratio.

The trials never write the parameters: the pruned value replaces the weight in the values
the layers read.
"""

from dataclasses import dataclass

import numpy as np

from ..core import Tensor, as_numpy, no_grad
from ..core.random import get_rng
from ..layers.cost import CostLayer
from ..layers.graph import Network, RunContext
from ..training.evaluators import ClassificationError
from ..training.feeding import Feeder
from .sensitivity_table import METRICS
from .trial import MagnitudeOrder


@dataclass
class Trial:
    """One evaluation: ``parameter`` (owned by ``layer``) pruned to ``ratio``."""

    parameter: str
    layer: str
    ratio: float


def metric_of(layer, metric=None):
    """(metric name, ClassificationError or None) for the analysed ``layer``."""
    is_cost = isinstance(layer, CostLayer)
    classifies = is_cost and "classification_error_evaluator" in getattr(layer, "evaluators", ())
    allowed = (["accuracy", "cost"] if classifies else ["cost"]) if is_cost else ["agreement"]
    if metric is None:
        metric = allowed[0]
    if metric not in METRICS:
        raise ValueError(f"metric={metric!r}: expected one of {sorted(METRICS)}")
    if metric not in allowed:
        raise ValueError(f"metric={metric!r} does not apply to layer {layer.name}; "
                         f"it has {allowed}")
    if metric != "accuracy":
        return metric, None
    weight = layer.inputs[2] if len(layer.inputs) > 2 else None
    return metric, ClassificationError(layer.inputs[0], layer.inputs[1], weight=weight,
                                       name="classification_error_evaluator")


class _Sums:
    """Sufficient statistics of the metric over the batches seen: (total, count)."""

    def __init__(self):
        self.total, self.count = 0.0, 0.0

    def add(self, total, count):
        self.total += total
        self.count += count

    def percent(self):
        return 100.0 * self.total / self.count


class TrialRunner:
    """Evaluates the baseline and a list of trials over the kept batches."""

    def __init__(self, layer, parameters, batches, feeding=None, metric=None):
        self.layer = layer
        self.metric, self.evaluator = metric_of(layer, metric)
        self.outputs = self.evaluator.inputs if self.evaluator is not None else [layer]
        self.network = Network(self.outputs)
        self.parameters = parameters
        self.batches = batches
        self.feeder = Feeder(self.network.data_layers, feeding)

    def _after(self, parameter):
        """The layers that read ``parameter`` or depend on one that does, in run order."""
        changed, order = set(), []
        for layer in self.network.layers:
            if any(spec.name == parameter for spec in layer.params) \
                    or any(p.name in changed for p in layer.inputs):
                changed.add(layer.name)
                order.append(layer)
        return order

    def _statistics(self, outputs, reference):
        """(numerator, denominator) of the metric on one batch's outputs."""
        if self.metric == "accuracy":
            host = {layer.name: as_numpy(outputs[layer.name].data) for layer in self.outputs}
            wrong, count = self.evaluator.batch_stats(host)
            return count - wrong, count
        values = as_numpy(outputs[self.layer.name].data)
        if self.metric == "cost":
            return float(np.sum(values)), len(values)
        classes = values.reshape(len(values), -1).argmax(axis=1)
        return float(np.sum(classes == reference)), len(values)

    def _value(self, sums):
        if self.metric == "cost":
            return sums.total / sums.count
        return sums.percent()

    def run(self, trials, step=lambda index, value: None):
        """(baseline, [metric of each trial]); ``step(index, running value)`` after each
        evaluation of a batch (index 0: the baseline, i: trial i - 1)."""
        specs = self.network.param_specs
        values = {name: Tensor(self.parameters.value(name, write=False)
                               .reshape(spec.compute_shape)) for name, spec in specs.items()}
        orders = {t.parameter: MagnitudeOrder(self.parameters.get(t.parameter)) for t in trials}
        after = {t.parameter: self._after(t.parameter) for t in trials}
        baseline, sums = _Sums(), [_Sums() for _ in trials]
        with no_grad():
            for minibatch in self.batches:
                feed = self.feeder(minibatch)
                ctx = RunContext(values, is_train=False, rng=get_rng())
                full = self.network.forward(feed, ctx)
                reference = None
                if self.metric == "agreement":
                    out = as_numpy(full[self.layer.name].data)
                    reference = out.reshape(len(out), -1).argmax(axis=1)
                baseline.add(*self._statistics(full, reference))
                step(0, self._value(baseline))
                for index, trial in enumerate(trials):
                    spec = specs[trial.parameter]
                    pruned = orders[trial.parameter].pruned(trial.ratio)
                    trial_values = dict(values)
                    trial_values[trial.parameter] = Tensor(
                        values[trial.parameter].xp.asarray(pruned).reshape(spec.compute_shape))
                    trial_ctx = RunContext(trial_values, is_train=False, rng=get_rng())
                    outputs = dict(full)
                    for layer in after[trial.parameter]:
                        outputs[layer.name] = layer.compute(
                            trial_ctx, [outputs[p.name] for p in layer.inputs])
                    sums[index].add(*self._statistics(outputs, reference))
                    step(index + 1, self._value(sums[index]))
        return self._value(baseline), [self._value(s) for s in sums]
