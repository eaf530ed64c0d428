"""``RecurrentGroup``: the step graph of one ``recurrent_group`` (or ``beam_search``).

When the step function returns, ``finish`` checks the graph (its outputs, each memory
resolved to a step layer of the same size and kind, no step layer reading outside the
group), names its parameters as Paddle does inside a group (``_<layer>@<group>.w0``) and
plans a step: the step's layers in order over slots of values. ``run`` then unrolls the
step over the timesteps of a batch, arranged by :mod:`.recurrent_batch`.
"""

import numpy as np

from ..core.tensor import Tensor
from ..functions.basic import add
from .base import SEQUENCE_LEVELS, Layer, default_name
from .graph import topological_order
from .projections import describe_input, gives_ids
from .recurrent_batch import _Batch, _prefix_samples, select_samples
from .recurrent_inputs import MemoryLayer, StepInputLayer


class RecurrentGroup:
    """A step graph and how to unroll it (one per ``recurrent_group`` call).

    ``inlinks``: ``(placeholder, outer layer, nested)``; ``statics``: ``(placeholder, outer
    layer)``; ``memories``: resolved MemoryLayers; ``outputs``: the step's output layers;
    ``outer_inputs``: the layers outside the group it reads (in-links, statics, boot
    layers), the inputs of its output layers.
    """

    def __init__(self, name, reverse):
        self.name = name
        self.reverse = bool(reverse)
        self.inlinks, self.statics, self.memories, self.outputs = [], [], [], []
        self.target_inlink = None

    # --- build ---------------------------------------------------------------------------
    def add_inlink(self, layer, nested):
        placeholder = StepInputLayer(layer.name, layer, 1 if nested else 0, "inlink")
        self.inlinks.append((placeholder, layer, nested))
        return placeholder

    def add_static(self, layer):
        placeholder = StepInputLayer(f"__{layer.name}_static__", layer, layer.seq_level,
                                     "static")
        default_name("memory")       # Paddle makes a StaticInput a memory: same name counter
        self.statics.append((placeholder, layer))
        return placeholder

    def finish(self, builder, outputs, what):
        """Check the step's graph, resolve its memories and plan a step's computation."""
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        inner = {id(layer) for layer in builder.layers}
        if not outputs:
            raise ValueError(f"{what} {self.name}: the step function returned no layer")
        for out in outputs:
            if not isinstance(out, Layer):
                raise ValueError(f"{what} {self.name}: the step function must return layers, "
                                 f"got {out!r:.80}")
            if id(out) not in inner:
                raise ValueError(f"{what} {self.name}: the step function returned layer "
                                 f"{out.name}, which was not built inside it; return a layer "
                                 "of the step")
        by_name = {}
        for layer in builder.layers:
            if isinstance(layer, MemoryLayer):
                continue
            if layer.name in by_name:
                raise ValueError(f"{what} {self.name}: two layers of the step are named "
                                 f"{layer.name!r} ({by_name[layer.name].type} and {layer.type}"
                                 "; an input sequence's step layer takes that sequence's name)")
            by_name[layer.name] = layer
        for mem in builder.memories:
            if mem.generated or (mem.target is not None and id(mem.target) in inner):
                continue
            if mem.target is not None:
                raise ValueError(f"memory {mem.name} in {what} {self.name}: set_input layer "
                                 f"{mem.target.name} was not built in the step function")
            if mem.target_name is None:
                raise ValueError(f"memory {mem.name} in {what} {self.name} has no layer to "
                                 "remember: give memory(name=...) or call set_input(layer)")
            target = by_name.get(mem.target_name)
            if target is None:
                known = ", ".join(sorted(n for n in by_name if not n.startswith("__")
                                         or not n.endswith("_static__")))
                raise ValueError(f"memory {mem.target_name!r} in {what} {self.name}: no layer "
                                 f"named {mem.target_name!r} is built in the step function "
                                 f"(its layers: {known}); name the layer whose previous output "
                                 "the memory is, e.g. fc(..., name="
                                 f"{mem.target_name!r})")
            mem.target = target
        for mem in builder.memories:
            if mem.generated:
                continue
            target = mem.target
            if target.size != mem.size:
                raise ValueError(f"memory {mem.target_name!r} in {what} {self.name} has size "
                                 f"{mem.size}, but layer {describe_input(target)} has size "
                                 f"{target.size}; a memory must have its layer's size")
            if target.seq_level != mem.seq_level:
                raise ValueError(f"memory {mem.target_name!r} in {what} {self.name} holds a "
                                 f"{SEQUENCE_LEVELS[mem.seq_level]} per sample, but layer "
                                 f"{target.name} gives a {SEQUENCE_LEVELS[target.seq_level]}; "
                                 "boot the memory with a layer of the same kind")
            if mem.outputs_ids != gives_ids(target) and mem.boot_with_const_id is not None:
                raise ValueError(f"memory {mem.target_name!r} in {what} {self.name} boots with "
                                 f"an id (boot_with_const_id), but layer {target.name} gives "
                                 "dense values")
        for layer in builder.layers:
            for parent in layer.inputs:
                if id(parent) not in inner:
                    raise ValueError(f"layer {layer.name} inside {what} {self.name} reads "
                                     f"{parent.name}, which is outside the group; pass it to "
                                     f"the group as StaticInput({parent.name}) (or as an "
                                     "input sequence) and use the step argument instead")
        self.memories = list(builder.memories)
        self.outputs = outputs
        roots = outputs + [mem.target for mem in self.memories if not mem.generated]
        self.layers = topological_order(roots)
        self._rename_parameters(builder.layers)
        self._plan()
        outer = [layer for _, layer, _ in self.inlinks] + [layer for _, layer in self.statics]
        outer += [mem.boot_layer for mem in self.memories if mem.boot_layer is not None]
        self.outer_inputs = list({id(layer): layer for layer in outer}.values())
        self.outer_slots = {id(layer): i for i, layer in enumerate(self.outer_inputs)}
        for layer in self.outer_inputs:
            if layer.sparse_output:
                raise ValueError(f"{what} {self.name}: input {describe_input(layer)} gives "
                                 "sparse rows, which a group cannot split into timesteps; "
                                 "feed it through an fc layer first")
        specs = {}
        for layer in self.layers:
            for spec in layer.params:
                specs.setdefault(spec.name, spec)
        self.params = list(specs.values())

    def _rename_parameters(self, layers):
        """Paddle names a layer ``<layer>@<group>`` inside a group, and so its parameters."""
        for layer in layers:
            prefix = f"_{layer.name}."
            for spec in layer.params:
                if spec.attr.name is None and spec.name.startswith(prefix):
                    spec.name = f"_{layer.name}@{self.name}.{spec.name[len(prefix):]}"

    def _plan(self):
        """Slots: every step layer's value lives at ``values[slot]``; ``plan`` computes the
        non-placeholder layers in order."""
        self.slot = {id(layer): i for i, layer in enumerate(self.layers)}
        placeholders = (StepInputLayer, MemoryLayer)
        self.plan = [(layer, [self.slot[id(p)] for p in layer.inputs], self.slot[id(layer)])
                     for layer in self.layers if not isinstance(layer, placeholders)]
        self.output_slots = [self.slot[id(out)] for out in self.outputs]

    def run_step(self, ctx, values):
        for layer, inputs, slot in self.plan:
            values[slot] = layer.compute(ctx, [values[i] for i in inputs])

    # --- run -----------------------------------------------------------------------------
    def run(self, ctx, xs):
        """The group's outputs for the outer input values ``xs`` (``outer_inputs`` order),
        computed once per RunContext and shared by the group's output layers."""
        runs = ctx.recurrent_group_runs
        if runs is None:
            runs = ctx.recurrent_group_runs = {}
        known = runs.get(id(self))
        if known is not None and len(known[0]) == len(xs) and \
                all(a is b for a, b in zip(known[0], xs)):
            return known[1]
        plan, deferred = ctx.sparse_plan, ctx.deferred_weight_grads
        ctx.sparse_plan = None         # the inference sparse plan decides whole layers, not steps
        ctx.deferred_weight_grads = {}   # step layers may sum a weight's gradient over steps
        try:
            results = self._unroll(ctx, xs)
        finally:
            ctx.sparse_plan = plan
            ctx.deferred_weight_grads = deferred
        runs[id(self)] = (list(xs), results)
        return results

    def _value(self, xs, layer):
        return xs[self.outer_slots[id(layer)]]

    def _unroll(self, ctx, xs):
        batch = _Batch(self, xs)
        if batch.num_steps == 0:
            raise ValueError(f"recurrent_group {self.name}: its input sequences are empty")
        steps = {}
        for placeholder, layer, nested in self.inlinks:
            steps[id(placeholder)] = batch.split_inlink(self._value(xs, layer), nested, layer)
        statics = [(self.slot.get(id(p)), batch.reorder(self._value(xs, layer)))
                   for p, layer in self.statics]
        memories = [(mem, self.slot.get(id(mem)), self.slot[id(mem.target)])
                    for mem in self.memories]
        values = [None] * len(self.layers)
        previous = {}
        outputs = [[] for _ in self.outputs]
        for t in range(batch.num_steps):
            n = int(batch.sizes[t])
            for placeholder, _, _ in self.inlinks:
                slot = self.slot.get(id(placeholder))
                if slot is not None:
                    values[slot] = steps[id(placeholder)][t]
            for i, (slot, value) in enumerate(statics):
                if slot is not None:
                    statics[i] = (slot, _prefix_samples(value, n))
                    values[slot] = statics[i][1]
            for mem, slot, _ in memories:
                if t == 0:
                    value = self._boot(ctx, mem, xs, batch.order, batch)
                else:
                    value = _prefix_samples(previous[id(mem)], n)
                if slot is not None:
                    values[slot] = value
            self.run_step(ctx, values)
            for mem, _, target in memories:
                previous[id(mem)] = values[target]
            for store, slot in zip(outputs, self.output_slots):
                store.append(values[slot])
        return [batch.merge(store, out) for store, out in zip(outputs, self.outputs)]

    def _boot(self, ctx, mem, xs, samples, batch):
        """A memory's value at the first timestep, for ``samples`` (one row or sequence each)."""
        if mem.boot_layer is not None:
            return select_samples(self._value(xs, mem.boot_layer), samples)
        n = len(samples)
        if mem.boot_with_const_id is not None:
            return Tensor(batch.xp.full(n, mem.boot_with_const_id, dtype=np.int64))
        zeros = Tensor(batch.xp.zeros((n, mem.size), dtype=batch.dtype))
        if mem.boot_bias is None:
            return zeros
        value = add(zeros, ctx.param(mem.boot_bias))
        return mem.boot_act(value)


__all__ = ["RecurrentGroup"]
