"""``paddle.infer`` and ``paddle.inference.Inference``: run trained layers on new samples."""

import operator
import time

import numpy as np

from ..backends import current_backend
from ..core import Tensor, config, no_grad, settings
from .feeding import Feeder
from .held_memory import HeldMemory
from .in_place import LastPlan, dense_widths, in_place_feed
from .outputs import argmax_ids, asked_fields, host_output
from ..layers.graph import Network, RunContext
from ..core.random import get_rng
from ..sparse_inference.plan import sparse_mode
from ..sparse_inference.planner import batch_shapes, make_plan
from ..sparse_inference.sparse_plan import SparsePlan


def _inference_values(parameters, specs):
    """Parameter Tensors to infer with: ModelAverage's averages when a trainer attached them.

    Returns ``(values, averaged names)``.
    """
    averaged = parameters.averaged_values()
    values = {}
    for name, spec in specs.items():
        if not parameters.has_key(name):
            raise ValueError(f"parameter {name} of layer {spec.owner} is missing from parameters")
        if tuple(parameters.get_shape(name)) != spec.shape:
            raise ValueError(f"parameter {name}: parameters hold shape "
                             f"{tuple(parameters.get_shape(name))}, layer {spec.owner} needs "
                             f"{spec.shape}")
        value = averaged[name] if averaged and name in averaged \
            else parameters.value(name, write=False)
        values[name] = Tensor(value.reshape(spec.compute_shape))
    return values, frozenset(averaged or ())


