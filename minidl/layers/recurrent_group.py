"""``recurrent_group``: a user-written step unrolled over the timesteps of sequences, with
v2's ``memory``, ``StaticInput``, ``SubsequenceInput``, ``GeneratedInput`` and
``beam_search``.

Building. ``recurrent_group(step, input)`` calls ``step`` ONCE, at build time, with one
placeholder layer per input: for a sequence input, a layer standing for one timestep of each
sequence (for a nested input -- or ``SubsequenceInput`` -- one whole subsequence); for a
``StaticInput``, the whole input, the same at every step. Inside ``step``,
``memory(name, size)`` is another placeholder: the output of the step's layer called
``name`` at the previous timestep (zeros, ``boot_layer``'s output, an activated
``boot_bias`` or the id ``boot_with_const_id`` at the first). What ``step`` returns is the
step's output; the group's output is the sequence of those outputs, in the input's layout::

    def step(x_t):                                  # x_t: one timestep of x
        h_prev = memory(name='h', size=8)           # h at t - 1 (zeros at t = 0)
        return fc(input=[x_t, h_prev], size=8, name='h')

    h = recurrent_group(step=step, input=x)         # a sequence like x, rows of size 8

Every layer the step builds belongs to the group: its parameters are named as Paddle names
them inside a group, ``_<layer>@<group>.w0``, so v2 tarballs load. The memories are resolved
when the step returns; a name that matches no layer of the step, a size that differs from
its layer's, a boot layer of the wrong size, and a step layer that reads a layer outside the
group (instead of a StaticInput) are errors at build time that name the culprits.

Running (Paddle's RecurrentGradientMachine, on packed rows). For each batch the sequences
are sorted by length, longest first, once. Timestep ``t`` then runs the step on the sequences
longer than ``t`` only -- a finished sequence drops out -- and they are the first rows of the
step's batch, so every step is one contiguous block of rows and a memory only loses its last
rows (PyTorch's ``PackedSequence`` arrangement)::

    lengths 2, 3, 1  ->  order: seq 1, seq 0, seq 2
    t = 0: rows of seq 1, seq 0, seq 2     (3 running)
    t = 1: rows of seq 1, seq 0            (2 running)
    t = 2: rows of seq 1                   (1 running)

``reverse=True`` runs each sequence from its last timestep to its first (output row ``t`` is
still the output for input row ``t``). All of it is ordinary autograd: the gathering and
splitting of the input rows, the steps, the memories' trimming and the final merge are
Functions (``minidl.functions.recurrent_group``), so gradients flow through the unrolled
steps, the memories' boot layers and the static inputs. The per-step Python work is the
step's own layers plus slicing.

Inputs and memories are in :mod:`.recurrent_inputs`, generation in :mod:`.beam_search`.
"""


import numpy as np

from ..core import config
from ..core.sequence import SequenceLayout
from ..core.tensor import Tensor
from ..core.xp import get_array_module
from ..functions.basic import add
from ..functions.recurrent_group import gather_rows, merge_rows, prefix_rows, split_rows
from .base import SEQUENCE_LEVELS, Layer, build_listeners, default_name
from .graph import topological_order
from .projections import describe_input, gives_ids
from .recurrent_inputs import (RUNNING_BUILDERS, BaseGeneratedInput, MemoryLayer, StaticInput,
                               StepInputLayer, SubsequenceInput)


# --- building a group ------------------------------------------------------------------------

class StepBuilder:
    """Collects the layers a step function builds (told by ``base.build_listeners``)."""

    def __init__(self, group):
        self.group = group
        self.layers = []
        self.memories = []

    def __call__(self, layer):
        if RUNNING_BUILDERS and RUNNING_BUILDERS[-1] is self:  # nested: the innermost collects
            self.layers.append(layer)

    def __enter__(self):
        RUNNING_BUILDERS.append(self)
        build_listeners.append(self)
        return self

    def __exit__(self, *exc):
        build_listeners.remove(self)
        RUNNING_BUILDERS.pop()
        return False


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
        runs = ctx.__dict__.setdefault("recurrent_group_runs", {})
        known = runs.get(id(self))
        if known is not None and len(known[0]) == len(xs) and \
                all(a is b for a, b in zip(known[0], xs)):
            return known[1]
        plan = getattr(ctx, "sparse_plan", None)
        deferred = getattr(ctx, "deferred_weight_grads", None)
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


