"""What a ``recurrent_group`` step is given: one timestep (or subsequence) of each sequence
input, ``StaticInput``s whole, ``GeneratedInput`` for generation, and ``memory`` -- the
previous timestep's output of a step layer (see :mod:`.recurrent_group` for the whole
picture).
"""

import numbers


from .activations import BaseActivation, Linear
from .attrs import ParamAttr
from .base import SEQUENCE_LEVELS, Layer, as_param_attr, default_name
from .embedding import embedding
from .projections import describe_input, gives_ids

#: the step builders whose step functions are running (innermost last; pushed by
#: recurrent_group.StepBuilder): ``memory`` registers with the innermost
RUNNING_BUILDERS = []

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
        self.size = checked_count(size, "GeneratedInput: size", 1)
        if not isinstance(embedding_name, str) or not embedding_name:
            raise ValueError(f"GeneratedInput: embedding_name={embedding_name!r} must name the "
                             "embedding table parameter (a non-empty string)")
        self.embedding_name = embedding_name
        self.embedding_size = checked_count(embedding_size, "GeneratedInput: embedding_size", 1)

    def before_real_step(self):
        """The step's input: the embedding of the word chosen at the previous step."""
        word = memory(name=GENERATED_WORD, size=self.size, boot_with_const_id=self.bos_id)
        return embedding(input=word, size=self.embedding_size,
                         param_attr=ParamAttr(name=self.embedding_name))

    def __repr__(self):
        return f"GeneratedInput(size={self.size}, embedding_name={self.embedding_name!r})"


def checked_count(value, what, minimum):
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
    if not RUNNING_BUILDERS:
        raise ValueError(f"memory(name={name!r}) can only be used inside the step function of "
                         "a recurrent_group (or beam_search): it is the previous timestep's "
                         "output of a layer of the step")
    builder = RUNNING_BUILDERS[-1]
    default = default_name("memory")          # Paddle's wrap_name_default draws it always
    label = name if name is not None else (memory_name or default)
    if name is not None and not isinstance(name, str):
        raise ValueError(f"memory: name={name!r} must be the name of a layer of the step")
    size = checked_count(size, f"memory {label}: size", 1)
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
        boot_with_const_id = checked_count(boot_with_const_id,
                                           f"memory {label}: boot_with_const_id", 0)
    agent = f"{name}+delay1" if name is not None else label
    mem = MemoryLayer(agent, name, size, level, boot_layer, bias_attr, act, boot_with_const_id)
    builder.memories.append(mem)
    return mem