class Inference:
    """Holds the network of ``output_layer`` and the parameters; ``infer`` runs batches.

    ``sparse``: ``True``, ``False`` or ``'auto'`` -- run pruned fc/conv/recurrent layers
    with the sparse kernels (see :mod:`minidl.sparse_inference.plan`); None takes
    ``paddle.init(sparse=...)``.

    Each batch is planned, then run: :meth:`plan` decides per layer (once per batch
    shape), :meth:`run` computes the outputs reading that plan, each convolution and the
    batch norm reading it as one kernel where they allow it
    (:mod:`minidl.layers.batch_norm_folding`). After a run,
    ``print(inference.sparse_plan)`` shows what each layer ran and why. One sample of
    dense arrays, the usual call of a deployed model, is fed as the arrays themselves and
    runs the plan of the last such sample (:mod:`.in_place`; so do consecutive rows of one
    array).
    """

    def __init__(self, output_layer, parameters, sparse=None):
        self.outputs = list(output_layer) if isinstance(output_layer, (list, tuple)) \
            else [output_layer]
        self.network = Network(self.outputs)
        self.parameters = parameters
        self._sparse = None if sparse is None else sparse_mode(sparse)
        self.sparse_plan = SparsePlan(self._sparse_setting(), parameters)
        self._values = None     # (what they were made for, values, averaged names)
        self._feeder = None     # (feeding, Feeder) of the last call
        self._value_memory = None   # HeldMemory of the parameter values
        self._widths = dense_widths(self.network.data_layers)   # for in_place_feed
        self._last_plan = LastPlan()

    def _sparse_setting(self):
        """This Inference's ``sparse``, else ``paddle.init``'s (which checked it)."""
        return self._sparse if self._sparse is not None else settings.get("sparse")

    def iter_infer(self, input, feeding=None, batch_size=None):
        """Yield ``[array per output layer]`` for each batch of ``input``."""
        samples, feeder, values, averaged = self._prepare(input, feeding)
        step = batch_size or len(samples)
        for start in range(0, len(samples), step):
            yield self._infer_batch(samples[start:start + step], feeder, values, averaged)

    def _prepare(self, input, feeding):
        """``(samples, Feeder, parameter values, averaged names)`` of a call."""
        samples = input if isinstance(input, list) else list(input)
        if not samples:
            raise ValueError("infer: input is empty; pass a list of sample tuples")
        return (samples, self._feeder_for(feeding)) + self.parameter_values()

    def _infer_in_place(self, input, feeding):
        """What ``infer(input, field='value')`` returns when ``input`` is fed in place (one
        sample of dense arrays, or consecutive rows of one array: see :mod:`.in_place`),
        else None: the general path runs it.

        Fewer steps than the general path (no Feeder, the plan of the last such batch, the
        single output returned as it is): this is the usual call of a deployed model, and
        right after a kernel that streamed megabytes through the caches each Python call
        costs about a microsecond (the general path's hops added ~10 us to a 0.15 ms
        depthwise layer at batch 1, ~20 us at batch 8)."""
        feed = in_place_feed(self._widths, input, self._feeder_for(feeding).fields)
        backend = current_backend()
        if feed is None or backend.xp is not np:   # (a device backend copies the batch)
            return None
        values, averaged = self.parameter_values(backend)
        kept = self._values[0]      # (generation, backend) of the values; None: not kept
        samples = len(input)
        made_for = None if kept is None else (kept, self._sparse_setting(),
                                              config.default_dtype, samples)
        known = self._last_plan
        if made_for is None or made_for != known.made_for:
            known.keep(made_for, self.plan(values, feed, samples, averaged))
        plan = known.plan
        if plan is not None and plan.on_trial:
            return None
        with no_grad():
            outputs = self.run(values, feed, plan)
        output = outputs[self.outputs[0].name]
        array = output.data
        if len(self.outputs) > 1 or output.fields is not None or type(array) is not np.ndarray:
            return self._results([[host_output(outputs[layer.name]) for layer in self.outputs]],
                                 asked_fields("value"))
        if not self._value_memory.free(array, ()):
            array = array.copy()
        return array if array.ndim <= 2 else array.reshape(samples, -1)

    def _infer_batch(self, batch, feeder, values, averaged):
        """``[array per output layer]`` of one batch: fed, planned, run."""
        with no_grad():
            feed = feeder(batch)
            plan = self.plan(values, feed, len(batch), averaged)
            outputs = self.run(values, feed, plan)
        return [host_output(outputs[layer.name]) for layer in self.outputs]

    def _feeder_for(self, feeding):
        """The Feeder of ``feeding``: the last call's while it is unchanged."""
        # a copy to compare with: the caller may change the same dict between calls
        key = feeding if feeding is None else dict(feeding) if isinstance(feeding, dict) \
            else list(feeding) if isinstance(feeding, (list, tuple)) else feeding
        if self._feeder is None or self._feeder[0] != key:
            self._feeder = (key, Feeder(self.network.data_layers, feeding))
        return self._feeder[1]

    def parameter_values(self, backend=None):
        """``(values, averaged names)`` to infer with (:func:`_inference_values`), kept
        from the last call while no parameter changed: a batch of one sample is a few
        tens of microseconds, and rebuilding them took several. (``backend``: the current
        one, where the caller has it at hand.)"""
        parameters = self.parameters
        generation = getattr(parameters, "generation", None)
        made_for = None if generation is None or parameters.averaging \
            else (generation, (backend or current_backend()).name)
        if made_for is None or self._values is None or self._values[0] != made_for:
            values, averaged = _inference_values(parameters, self.network.param_specs)
            self._values = (made_for, values, averaged)
            self._value_memory = HeldMemory(t.data for t in values.values())
        return self._values[1], self._values[2]

    def plan(self, values, feed, samples, averaged=()):
        """The sparse plan of this batch (``feed`` of ``samples`` samples), or None when
        every layer runs dense: made before the forward, once per batch shape."""
        mode = self._sparse_setting()
        if mode != self.sparse_plan.mode:
            self.sparse_plan = SparsePlan(mode, self.parameters)
        if mode is False:
            return None
        plan = self.sparse_plan.plan(self.network.layers, values, feed, samples, averaged)
        # a plan that runs every layer dense and tries nothing is no plan: the forward
        # then asks no layer and times nothing
        return plan if plan.sparse or plan.settling is not None else None

    def run(self, values, feed, plan):
        """{layer name: Tensor}: the forward of ``feed``, reading ``plan`` (None: dense).

        The run is timed for the plan: its first batches try its variants (see
        :mod:`minidl.sparse_inference.settling`)."""
        ctx = RunContext(values, is_train=False, rng=get_rng())
        ctx.sparse_plan = plan
        ctx.fold_batch_norm = True
        if plan is None or not plan.on_trial:
            return self.network.forward(feed, ctx)
        plan.begin_run()
        start = time.perf_counter()
        outputs = self.network.forward(feed, ctx)
        plan.end_run(time.perf_counter() - start)
        return outputs

    def infer(self, input, field="value", feeding=None, batch_size=None):
        if batch_size is None and field == "value":  # the usual call: _infer_in_place
            value = self._infer_in_place(input, feeding)
            if value is not None:
                return value
        fields = asked_fields(field)
        if batch_size is None:          # one batch, no generator to drive
            samples, feeder, values, averaged = self._prepare(input, feeding)
            batches = [self._infer_batch(samples, feeder, values, averaged)]
        else:
            batches = list(self.iter_infer(input, feeding, batch_size))
        return self._results(batches, fields)

    def _results(self, batches, fields):
        """What ``infer`` returns for ``batches`` (each ``[array per output layer]``)."""
        results = []
        for index, layer in enumerate(self.outputs):
            if isinstance(batches[0][index], dict):  # a generator's output (beam_search)
                results.extend(np.concatenate([batch[index][f] for batch in batches], axis=0)
                               for f in fields)
                continue
            if "prob" in fields:
                raise ValueError(f"infer: field 'prob' is given by beam_search outputs; layer "
                                 f"{layer.name} ({layer.type}) has 'value' and 'id'")
            array = self._owned(index, batches[0]) if len(batches) == 1 else \
                np.concatenate([batch[index] for batch in batches], axis=0)
            if array.ndim > 2:
                array = array.reshape(len(array), -1)
            for f in fields:
                results.append(array if f == "value" else argmax_ids(array))
        return results[0] if len(results) == 1 else results

    def _owned(self, index, outputs):
        """Output ``index`` of a single batch's ``outputs``: itself where nothing else holds
        its memory (a parameter value, a fed sample, another output), else a copy."""
        array = outputs[index]
        others = [] if len(outputs) == 1 else [other for i, other in enumerate(outputs)
                                               if i != index and isinstance(other, np.ndarray)]
        return array if self._value_memory.free(array, others) else array.copy()