class _Batch:
    """One batch's arrangement: the sequences sorted by length (``order``), how many run at
    each timestep (``sizes``) and, for every (step, running sequence) pair in step-major
    order, the sequence (``sample``) and the position in it (``position``)."""

    def __init__(self, group, xs):
        self.group = group
        first = xs[0].data if xs else None
        self.xp = get_array_module(first) if first is not None else np
        floats = [x.data.dtype for x in xs if np.dtype(x.data.dtype).kind == "f"]
        self.dtype = floats[0] if floats else config.default_dtype
        lengths, self.target_layout = None, None
        for _, layer, nested in group.inlinks:
            layout = group._value(xs, layer).seq
            if layout is None:
                raise ValueError(f"recurrent_group {group.name}: input {layer.name} is declared "
                                 f"a {SEQUENCE_LEVELS[layer.seq_level]} but its value carries "
                                 "no sequence layout")
            if nested and not layout.is_nested:
                raise ValueError(f"recurrent_group {group.name}: input {layer.name} is declared "
                                 "a nested sequence but its value carries a one-level layout")
            mine = _top_lengths(layout, nested)
            if lengths is None:
                lengths, first_name = mine, layer.name
            elif not np.array_equal(lengths, mine):
                raise ValueError(f"recurrent_group {group.name}: inputs {first_name} and "
                                 f"{layer.name} have different numbers of timesteps per "
                                 f"sequence ({lengths.tolist()} and {mine.tolist()})")
            if self.target_layout is None or layer is group.target_inlink:
                self.target_layout = layout if not nested else SequenceLayout.from_lengths(mine)
        self.lengths = lengths
        self.order = np.argsort(-lengths, kind="stable")
        sorted_lengths = lengths[self.order]
        self.num_steps = int(sorted_lengths[0]) if len(lengths) else 0
        counts = np.bincount(sorted_lengths, minlength=self.num_steps + 1)
        self.sizes = len(lengths) - np.cumsum(counts)[:self.num_steps]
        self.bounds = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        rank = np.arange(self.bounds[-1]) - np.repeat(self.bounds[:-1], self.sizes)
        step = np.repeat(np.arange(self.num_steps), self.sizes)
        self.sample = self.order[rank]
        self.position = sorted_lengths[rank] - 1 - step if group.reverse else step
        self.first = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    def split_inlink(self, x, nested, layer):
        """The in-link's rows for each timestep (one Tensor per step)."""
        layout = x.seq
        if not nested:
            rows = layout.starts[self.sample] + self.position
            pieces = split_rows(_gather(x, rows), self.bounds)
            return list(pieces)
        first_sub = np.searchsorted(layout.sub_starts, layout.starts)
        sub = first_sub[self.sample] + self.position
        begin, lengths = layout.sub_starts[sub], np.diff(layout.sub_starts)[sub]
        rows = np.repeat(begin - _exclusive_cumsum(lengths), lengths) + np.arange(lengths.sum())
        row_bounds = np.concatenate([[0], np.cumsum(lengths)])[self.bounds]
        pieces = split_rows(_gather(x, rows), row_bounds)
        for t, piece in enumerate(pieces):
            piece.seq = SequenceLayout.from_lengths(lengths[self.bounds[t]:self.bounds[t + 1]])
        return list(pieces)

    def reorder(self, value):
        return select_samples(value, self.order)

    def merge(self, steps, layer):
        """The step outputs, one Tensor per timestep, back in the input's row order."""
        if steps[0].seq is None:
            for t, y in enumerate(steps):
                if len(y) != self.sizes[t]:
                    raise ValueError(f"recurrent_group {self.group.name}: step output "
                                     f"{layer.name} has {len(y)} rows at timestep {t}, expected "
                                     f"one per running sequence ({self.sizes[t]})")
            out = merge_rows(steps, self.first[self.sample] + self.position)
            out.seq = self.target_layout
            return out
        lengths = np.concatenate([np.diff(y.seq.starts) for y in steps])
        flat = self.first[self.sample] + self.position
        sub_lengths = np.zeros(self.bounds[-1], dtype=np.int64)
        sub_lengths[flat] = lengths
        sub_starts = np.concatenate([[0], np.cumsum(sub_lengths)]).astype(np.int64)
        dest = np.repeat(sub_starts[flat] - _exclusive_cumsum(lengths), lengths) + \
            np.arange(lengths.sum())
        out = merge_rows(steps, dest)
        out.seq = SequenceLayout(sub_starts[self.first], sub_starts)
        return out


def _exclusive_cumsum(values):
    return np.concatenate([[0], np.cumsum(values)[:-1]]).astype(np.int64) if len(values) \
        else np.zeros(0, dtype=np.int64)


def _top_lengths(layout, nested):
    """Timesteps per sequence: rows, or subsequences of a nested sequence."""
    if not nested:
        return layout.lengths
    return np.diff(np.searchsorted(layout.sub_starts, layout.starts))


def _gather(x, rows):
    """``x[rows]``, skipping the copy when ``rows`` is every row in order."""
    if len(rows) == len(x) and np.array_equal(rows, np.arange(len(x))):
        return x
    return gather_rows(x, rows)


def select_samples(value, samples):
    """The rows (or sequences) of ``samples`` (indices; repeats allowed), with a layout."""
    samples = np.asarray(samples, dtype=np.int64)
    layout = value.seq
    count = len(value) if layout is None else layout.num_sequences
    if len(samples) == count and np.array_equal(samples, np.arange(count)):
        return value
    unique = len(np.unique(samples)) == len(samples)
    if layout is None:
        return gather_rows(value, samples, unique)
    starts = layout.starts
    lengths = np.diff(starts)[samples]
    rows = np.repeat(starts[samples] - _exclusive_cumsum(lengths), lengths) + \
        np.arange(lengths.sum())
    out = gather_rows(value, rows, unique)
    if layout.is_nested:
        first = np.searchsorted(layout.sub_starts, starts)
        sub_lengths = np.diff(layout.sub_starts)
        out.seq = SequenceLayout.from_lengths(
            None, [sub_lengths[first[s]:first[s + 1]].tolist() for s in samples])
    else:
        out.seq = SequenceLayout.from_lengths(lengths)
    return out


