"""The planning pass: one walk over the network, before the forward, making a :class:`Plan`.

:func:`batch_shapes` says how many rows (and sequences) reach each layer for a batch --
from the fed arrays, or from a batch size alone. :func:`make_plan` then walks the layers
in topological order and decides each one (see :mod:`.plan` for the rules of
``sparse=True/False/'auto'``): under ``'auto'`` from the cost model's prediction of both
forwards, measured on synthetic input of the layer's shape where the model is unsure.
The layers chosen sparse get their CSR layouts (cached per parameter version), and the
forward pass only reads the result.
"""

import dataclasses
import math
import time

import numpy as np

from ..backends import accelerated_kernel, current_backend
from ..core.sequence import SequenceLayout
from ..core.tensor import Tensor
from ..core.xp import get_array_module
from ..layers.data import DataLayer
from ..layers.graph import RunContext
from . import calibration, column_width
from . import layout as layouts
from . import plan as plans
from . import sparse_forward as forwards
from .cost_model import Work

#: rows per sequence assumed when a plan is made from a batch size alone
SEQUENCE_LENGTH = 1


def batch_shapes(layers, samples, feed=None, sequence_length=SEQUENCE_LENGTH):
    """{layer name: (rows, sequences)} for a batch of ``samples`` samples.

    A data layer's rows are those fed (``feed``: {name: array or Tensor}), else
    ``samples * sequence_length`` for sequence data. A layer of one row per sample has
    ``samples`` rows; a sequence layer the rows of its inputs of its own sequence level.
    """
    shapes = {}
    for layer in layers:
        if layer.seq_level == 0:
            rows = samples
        elif isinstance(layer, DataLayer):
            fed = None if feed is None else feed.get(layer.name)
            rows = fed.shape[0] if hasattr(fed, "shape") else samples * sequence_length
        else:
            rows = max((shapes[p.name][0] for p in layer.inputs
                        if p.seq_level == layer.seq_level), default=samples * sequence_length)
        shapes[layer.name] = (rows, samples)
    return shapes


def stamp(layers, parameters, dtype):
    """What a plan of ``layers`` depends on besides shapes: the versions of their
    parameters, the backend and the dtype."""
    version = getattr(parameters, "version", None)
    names = sorted({spec.name for layer in layers for spec in layer.params})
    versions = None if version is None else tuple(version(n) for n in names)
    # (the dtype's ``str``, not its ``name``: NumPy computes ``name`` in Python, ~3 us, and
    # a batch-1 forward checks its stamp on every call)
    return versions, current_backend().name, np.dtype(dtype).str


def _work(layer, kind, rows, sequences, nonzero, total):
    if kind == "conv":
        filters, height, width = layer.image_shape
        return Work(kind, rows, rows, total, nonzero, int(np.prod(layer.input_shape)),
                    filters, height * width, 4)
    inputs = sum(p.size for p in layer.inputs)
    batch = sequences if kind == "recurrent" else rows
    return Work(kind, batch, rows, total, nonzero, inputs, layer.size, 1)



def _synthetic_inputs(layer, kind, rows, sequences, xp):
    """Random inputs of the shape ``layer`` gets: ``rows`` rows (as ``sequences``
    sequences of near-equal lengths for a sequence layer)."""
    rng = np.random.default_rng(0)
    seq = None
    if kind == "recurrent" or layer.seq_level:
        count = max(1, min(sequences, rows))
        seq = SequenceLayout(np.linspace(0, rows, count + 1).round().astype(np.int64))
    return [Tensor(xp.asarray(rng.standard_normal((rows, p.size)).astype(np.float32)), seq=seq)
            for p in layer.inputs]


class _Candidate:
    """A layer 'auto' has to decide: its work, predictions and measurement key."""

    def __init__(self, layer, kind, rows, sequences, work, key, predicted):
        self.layer, self.kind, self.rows, self.sequences = layer, kind, rows, sequences
        self.work, self.key, self.predicted = work, key, predicted