def _inference_for(output_layer, parameters, sparse):
    """An ``Inference`` of these output layers and parameters: the one an earlier
    ``infer`` call made, if any. Scripts call ``paddle.infer`` once per batch; a new
    Inference each time would redo what the sparse plan settled ('auto''s network check)
    and rebuild the network's topology. Reuse is safe: the parameter values are read on
    every call, and the plan redecides a layer whose weights changed (their versions).
    The Inferences live in ``parameters.inferences``, so they are freed with the parameters."""
    several = isinstance(output_layer, (list, tuple))
    key = (tuple(map(id, output_layer)) if several else id(output_layer), sparse)
    inference = parameters.inferences.get(key)
    # ids are reused once an object is freed: the layers themselves must be the ones
    if inference is None or (not all(map(operator.is_, inference.outputs, output_layer))
                             if several else inference.outputs[0] is not output_layer):
        inference = parameters.inferences[key] = Inference(output_layer, parameters, sparse)
    return inference


def infer(output_layer, parameters, input, feeding=None, field="value", sparse=None):
    """Run ``output_layer`` (or a list of them) on ``input``, a list of sample tuples.

    Returns one array (``field='value'``: the layer's output, ``(N, size)``;
    ``field='id'``: argmax per sample, ``(N,)``), or a list when several layers or fields
    are asked for. For a ``beam_search`` output the fields are v2's: ``'id'`` the generated
    ids, each result as ``[length, ids..., -1]``, ``'prob'`` the results' log probabilities
    ``(N, num_results_per_sample)``, ``'value'`` each word's probability (``-1`` between
    results). ``sparse``: see :class:`Inference`.
    """
    return _inference_for(output_layer, parameters, sparse).infer(input, field, feeding)


def explain(output_layer, parameters, input, feeding=None, sparse="auto"):
    """Run one batch (``input``: a list of sample tuples) and return the :class:`SparsePlan`
    it was run with. ``print`` the result for a table of each fc/conv/recurrent layer's
    choice and its reason.
    """
    inference = Inference(output_layer, parameters, sparse=sparse)
    inference.infer(input, feeding=feeding)
    return inference.sparse_plan


def plan(output_layer, parameters, batch_size=1, sparse="auto", sequence_length=1):
    """The sparse :class:`~minidl.sparse_inference.plan.Plan` of ``output_layer`` (or a list
    of them) for batches of ``batch_size`` samples, without running the network: the
    shapes come from the topology (sequence inputs: ``sequence_length`` rows each).
    ``print`` it for each layer's choice and its reason."""
    outputs = list(output_layer) if isinstance(output_layer, (list, tuple)) else [output_layer]
    network = Network(outputs)
    values, averaged = _inference_values(parameters, network.param_specs)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"plan: batch_size={batch_size!r} must be a positive integer")
    shapes = batch_shapes(network.layers, batch_size, sequence_length=sequence_length)
    with no_grad():
        return make_plan(network.layers, values, parameters, sparse_mode(sparse), shapes,
                         averaged=averaged)


__all__ = ["Inference", "explain", "infer", "plan"]
