"""Per-layer forward times at each ratio, as the sparse planner sees them.

For each ratio, every selected weight is pruned to it and one batch runs through
``minidl.sparse.explain`` (``sparse='auto'``): the planner gives each fc, conv and
recurrent layer it covers a dense and a sparse time for this machine and batch size --
predicted by its cost model or measured, whichever it does for that layer -- and its
decisions keep both. Those per-layer times are what :func:`~minidl.pruning.choose` weighs
for ``objective='latency'``.

Pruning all the weights at once (not one at a time) costs one planner run per ratio; a
layer's two forwards depend on its own weights and its input's shape, not on the values
the layers before it compute. The planner does not time a layer denser than
``AUTO_MAX_DENSITY`` (it keeps it dense: nothing to gain), nor any layer on a backend
without its own sparse kernels (``paddle.init(backend='numpy')``): those get no times.
Neither does a layer the planner does not cover (depthwise convolutions, embeddings).
"""

from ..sparse_inference.plan import AUTO_MAX_DENSITY
from ..training.inference import explain
from .trial import pruned


def timed_ratios(ratios):
    """The ratios at which the planner times a layer (density at most its limit)."""
    return [r for r in ratios if 1.0 - r <= AUTO_MAX_DENSITY + 1e-9]


def layer_times(outputs, parameters, samples, feeding, weights, ratios):
    """``{parameter: {ratio: (dense ms, sparse ms)}}`` of the layers owning ``weights``.

    ``samples``: the batch to time with (its size is the batch size the times are for).
    A layer with several selected weights gives each of them the layer's times.
    """
    times = {w.parameter: {} for w in weights}
    owners = {}
    for w in weights:
        owners.setdefault(w.layer, []).append(w.parameter)
    for ratio in timed_ratios(ratios):
        with pruned(parameters, {w.parameter: ratio for w in weights}):
            plan = explain(outputs, parameters, samples, feeding=feeding, sparse="auto")
        for decision in plan.rows(len(samples)):
            if decision.dense_ms is None or decision.sparse_ms is None:
                continue
            for name in owners.get(decision.layer, ()):
                times[name][ratio] = (decision.dense_ms, decision.sparse_ms)
    return times
