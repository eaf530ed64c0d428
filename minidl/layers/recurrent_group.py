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

Generation. ``beam_search(step, input=[StaticInput(...), GeneratedInput(...)], ...)`` runs
the same kind of step on the words it generates itself: the ``GeneratedInput`` is the
embedding of the previous word (``bos_id`` first), the step's output the probabilities of the
next. It keeps the ``beam_size`` best partial sentences of each sample, exactly as Paddle's
generator does (see :class:`BeamSearchLayer`), and outputs v2's result: ``paddle.infer(...,
field=['prob', 'id'])`` returns the log probabilities ``(samples, num_results)`` and the ids,
each result as ``[length, ids..., -1]``.
"""

import math
import numbers

import numpy as np

from ..core import config
from ..core.config import no_grad
from ..core.sequence import SequenceLayout
from ..core.tensor import Tensor
from ..core.xp import as_numpy, get_array_module
from ..functions.basic import add
from ..functions.recurrent_group import gather_rows, merge_rows, prefix_rows, split_rows
from .activations import BaseActivation, Linear
from .attrs import ParamAttr
from .base import SEQUENCE_LEVELS, Layer, as_param_attr, build_listeners, default_name
from .embedding import embedding
from .graph import topological_order
from .projections import describe_input, gives_ids

#: the step builders whose step functions are running (innermost last)
_BUILDERS = []

#: the name of the memory a GeneratedInput reads: the word chosen at the previous step
GENERATED_WORD = "__beam_search_predict__"


# --- what a step function is given -----------------------------------------------------------

class StaticInput:
    """An input of a recurrent_group read whole at every step (v2's ``StaticInput``): a
    read-only memory, one row -- or one sequence -- per sample. ``is_seq`` and ``size`` are
    v2's deprecated arguments (``size``, if given, is checked)."""

    def __init__(self, input, is_seq=False, size=None):
        if not isinstance(input, Layer):
            raise ValueError(f"StaticInput: input must be a layer, got {input!r:.80}")
        if size is not None and size != input.size:
            raise ValueError(f"StaticInput: size={size!r}, but input {input.name} has size "
                             f"{input.size}")
        self.input = input

    def __repr__(self):
        return f"StaticInput({self.input.name})"


class SubsequenceInput:
    """A nested-sequence input of a recurrent_group whose step sees one whole subsequence
    per sample at a time (v2's ``SubsequenceInput``; a nested input given plainly is split
    the same way)."""

    def __init__(self, input):
        if not isinstance(input, Layer):
            raise ValueError(f"SubsequenceInput: input must be a layer, got {input!r:.80}")
        if input.seq_level != 2:
            raise ValueError(f"SubsequenceInput: input {input.name} is a "
                             f"{SEQUENCE_LEVELS[input.seq_level]}; it must be a nested sequence "
                             "(a *_sub_sequence data type or a layer computed from one)")
        self.input = input

    def __repr__(self):
        return f"SubsequenceInput({self.input.name})"


class BaseGeneratedInput:
    """What beam_search feeds back to its step: the previously generated word."""

    def __init__(self):
        self.bos_id = None
        self.eos_id = None


class GeneratedInput(BaseGeneratedInput):
    """The embedding (``embedding_size`` wide, table parameter ``embedding_name``) of the
    word generated at the previous step, out of ``size`` words; ``bos_id`` at the first."""

    def __init__(self, size, embedding_name, embedding_size):
        super().__init__()
        self.size = _count(size, "GeneratedInput: size", 1)
        if not isinstance(embedding_name, str) or not embedding_name:
            raise ValueError(f"GeneratedInput: embedding_name={embedding_name!r} must name the "
                             "embedding table parameter (a non-empty string)")
        self.embedding_name = embedding_name
        self.embedding_size = _count(embedding_size, "GeneratedInput: embedding_size", 1)

    def before_real_step(self):
        """The step's input: the embedding of the word chosen at the previous step."""
        word = memory(name=GENERATED_WORD, size=self.size, boot_with_const_id=self.bos_id)
        return embedding(input=word, size=self.embedding_size,
                         param_attr=ParamAttr(name=self.embedding_name))

    def __repr__(self):
        return f"GeneratedInput(size={self.size}, embedding_name={self.embedding_name!r})"


def _count(value, what, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{what}={value!r} must be an integer >= {minimum}")
    return int(value)


class StepInputLayer(Layer):
    """A placeholder inside a step: the group sets its value at every timestep."""

    per_timestep = False

    def __init__(self, name, source, seq_level, kind):
        super().__init__(name, [], source.size, image_shape=source.image_shape)
        self.seq_level = seq_level
        self.source = source
        self.kind = kind
        self.outputs_ids = gives_ids(source)
        self.type = "scatter_agent" if kind == "inlink" else "static_input"

    def forward(self, ctx, xs):
        raise RuntimeError(f"layer {self.name} is set by its recurrent_group, not computed")


class MemoryLayer(Layer):
    """``memory``: the previous timestep's output of the step layer named ``target_name``."""

    type = "agent"
    per_timestep = False

    def __init__(self, agent_name, target_name, size, seq_level, boot_layer, boot_bias,
                 boot_act, boot_id):
        super().__init__(agent_name, [], size)
        self.seq_level = seq_level
        self.target_name = target_name
        self.target = None
        self.boot_layer = boot_layer
        self.boot_act = boot_act
        self.boot_with_const_id = boot_id
        self.outputs_ids = boot_id is not None
        self.generated = False
        self.boot_bias = None if boot_bias is None else \
            self.add_param("wbias", (1, size), boot_bias, is_bias=True)

    def set_input(self, layer):
        """v2's ``LayerOutput.set_input``: remember ``layer`` (a layer of the step)."""
        if not isinstance(layer, Layer):
            raise ValueError(f"memory {self.name}: set_input needs a layer, got {layer!r:.80}")
        self.target = layer
        self.target_name = layer.name

    def forward(self, ctx, xs):
        raise RuntimeError(f"memory {self.name} is set by its recurrent_group, not computed")


def memory(name, size, is_seq=False, boot_layer=None, boot_bias=None,
           boot_bias_active_type=None, boot_with_const_id=None, memory_name=None):
    """v2's ``memory``, inside a recurrent_group's step: the output of the step layer
    ``name`` at the previous timestep. At the first timestep it is ``boot_layer``'s output
    (a layer outside the group, one row -- or sequence -- per sample), or
    ``boot_bias_active_type(boot_bias)`` (a learned ``(1, size)`` bias, Linear by default),
    or the id ``boot_with_const_id``, or zeros; at most one of the three may be given.

    Named ``<name>+delay1`` as in Paddle (``memory_name``, or ``__memory_N__``, when ``name``
    is None; then call ``set_input(layer)``)."""
    if not _BUILDERS:
        raise ValueError(f"memory(name={name!r}) can only be used inside the step function of "
                         "a recurrent_group (or beam_search): it is the previous timestep's "
                         "output of a layer of the step")
    builder = _BUILDERS[-1]
    default = default_name("memory")          # Paddle's wrap_name_default draws it always
    label = name if name is not None else (memory_name or default)
    if name is not None and not isinstance(name, str):
        raise ValueError(f"memory: name={name!r} must be the name of a layer of the step")
    size = _count(size, f"memory {label}: size", 1)
    options = [option for option, given in (("boot_layer", boot_layer is not None),
                                            ("boot_bias", boot_bias not in (None, False)),
                                            ("boot_with_const_id", boot_with_const_id is not None))
               if given]
    if len(options) > 1:
        raise ValueError(f"memory {label}: give at most one of boot_layer, boot_bias and "
                         f"boot_with_const_id, got {', '.join(options)}")
    level = 1 if is_seq else 0
    if boot_layer is not None:
        if not isinstance(boot_layer, Layer):
            raise ValueError(f"memory {label}: boot_layer must be a layer, got "
                             f"{boot_layer!r:.80}")
        if boot_layer.size != size:
            raise ValueError(f"memory {label}: boot_layer {describe_input(boot_layer)} must "
                             f"have the memory's size {size}")
        if boot_layer.seq_level == 2:
            raise ValueError(f"memory {label}: boot_layer {boot_layer.name} is a nested "
                             "sequence; a memory boots from one row or one sequence per sample")
        level = boot_layer.seq_level
    elif is_seq:
        raise ValueError(f"memory {label}: a sequence memory (is_seq=True) needs a boot_layer "
                         "giving its first value, one sequence per sample")
    bias_attr = None
    if boot_bias is True:
        bias_attr = ParamAttr(initial_std=0.0, initial_mean=0.0)
    elif boot_bias not in (None, False):
        bias_attr = as_param_attr(boot_bias, f"memory {label}: boot_bias")
    act = BaseActivation.accept(Linear() if boot_bias_active_type is None
                                else boot_bias_active_type)
    if not isinstance(act, BaseActivation):
        raise ValueError(f"memory {label}: boot_bias_active_type={act!r} must be an activation "
                         "(paddle.activation.Tanh(), ...)")
    if boot_with_const_id is not None:
        boot_with_const_id = _count(boot_with_const_id, f"memory {label}: boot_with_const_id",
                                    0)
    agent = f"{name}+delay1" if name is not None else label
    mem = MemoryLayer(agent, name, size, level, boot_layer, bias_attr, act, boot_with_const_id)
    builder.memories.append(mem)
    return mem


# --- building a group ------------------------------------------------------------------------

class _StepBuilder:
    """Collects the layers a step function builds (told by ``base.build_listeners``)."""

    def __init__(self, group):
        self.group = group
        self.layers = []
        self.memories = []

    def __call__(self, layer):
        if _BUILDERS and _BUILDERS[-1] is self:    # nested groups: the innermost collects
            self.layers.append(layer)

    def __enter__(self):
        _BUILDERS.append(self)
        build_listeners.append(self)
        return self

    def __exit__(self, *exc):
        build_listeners.remove(self)
        _BUILDERS.pop()
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
            return _select_samples(self._value(xs, mem.boot_layer), samples)
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
        return _select_samples(value, self.order)

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


def _select_samples(value, samples):
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
    with _StepBuilder(group) as builder:
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


# --- generation ------------------------------------------------------------------------------

class _Path:
    """A partial sentence of the beam: its words, their probabilities, its log probability
    and the row of the step batch it was expanded from."""

    __slots__ = ("sample", "ids", "probs", "logp", "parent")

    def __init__(self, sample, ids=(), probs=(), logp=0.0, parent=0):
        self.sample, self.ids, self.probs, self.logp, self.parent = \
            sample, ids, probs, logp, parent


class BeamSearchGroup(RecurrentGroup):
    """The step graph of a ``beam_search`` and the search itself."""

    def __init__(self, name, bos_id, eos_id, beam_size, max_length, num_results):
        super().__init__(name, reverse=False)
        self.bos_id, self.eos_id = bos_id, eos_id
        self.beam_size, self.max_length, self.num_results = beam_size, max_length, num_results

    def _num_samples(self, xs):
        counts = {}
        for _, layer in self.statics:
            counts[layer.name] = _num_samples(self._value(xs, layer))
        for mem in self.memories:
            if mem.boot_layer is not None:
                counts[mem.boot_layer.name] = _num_samples(self._value(xs, mem.boot_layer))
        if not counts:
            raise ValueError(f"beam_search {self.name}: nothing tells how many samples to "
                             "generate for; give a StaticInput or a memory with a boot_layer "
                             "(a layer outside the group)")
        if len(set(counts.values())) > 1:
            raise ValueError(f"beam_search {self.name}: its inputs hold different numbers of "
                             f"samples ({counts})")
        return next(iter(counts.values()))

    def generate(self, ctx, xs):
        """Run the beam search (no gradients); returns ``(ids, prob, value, starts)``."""
        samples = self._num_samples(xs)
        first = xs[0].data
        xp = get_array_module(first)
        floats = [x.data.dtype for x in xs if np.dtype(x.data.dtype).kind == "f"]
        batch = _Namespace(xp=xp, dtype=floats[0] if floats else config.default_dtype)
        beam = self.beam_size
        live = [_Path(s, parent=s) for s in range(samples)]
        finals = [[] for _ in range(samples)]
        min_final = [0.0] * samples
        values = [None] * len(self.layers)
        statics = [(self.slot.get(id(p)), self._value(xs, layer)) for p, layer in self.statics]
        previous = {}
        rows = parents = np.arange(samples)
        for t in range(self.max_length):
            for slot, value in statics:
                if slot is not None:
                    values[slot] = _select_samples(value, rows)
            for mem in self.memories:
                slot = self.slot.get(id(mem))
                if mem.generated:
                    value = Tensor(xp.asarray(np.array([p.ids[-1] if p.ids else self.bos_id
                                                        for p in live], dtype=np.int64)))
                elif t == 0:
                    value = self._boot(ctx, mem, xs, rows, batch)
                else:
                    value = _select_samples(previous[id(mem)], parents)
                if slot is not None:
                    values[slot] = value
            self.run_step(ctx, values)
            for mem in self.memories:
                if not mem.generated:
                    previous[id(mem)] = values[self.slot[id(mem.target)]]
            probs = as_numpy(values[self.output_slots[0]].data)
            if probs.ndim != 2 or probs.shape[0] != len(live):
                raise ValueError(f"beam_search {self.name}: the step's output "
                                 f"{self.outputs[0].name} must give one row of word "
                                 f"probabilities per partial sentence, got shape {probs.shape}")
            ids, word_probs = _top_k(probs, beam)
            expanded = {}
            for r, path in enumerate(live):
                for word, p in zip(ids[r].tolist(), word_probs[r].tolist()):
                    logp = path.logp + (math.log(p) if p > 0 else -math.inf)
                    new = _Path(path.sample, path.ids + (word,), path.probs + (p,), logp, r)
                    if word == self.eos_id or len(new.ids) >= self.max_length:
                        finals[path.sample].append(new)
                    else:
                        expanded.setdefault(path.sample, []).append(new)
            live = []
            for sample, candidates in expanded.items():
                kept = sorted(candidates, key=lambda p: -p.logp)[:beam]
                worst, best = kept[-1].logp, kept[0].logp
                finals[sample] = [p for p in finals[sample] if p.logp >= worst]
                for p in finals[sample]:
                    min_final[sample] = min(min_final[sample], p.logp)
                if len(finals[sample]) >= beam and min_final[sample] >= best:
                    continue          # no partial sentence can beat the finished ones
                live.extend(kept)
            if not live:
                break
            parents = np.array([p.parent for p in live], dtype=np.int64)
            rows = np.array([p.sample for p in live], dtype=np.int64)
        return self._results(finals)

    def _results(self, finals):
        """v2's output (``fillGenOutputs``): with several results per sample, each result is
        ``[length, ids..., -1]`` in ``ids`` and ``[word probabilities..., -1]`` in ``value``,
        and ``prob[i, j]`` is result j's log probability; with one, the ids of the best
        results one after the other."""
        count = self.num_results
        ids, value, starts = [], [], [0]
        prob = np.full((len(finals), count), -np.inf)
        for i, paths in enumerate(finals):
            best = sorted(paths, key=lambda p: -p.logp)[:count]
            for j, path in enumerate(best):
                prob[i, j] = path.logp
                if count > 1:
                    ids.extend((len(path.ids),) + path.ids + (-1,))
                    value.extend(path.probs + (-1.0,))
                else:
                    ids.extend(path.ids)
                    value.extend(path.probs)
            starts.append(len(ids))
        return (np.array(ids, dtype=np.int64), prob,
                np.array(value, dtype=np.float64).reshape(-1, 1), np.array(starts))


class _Namespace:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def _num_samples(value):
    return value.seq.num_sequences if value.seq is not None else len(value)


def _top_k(probs, k):
    """The ``k`` largest entries of each row, largest first: ``(ids, values)``."""
    k = min(k, probs.shape[1])
    part = np.argpartition(-probs, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(probs, part, axis=1)
    order = np.argsort(-top, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(top, order, axis=1)


class BeamSearchLayer(Layer):
    """The generated ids of a ``beam_search`` (Paddle names it ``__beam_search_predict__``).

    Its value is v2's ``id`` field (see :meth:`BeamSearchGroup._results`); the Tensor also
    carries ``fields`` -- ``{'id', 'prob', 'value'}`` -- which ``paddle.infer(field=...)``
    reads. Paddle's search: at each step every partial sentence proposes its ``beam_size``
    most probable next words; a proposal ending in ``eos_id`` (or reaching ``max_length``
    words) is finished, the others compete per sample for the ``beam_size`` places of the
    next step; finished sentences worse than the worst surviving one are dropped, and a
    sample stops once it has ``beam_size`` finished sentences none of which the best
    surviving one can beat. Results are the ``num_results_per_sample`` best finished
    sentences, best first; the ids include ``eos_id`` but not ``bos_id``.
    """

    type = "beam_search"
    per_timestep = False
    outputs_ids = True

    def __init__(self, group):
        super().__init__(GENERATED_WORD, group.outer_inputs, group.outputs[0].size)
        self.seq_level = 1
        self.group = group
        self.params = group.params

    def forward(self, ctx, xs):
        plan = getattr(ctx, "sparse_plan", None)
        ctx.sparse_plan = None
        try:
            with no_grad():
                ids, prob, value, starts = self.group.generate(ctx, xs)
        finally:
            ctx.sparse_plan = plan
        out = Tensor(ids, seq=SequenceLayout(starts))
        out.fields = {"id": ids, "prob": prob, "value": value}
        return out


def beam_search(step, input, bos_id, eos_id, beam_size, max_length=500, name=None,
                num_results_per_sample=None):
    """v2's ``beam_search``: generate sequences with ``step`` (see :class:`BeamSearchLayer`).

    ``input``: ``StaticInput`` s and exactly one ``GeneratedInput`` (the previous word's
    embedding), given to ``step`` in this order; ``step`` returns the next word's
    probabilities (e.g. an fc layer with a Softmax activation). ``num_results_per_sample``
    defaults to ``beam_size`` and may not exceed it.
    """
    name = name or default_name("beam_search")
    what = "beam_search"
    if not callable(step):
        raise ValueError(f"{what} {name}: step must be a function building the step's layers, "
                         f"got {step!r:.80}")
    beam_size = _count(beam_size, f"{what} {name}: beam_size", 1)
    max_length = _count(max_length, f"{what} {name}: max_length", 1)
    if num_results_per_sample is None:
        num_results_per_sample = beam_size
    num_results = _count(num_results_per_sample, f"{what} {name}: num_results_per_sample", 1)
    if num_results > beam_size:
        raise ValueError(f"{what} {name}: num_results_per_sample={num_results} must be at most "
                         f"beam_size={beam_size} (the search keeps beam_size sentences)")
    inputs = list(input) if isinstance(input, (list, tuple)) else [input]
    generated = [item for item in inputs if isinstance(item, BaseGeneratedInput)]
    if len(generated) != 1:
        raise ValueError(f"{what} {name}: input must hold exactly one GeneratedInput (the "
                         f"previously generated word), got {len(generated)}")
    gen = generated[0]
    for label, word in (("bos_id", bos_id), ("eos_id", eos_id)):
        word = _count(word, f"{what} {name}: {label}", 0)
        if word >= gen.size:
            raise ValueError(f"{what} {name}: {label}={word} is not a word of the "
                             f"GeneratedInput's {gen.size}-word dictionary")
    gen.bos_id, gen.eos_id = int(bos_id), int(eos_id)
    group = BeamSearchGroup(name, gen.bos_id, gen.eos_id, beam_size, max_length, num_results)
    with _StepBuilder(group) as builder:
        args = []
        for item in inputs:
            if isinstance(item, StaticInput):
                args.append(group.add_static(item.input))
            elif item is gen:
                args.append(gen.before_real_step())
                builder.memories[-1].generated = True
            else:
                raise ValueError(f"{what} {name}: input {item!r:.80} must be a StaticInput or "
                                 "the GeneratedInput; in beam_search no input may be a layer "
                                 "(wrap what the step reads whole in StaticInput)")
        outputs = step(*args)
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    if len(outputs) != 1:
        raise ValueError(f"{what} {name}: the step must return one layer, the next word's "
                         f"probabilities; got {len(outputs)}")
    group.finish(builder, outputs, what)
    probs = group.outputs[0]
    if probs.size != gen.size or probs.seq_level != 0 or gives_ids(probs):
        raise ValueError(f"{what} {name}: the step's output {describe_input(probs)} must give "
                         f"one row of probabilities over the GeneratedInput's {gen.size} words "
                         "per sentence (e.g. fc(size=dictionary size, act=Softmax()))")
    return BeamSearchLayer(group)


__all__ = ["BaseGeneratedInput", "BeamSearchLayer", "GeneratedInput", "MemoryLayer",
           "RecurrentGroupOutput", "StaticInput", "StepInputLayer", "SubsequenceInput",
           "beam_search", "memory", "recurrent_group"]