def make_plan(layers, values, parameters, mode, shapes, dtype=np.float32,
              averaged=frozenset(), model=None):
    """The :class:`~.plan.Plan` of ``layers`` (topological order) for ``shapes``.

    ``values``: {parameter name: Tensor} to infer with; ``parameters``: their
    ``Parameters`` (versions, for the cached layouts), or None; ``model``: a cost model,
    else this machine's (:func:`calibration.cost_model`, read only when needed).
    """
    mode = plans.sparse_mode(mode)
    decisions, candidates = {}, []
    backend = current_backend().name
    xp = get_array_module(next(iter(values.values())).data) if values else np
    own = accelerated_kernel("csr_matmul") is not None
    for layer in layers:
        kind, why_not = forwards.covered(layer) if mode is not False else (None, None)
        if kind is None:
            if why_not:
                decisions[layer.name] = _decision(layer, "-", None, shapes[layer.name][0],
                                                  "dense", f"not covered: {why_not}")
            continue
        rows, sequences = shapes[layer.name]
        batch = sequences if kind == "recurrent" else rows
        nonzero, total = forwards.nonzeros(layer, kind, values, parameters, averaged)
        density = nonzero / total
        choice, reason = "dense", None
        if np.dtype(dtype) != np.float32:
            reason = "input is not float32"
        elif mode is True:
            choice, reason = "sparse", "forced (sparse=True)"
        elif not own:
            reason = f"backend {backend!r} has no sparse kernels of its own"
        elif density > plans.AUTO_MAX_DENSITY:
            reason = f"density {density:.3f} > {plans.AUTO_MAX_DENSITY}"
        if reason is not None:
            decisions[layer.name] = _decision(layer, kind, density, batch, choice, reason)
            continue
        work = _work(layer, kind, rows, sequences, nonzero, total)
        key = _measurement_key(layer, kind, values, density, batch, backend, parameters)
        candidates.append(_Candidate(layer, kind, rows, sequences, work, key, None))
    if candidates:
        model = model if model is not None else _model_for(
            xp, sorted({c.kind for c in candidates}), sorted({c.work.regime for c in candidates}))
    narrow_from = column_width.of_model(model)
    for c in candidates:    # the column width the layer's fc layout will have
        narrow = c.kind == "fc" and layouts.narrow_columns(
            c.work.nonzeros, max(p.size for p in c.layer.inputs), narrow_from)
        c.work = dataclasses.replace(c.work, index_bytes=2 if narrow else 4)
    if candidates:
        _decide(candidates, decisions, values, parameters, averaged, model, xp, narrow_from)
    sparse = {}
    for layer in layers:
        decision = decisions.get(layer.name)
        if decision is not None and decision.choice == "sparse":
            csr = forwards.csr_layouts(layer, decision.kind, values, parameters, averaged, xp,
                                       narrow_from)
            sparse[layer.name] = (decision.kind, csr)
    ordered = {layer.name: decisions[layer.name] for layer in layers if layer.name in decisions}
    variants = _variants(candidates, decisions, sparse, values, parameters, averaged, xp,
                         narrow_from)
    return plans.Plan(mode, ordered, sparse, stamp(layers, parameters, dtype), variants,
                      [c.layer.name for c in candidates])


def _variants(candidates, decisions, sparse, values, parameters, averaged, xp, narrow_from):
    """{name: callable -> sparse layouts} of the plan's variants to settle on real batches
    (:mod:`.settling`): the plan, every candidate sparse, every candidate dense -- those
    that differ from the plan. None when there is nothing to try, and on a device (its
    kernels run asynchronously: a host clock would not time them)."""
    if xp is not np:
        return None
    to_sparse = [c for c in candidates if decisions[c.layer.name].choice == "dense"]
    names = {c.layer.name for c in candidates}
    variants = {"plan": lambda: sparse}
    if to_sparse:
        variants["sparse"] = lambda: {**sparse, **{
            c.layer.name: (c.kind, forwards.csr_layouts(c.layer, c.kind, values, parameters,
                                                        averaged, xp, narrow_from))
            for c in to_sparse}}
    if len(to_sparse) < len(candidates):
        variants["dense"] = lambda: {name: v for name, v in sparse.items() if name not in names}
    return variants if len(variants) > 1 else None


def _model_for(xp, kinds, regimes):
    """This machine's cost model for layers of ``kinds`` in batch ``regimes``; None where
    the calibration does not run (device arrays): every candidate is then measured."""
    return calibration.cost_model(kinds, regimes) if xp is np else None


