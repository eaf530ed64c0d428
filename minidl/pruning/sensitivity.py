"""Sensitivity analysis: how much each weight, pruned alone, costs the network.

    table = paddle.pruning.sensitivity(cost, parameters, paddle.batch(test_reader, 250))
    print(table)
    choice = paddle.pruning.choose(table, budget=1.0)      # 1 point of accuracy

For every prunable weight (:mod:`.prunable`: fc, conv, depthwise, embedding and recurrent
weights) and every ratio, the weight alone is magnitude-pruned to the ratio -- the cut the
pruning hook makes, without fine-tuning -- the reader is evaluated, and the weight is put
back bit for bit (also when an error interrupts the analysis). Evaluation is inference:
batched forwards without autograd, dense kernels, test-mode batch norm and dropout.

The metric (:mod:`.sensitivity_table` gives the units):

* a cost layer with a ``classification_error_evaluator`` (``classification_cost``):
  ``accuracy``, the percentage of samples classified right;
* any other cost layer: ``cost``, its mean over the samples;
* a non-cost output layer: ``agreement``, the percentage of samples whose top-1 class is
  the unpruned network's -- needs no labels.

``metric=`` picks another one where it applies ('cost' for a classification cost).

Besides the metric, the table keeps what :func:`choose` needs: the bytes each pruned weight
takes in a compact file (the writer's own sizes, :mod:`minidl.io.compact`), and per ratio
the owning layer's dense and sparse forward times at ``timing_batch`` samples, measured by
the sparse planner (:mod:`.layer_timing`; ``timing_batch=None`` skips them).

The reader is read once and its batches kept in memory; every evaluation reuses them.
"""

import numbers

from ..io import compact
from ..layers.base import Layer
from ..layers.graph import Network
from ..training.events import BeginPass, EndIteration, EndPass
from ..training.progress import ProgressBar
from .evaluation import Trial, TrialRunner
from .layer_timing import layer_times
from .prunable import prunable_weights, select
from .sensitivity_table import LayerSensitivity, SensitivityTable
from .trial import MagnitudeOrder

DEFAULT_RATIOS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)


def check_ratios(ratios):
    """Sorted distinct ratios, each a number in [0, 1); 0 (the baseline) is dropped."""
    if isinstance(ratios, (str, bytes)) or not hasattr(ratios, "__iter__"):
        raise TypeError(f"ratios={ratios!r} must be a sequence of numbers in [0, 1)")
    checked = []
    for ratio in ratios:
        if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real) \
                or not 0.0 <= float(ratio) < 1.0:
            raise ValueError(f"ratios: {ratio!r} is not a sparsity ratio in [0, 1) (the "
                             "share of a weight's values set to zero)")
        checked.append(float(ratio))
    checked = sorted(set(checked) - {0.0})
    if not checked:
        raise ValueError(f"ratios={ratios!r}: give at least one ratio in (0, 1)")
    return checked


def _stored_bytes(value):
    """Bytes of the value member the compact writer stores for ``value``."""
    if compact.prefers_compact(value):
        return compact.compact_size(value)
    return compact.dense_size(value)


def _stepper(progress, metric, trials, batches):
    """``step(index, value)`` for :meth:`TrialRunner.run`, driving the progress display:
    one ``EndIteration`` per evaluation of a batch, ``cost`` = the running metric."""
    total = batches * (1 + len(trials))
    if progress is True:
        progress = ProgressBar(total_batches=total, log_every=max(1, total // 10))
    if progress in (False, None):
        return lambda index, value: None
    if not callable(progress):
        raise TypeError(f"progress={progress!r} must be True, False or an event handler")
    count = [0]

    def step(index, value):
        if count[0] == 0:
            progress(BeginPass(0))
        what = "dense" if index == 0 else f"{trials[index - 1].layer} {trials[index - 1].ratio:g}"
        progress(EndIteration(0, count[0], value, {f"{metric} {what}": value}))
        count[0] += 1
        if count[0] == total:
            progress(EndPass(0, {}))
    return step


def sensitivity(cost_or_output, parameters, reader, feeding=None, ratios=DEFAULT_RATIOS,
                layers=None, metric=None, timing_batch=1, progress=True):
    """A :class:`SensitivityTable`: the metric with each weight pruned alone to each ratio.

    ``cost_or_output``: the layer to evaluate (see the module docstring for the metric).
    ``reader``: a batched reader creator (``paddle.batch(...)``), as ``trainer.test``
    takes. ``layers``: layer or parameter names to analyse (default: every prunable
    weight). ``timing_batch``: samples per batch for the planner's layer times (None: no
    times, then ``choose(objective='latency')`` has nothing to go on). ``progress``: True
    shows the project's progress bar (one step per evaluation), False nothing, or an
    event handler receiving the same events (``EndIteration.cost``: the metric's value).
    """
    if not isinstance(cost_or_output, Layer):
        raise TypeError(f"cost_or_output must be one layer (a cost or an output layer), "
                        f"got {cost_or_output!r:.80}")
    if not callable(reader):
        raise TypeError("reader must be a callable returning minibatches (e.g. "
                        f"paddle.batch(reader, batch_size)), got {reader!r:.80}")
    ratios = check_ratios(ratios)
    if timing_batch is not None and (isinstance(timing_batch, bool) or not isinstance(
            timing_batch, numbers.Integral) or timing_batch < 1):
        raise ValueError(f"timing_batch={timing_batch!r} must be a positive integer or None")
    weights = select(prunable_weights(Network([cost_or_output])), layers)
    if not weights:
        raise ValueError(f"layer {cost_or_output.name}: its network has no prunable weight "
                         "(fc, conv, depthwise, embedding or recurrent)")
    if parameters.averaged_values():
        raise ValueError("sensitivity: these parameters infer with ModelAverage's averages, "
                         "which pruning the trained values would not change; analyse them "
                         "after parameters.set_average_source(None)")
    batches = [list(minibatch) for minibatch in reader()]
    batches = [minibatch for minibatch in batches if minibatch]
    if not batches:
        raise ValueError("sensitivity: the reader yielded no samples; there is nothing to "
                         "evaluate the pruned network on (paddle.batch drops a last batch "
                         "shorter than batch_size unless drop_last=False)")
    runner = TrialRunner(cost_or_output, parameters, batches, feeding, metric)
    trials = [Trial(w.parameter, w.layer, ratio) for w in weights for ratio in ratios]
    baseline, measured = runner.run(trials, _stepper(progress, runner.metric, trials,
                                                     len(batches)))
    entries, measured = [], iter(measured)
    for weight in weights:
        original = parameters.get(weight.parameter)
        entry = LayerSensitivity(weight.parameter, weight.layer, weight.kind, weight.shape,
                                 weight.weights, metric={0.0: baseline},
                                 stored_bytes={0.0: _stored_bytes(original)})
        order = MagnitudeOrder(original)
        for ratio in ratios:
            entry.metric[ratio] = next(measured)
            entry.stored_bytes[ratio] = _stored_bytes(order.pruned(ratio))
        entries.append(entry)
    samples = [sample for minibatch in batches for sample in minibatch]
    if timing_batch is not None:
        timing_batch = min(timing_batch, len(samples))   # a smaller reader: a smaller batch
        times = layer_times(runner.outputs, parameters, samples[:timing_batch], feeding,
                            weights, ratios)
        for entry in entries:
            for ratio, (dense_ms, sparse_ms) in times[entry.parameter].items():
                entry.dense_ms[ratio], entry.sparse_ms[ratio] = dense_ms, sparse_ms
    return SensitivityTable(runner.metric, baseline, len(samples), ratios, entries,
                            timing_batch)
