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

Running. For each batch the step runs once per timestep, on the sequences sorted longest
first so that a finished sequence drops out (:mod:`.recurrent_batch`); gradients flow through
the unrolled steps. The step graph, its checks and its unrolling are a ``RecurrentGroup``
(:mod:`.recurrent_graph`); inputs and memories are in :mod:`.recurrent_inputs`, generation
in :mod:`.beam_search`.
"""

from .base import SEQUENCE_LEVELS, Layer, build_listeners, default_name
from .projections import gives_ids
from .recurrent_graph import RecurrentGroup
from .recurrent_inputs import (RUNNING_BUILDERS, BaseGeneratedInput, StaticInput,
                               SubsequenceInput)


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


__all__ = ["RecurrentGroupOutput", "StepBuilder", "recurrent_group"]