def _decide(candidates, decisions, values, parameters, averaged, model, xp, narrow_from):
    """Decide every candidate: from the prediction, else by measuring (within budget)."""
    unsure = []
    for c in candidates:
        known = plans.MEASURED.get(c.key)
        if known is not None:
            decisions[c.layer.name] = known
            continue
        if model is None or not model.knows(c.kind, c.work.regime):
            unsure.append(c)
            continue
        c.predicted = (model.predict(c.work, "dense"), model.predict(c.work, "sparse"))
        dense_s, sparse_s = c.predicted
        ratio = sparse_s / dense_s if dense_s > 0 else math.inf
        if plans.UNSURE[0] <= ratio <= plans.UNSURE[1] or _tiny(c):
            unsure.append(c)
        else:
            decisions[c.layer.name] = _predicted(c, "")
    # tiny layers first (cheap to measure), then the most expensive: the most at stake
    unsure.sort(key=lambda c: (not _tiny(c), -(max(c.predicted) if c.predicted else math.inf)))
    flusher = _cold_caches(parameters)
    spent = 0.0
    for c in unsure:
        if c.predicted is not None and spent > plans.CONFIRM_BUDGET_S:
            decisions[c.layer.name] = _predicted(c, " (unsure; no time left to measure)")
            continue
        ctx = RunContext(values, is_train=False)
        xs = _synthetic_inputs(c.layer, c.kind, c.rows, c.sequences, xp)
        csr = forwards.csr_layouts(c.layer, c.kind, values, parameters, averaged, xp,
                                   narrow_from)
        # the first sparse run loads the kernel: a cost of the forward, not of measuring
        forwards.sparse_forward(c.layer, c.kind, ctx, xs, csr)
        began = time.perf_counter()
        decisions[c.layer.name] = plans.MEASURED[c.key] = _measured(c, ctx, xs, csr, flusher)
        spent += time.perf_counter() - began


def _tiny(c):
    return c.work.weights * c.work.pixels < plans.TINY_MACS


def _choice(dense_s, sparse_s):
    return "sparse" if sparse_s <= plans.MARGIN * dense_s else "dense"


def _predicted(c, note):
    dense_s, sparse_s = c.predicted
    reason = f"predicted: sparse {sparse_s / dense_s:.2f}x the dense time{note}"
    return _decision(c.layer, c.kind, c.work.nonzeros / c.work.weights, c.work.batch,
                     _choice(dense_s, sparse_s), reason, dense_s * 1e3, sparse_s * 1e3, True)


def _measured(c, ctx, xs, csr, flusher):
    """Time both forwards of ``c``'s layer on the synthetic input ``xs``: a Decision."""
    dense_s, sparse_s, _, _ = plans.measure(
        lambda: forwards.dense_forward(c.layer, ctx, xs),
        lambda: forwards.sparse_forward(c.layer, c.kind, ctx, xs, csr), flusher)
    reason = f"measured: sparse {sparse_s / dense_s:.2f}x the dense time"
    return _decision(c.layer, c.kind, c.work.nonzeros / c.work.weights, c.work.batch,
                     _choice(dense_s, sparse_s), reason, dense_s * 1e3, sparse_s * 1e3)


def _decision(layer, kind, density, batch, choice, reason, dense_ms=None, sparse_ms=None,
              predicted=False):
    shape = tuple(layer.params[0].compute_shape) if layer.params else ()
    return plans.Decision(layer.name, kind, shape, density, batch, choice, reason, dense_ms,
                          sparse_ms, predicted)


def _measurement_key(layer, kind, values, density, batch, backend, parameters):
    """What a measured verdict holds for: shapes, geometry, density, batch, machine state."""
    weight = values[forwards.weight_specs(layer, kind)[0].name]
    return (kind, tuple(weight.shape), getattr(layer, "input_shape", None),
            getattr(layer, "stride", None), getattr(layer, "padding", None),
            getattr(layer, "dilation", None), getattr(layer, "groups", None),
            round(density * 100), batch, backend, calibration.threads(),
            forwards.fused_relu(layer) is not None, _cold_caches(parameters) is not None)


_flushers = {}


def _cold_caches(parameters):
    """A CacheFlusher when the model outgrows the last-level cache, else None.

    A layer's weights are still cached when it runs again only if the whole model fits in
    the last-level cache; otherwise every forward streams them from memory, and timing
    warm repeats would flatter the dense forward (4 bytes per weight against about 1.5 for
    a pruned CSR weight). So then both forwards are timed cold.
    """
    names = parameters.names() if hasattr(parameters, "names") else []
    total = sum(4 * int(np.prod(parameters.get_shape(n))) for n in names)
    cache = plans.last_level_cache_bytes()
    if total <= cache:
        return None
    if cache not in _flushers:
        _flushers[cache] = plans.CacheFlusher(cache)
    return _flushers[cache]