def _prefix_samples(value, n):
    """The first ``n`` samples (rows or sequences) of ``value``: the sequences still
    running, as the batch is sorted longest first."""
    layout = value.seq
    if layout is None:
        return value if n == len(value) else prefix_rows(value, n)
    if n == layout.num_sequences:
        return value
    rows = int(layout.starts[n])
    out = prefix_rows(value, rows)
    if layout.is_nested:
        k = int(np.searchsorted(layout.sub_starts, rows))
        out.seq = SequenceLayout(layout.starts[:n + 1], layout.sub_starts[:k + 1])
    else:
        out.seq = SequenceLayout(layout.starts[:n + 1])
    return out


class RecurrentGroupOutput(Layer):
    """One output of a recurrent_group in the network outside it: the sequence of a step
    output layer's values (named like that layer, as Paddle names its out-links)."""

    type = "recurrent_layer_group"
    per_timestep = False

    def __init__(self, group, index):
        inner = group.outputs[index]
        super().__init__(inner.name, group.outer_inputs, inner.size)
        if inner.seq_level + 1 > 2:
            raise ValueError(f"recurrent_group {group.name}: step output {inner.name} is a "
                             f"{SEQUENCE_LEVELS[inner.seq_level]}; as a sequence of those the "
                             "group's output would be nested deeper than Paddle allows")
        self.seq_level = inner.seq_level + 1
        self.group, self.index, self.inner = group, index, inner
        self.params = group.params
        self.outputs_ids = gives_ids(inner)
        #: the step layer's activation, already applied inside the group; shown, as in Paddle
        #: (whose group output IS the step layer), to layers that check it (e.g.
        #: classification_cost wants Softmax)
        self.act = inner.act

    def compute(self, ctx, xs):
        return self.group.run(ctx, xs)[self.index]

    def forward(self, ctx, xs):
        return self.compute(ctx, xs)


def recurrent_group(step, input, reverse=False, name=None, targetInlink=None):
    """v2's ``recurrent_group``: see the module docstring.

    ``input``: a layer or a list of layers (sequences: split into timesteps; nested
    sequences, or ``SubsequenceInput``: into subsequences), ``StaticInput`` s (whole, at every
    step) -- given to ``step`` in this order. Returns the output layer (a list when ``step``
    returns several), each named like the step layer it collects.
    ``targetInlink`` (deprecated in v2): the in-link whose layout the outputs take.
    """
    name = name or default_name("recurrent_group")
    what = "recurrent_group"
    if not callable(step):
        raise ValueError(f"{what} {name}: step must be a function building the step's layers, "
                         f"got {step!r:.80}")
    inputs = list(input) if isinstance(input, (list, tuple)) else [input]
    if not inputs:
        raise ValueError(f"{what} {name}: needs at least one input sequence")
    group = RecurrentGroup(name, reverse)
    with StepBuilder(group) as builder:
        args = []
        for item in inputs:
            if isinstance(item, StaticInput):
                args.append(group.add_static(item.input))
            elif isinstance(item, SubsequenceInput):
                args.append(group.add_inlink(item.input, nested=True))
            elif isinstance(item, BaseGeneratedInput):
                raise ValueError(f"{what} {name}: {item!r} is for beam_search, which generates "
                                 "the sequence; recurrent_group reads given sequences")
            elif isinstance(item, Layer):
                if item.seq_level == 0:
                    args.append(group.add_static(item))   # Paddle: the same row every step
                else:
                    args.append(group.add_inlink(item, nested=item.seq_level == 2))
            else:
                raise ValueError(f"{what} {name}: input {item!r:.80} must be a layer, "
                                 "StaticInput or SubsequenceInput")
        if not group.inlinks:
            raise ValueError(f"{what} {name}: at least one input must be a sequence (or nested "
                             "sequence) to iterate over; StaticInput and one-row-per-sample "
                             "layers are read whole at every step")
        outputs = step(*args)
    if targetInlink is not None:
        target = targetInlink.input if isinstance(targetInlink, SubsequenceInput) \
            else targetInlink
        if not any(target is layer for _, layer, _ in group.inlinks):
            raise ValueError(f"{what} {name}: targetInlink {getattr(target, 'name', target)!r} "
                             "is not one of the group's input sequences")
        group.target_inlink = target
    group.finish(builder, outputs, what)
    layers = [RecurrentGroupOutput(group, i) for i in range(len(group.outputs))]
    return layers[0] if len(layers) == 1 else layers


__all__ = ["RecurrentGroup", "RecurrentGroupOutput", "StepBuilder", "recurrent_group"]
