"""What every layer shares: names, parameter specs, output geometry, and the run step.

A layer *describes* a node of the network when it is built -- its inputs, its output size
and image geometry, the parameters it owns -- and checks that description at once, so a
wrong size fails at construction with the layer's name. At run time
:meth:`Layer.compute` turns input Tensors into the output Tensor through
``minidl.functions``.
"""

import itertools
import math
from dataclasses import dataclass, field

from ..core.sequence import same_layout
from ..functions.basic import add
from ..functions.dropout import dropout
from .attrs import ExtraAttr, ParamAttr

#: how errors name each ``Layer.seq_level``
SEQUENCE_LEVELS = ("non-sequence", "sequence", "nested sequence")

# --- default names, exactly as Paddle makes them ------------------------------------

_name_counters = {}


def default_name(prefix):
    """``__<prefix>_<n>__`` with one counter per prefix (``__fc_layer_0__``, ``__conv_0__``)."""
    n = _name_counters.get(prefix, 0)
    _name_counters[prefix] = n + 1
    return f"__{prefix}_{n}__"


def reset_names():
    """Restart every default-name counter (a fresh network gets Paddle's first names)."""
    _name_counters.clear()


# --- parameters ----------------------------------------------------------------------

@dataclass
class ParamSpec:
    """One parameter a layer owns.

    ``shape`` is Paddle's ``dims`` (what the tarball records); ``compute_shape`` the shape
    the kernels use (e.g. ``(F, C/groups, kh, kw)`` for a conv weight stored as ``(1, size)``).
    ``default_std`` is the layer's "smart" initial std, used when the ParamAttr sets none.
    """

    name: str
    shape: tuple
    attr: ParamAttr
    default_std: float = 0.0
    compute_shape: tuple = None
    is_bias: bool = False
    static: bool = False
    owner: str = ""
    default_mean: float = 0.0
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.shape = tuple(int(s) for s in self.shape)
        if self.compute_shape is None:
            self.compute_shape = self.shape
        self.static = self.static or self.attr.is_static

    @property
    def size(self):
        return math.prod(self.shape)


def as_param_attr(attr, what):
    """None/ParamAttr -> ParamAttr; False is handled by callers (no parameter)."""
    if attr is None or attr is True:
        return ParamAttr()
    if isinstance(attr, ParamAttr):
        return attr
    raise ValueError(f"{what} must be a ParamAttr, None or False, got {attr!r}")


def as_extra_attr(attr, layer_name):
    if attr is None:
        return ExtraAttr()
    if isinstance(attr, ExtraAttr):
        return attr
    raise ValueError(f"layer {layer_name}: layer_attr must be an ExtraAttr, got {attr!r}")


# --- layers --------------------------------------------------------------------------

#: creation order of layers, so "data layers in definition order" means what it says
_serial = itertools.count()

#: callables told of every layer as it is built: ``recurrent_group`` listens while its step
#: function runs, to learn the layers of the step (also those no output reaches, such as the
#: ``get_output`` layer a memory reads)
build_listeners = []

#: layer arithmetic (``a + b``, ``2 * a``, ``-a``): {operator: builder(layer, *other)}, filled
#: by minidl.layers.arithmetic when imported (paddle.op imports it); this module cannot
#: import the layers the operators build, since they import it
arithmetic = {}


class Layer:
    """A node of the network description.

    ``size``: width of one sample's output (Paddle's layer size).
    ``image_shape``: ``(C, H, W)`` when the output is an image, else None.
    ``params``: the :class:`ParamSpec` list, in Paddle's order (``w0, w1, ..., wbias``).
    """

    #: Paddle's layer type string (``fc``, ``exconv``, ``pool``, ...)
    type = "layer"
    #: False for layers that need one row per sample (images): a sequence input is an error
    #: at construction
    accepts_sequences = True
    #: True for layers that act on each row (timestep) on its own: the output keeps the
    #: inputs' sequence layout. Sequence layers (pooling, last_seq, ...) set it False and
    #: give their output a layout themselves.
    per_timestep = True
    #: True for layers that can read sparse rows (``sparse_*_vector`` data) without densifying
    accepts_sparse = False
    #: True when the output is sparse rows (only data layers of sparse types)
    sparse_output = False
    #: the bias parameter (a ParamSpec) of the layers that have one; see :meth:`plus_bias`
    bias = None

    def __init__(self, name, inputs, size, act=None, image_shape=None, layer_attr=None):
        self.name = name
        self.serial = next(_serial)
        self.inputs = list(inputs)
        self.size = int(size)
        self.act = act
        self.image_shape = tuple(image_shape) if image_shape is not None else None
        self.layer_attr = as_extra_attr(layer_attr, name)
        self.params = []
        for parent in self.inputs:
            if not isinstance(parent, Layer):
                raise ValueError(f"layer {name}: input {parent!r} is not a layer")
        #: 0: one row per sample; 1: a sequence per sample; 2: a sequence of subsequences
        self.seq_level = self._check_sequence_inputs()
        for listener in build_listeners:
            listener(self)

    def _check_sequence_inputs(self):
        """The sequence level of the output, checked against what this layer accepts
        (sequences, sparse rows)."""
        levels = {parent.seq_level for parent in self.inputs}
        for parent in self.inputs:
            if parent.sparse_output and not self.accepts_sparse:
                raise ValueError(f"layer {self.name} ({self.type}) cannot read the sparse rows of "
                                 f"{parent.name} ({parent.input_type!r}); feed it to an fc layer "
                                 "or a full_matrix_projection")
        if not self.accepts_sequences:
            for parent in self.inputs:
                if parent.seq_level:
                    raise ValueError(f"layer {self.name} ({self.type}) takes one row per sample, "
                                     f"but its input {parent.name} is a "
                                     f"{SEQUENCE_LEVELS[parent.seq_level]}")
        if self.per_timestep and len(levels) > 1:
            listed = ", ".join(f"{p.name} ({SEQUENCE_LEVELS[p.seq_level]})" for p in self.inputs)
            raise ValueError(f"layer {self.name} ({self.type}) acts on each row of its inputs, "
                             f"which must all be of one kind; got {listed}")
        return max(levels, default=0)

    # geometry used by image layers
    @property
    def num_filters(self):
        return self.image_shape[0] if self.image_shape else None

    def add_param(self, suffix, shape, attr, default_std=0.0, **kw):
        """Declare a parameter named ``_<layer>.<suffix>`` unless ``attr.name`` overrides it."""
        name = attr.name or f"_{self.name}.{suffix}"
        spec = ParamSpec(name=name, shape=shape, attr=attr, default_std=default_std,
                         owner=self.name, **kw)
        self.params.append(spec)
        return spec

    def plus_bias(self, ctx, y):
        """``y`` plus the layer's bias (broadcast over the rows), where it has one."""
        return y if self.bias is None else add(y, ctx.param(self.bias))

    def forward(self, ctx, xs):
        """Input Tensors -> pre-activation output Tensor (subclasses implement)."""
        raise NotImplementedError(f"layer type {self.type!r} defines no forward")

    def compute(self, ctx, xs):
        """forward, then the activation, then ``ExtraAttr(drop_rate=...)`` dropout.

        At inference a sparse plan (``ctx.sparse_plan``, see ``minidl.sparse_inference.plan``) may
        run forward and activation as one sparse kernel; it returns the activated output,
        or None to leave the layer dense.
        """
        if not self.per_timestep:
            layout = None
        elif len(xs) == 1:      # (the usual layer: its input's layout, nothing to compare)
            layout = xs[0].seq
        else:
            layout = same_layout([x.seq for x in xs], f"layer {self.name}")
        plan = getattr(ctx, "sparse_plan", None)
        y = plan.forward(self, ctx, xs) if plan is not None else None
        if y is None:
            y = self.forward(ctx, xs)
            if self.per_timestep:
                y.seq = layout   # before the activation: SequenceSoftmax reads it
            if self.act is not None:
                y = with_layout(self.act(y), y.seq)
        if self.layer_attr.drop_rate:
            y = with_layout(dropout(y, self.layer_attr.drop_rate, ctx.is_train, ctx.rng), y.seq)
        if self.per_timestep:
            y.seq = layout
        return y

    def __repr__(self):
        return f"<{type(self).__name__} {self.name} size={self.size}>"

    # -- arithmetic on layers (v2's paddle.op): see minidl.layers.arithmetic ---------------
    __array_ufunc__ = None   # a NumPy number on the left defers to the operators below

    def _arithmetic(self, op, *other):
        if op not in arithmetic:
            raise TypeError(f"layer {self.name}: arithmetic on layers is defined by "
                            "minidl.layers.arithmetic, which is not imported")
        return arithmetic[op](self, *other)

    def __add__(self, other):
        return self._arithmetic("add", other)

    __radd__ = __add__

    def __sub__(self, other):
        return self._arithmetic("sub", other)

    def __rsub__(self, other):
        return self._arithmetic("rsub", other)

    def __mul__(self, other):
        return self._arithmetic("mul", other)

    __rmul__ = __mul__

    def __neg__(self):
        return self._arithmetic("neg")


def with_layout(tensor, layout):
    """``tensor`` with ``seq`` set to ``layout`` (a Function's output has none of its own)."""
    tensor.seq = layout
    return tensor


def as_layer_list(input, layer_name):
    """A layer or a list/tuple of layers -> list (an empty list is an error)."""
    layers = list(input) if isinstance(input, (list, tuple)) else [input]
    if not layers:
        raise ValueError(f"layer {layer_name}: needs at least one input")
    for parent in layers:
        if not isinstance(parent, Layer):
            raise ValueError(f"layer {layer_name}: input {parent!r} is not a layer")
    return layers


def image_geometry(layer_name, input, num_channels=None):
    """``(C, H, W)`` of ``input`` seen as an image, or a construction-time error.

    Known geometry (an image layer, or a data layer given height/width) wins; otherwise
    ``num_channels`` is required and the image is taken square: ``H = W = sqrt(size / C)``.
    """
    if input.seq_level:
        raise ValueError(f"layer {layer_name} takes one image per sample, but its input "
                         f"{input.name} is a {SEQUENCE_LEVELS[input.seq_level]}")
    if input.image_shape is not None:
        channels, height, width = input.image_shape
        if num_channels is not None and num_channels != channels:
            raise ValueError(f"layer {layer_name}: num_channels={num_channels} but input "
                             f"{input.name} has {channels} channels ({channels}x{height}x{width})")
        return channels, height, width
    if num_channels is None:
        raise ValueError(f"layer {layer_name}: cannot infer num_channels from input "
                         f"{input.name} (size {input.size}, no image geometry); pass num_channels")
    if num_channels < 1 or input.size % num_channels:
        raise ValueError(f"layer {layer_name}: input {input.name} has size {input.size}, "
                         f"not a multiple of num_channels={num_channels}")
    side = math.isqrt(input.size // num_channels)
    if side * side * num_channels != input.size:
        raise ValueError(f"layer {layer_name}: input {input.name} of size {input.size} with "
                         f"{num_channels} channels is not a square image; give the data layer "
                         "height and width")
    return num_channels, side, side


def check_output_image(layer_name, out_hw, in_hw, window):
    """Refuse a window that leaves no output pixel of a ``(height, width)`` input; ``window``
    describes it for the message (``"window (2, 2), stride (2, 2), padding (0, 0)"``)."""
    (out_h, out_w), (height, width) = out_hw, in_hw
    if out_h < 1 or out_w < 1:
        raise ValueError(f"layer {layer_name}: output would be {out_h}x{out_w} for a "
                         f"{height}x{width} input, {window} (height, width); "
                         "expected at least 1x1")


def pair(value, value_y, what, layer_name):
    """Paddle's ``x`` / ``x_y`` arguments -> ``(y, x)`` as a pair of ints (height first)."""
    if value_y is None:
        value_y = value
    for v in (value, value_y):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"layer {layer_name}: {what}={v!r} must be a non-negative integer")
    return int(value_y), int(value)
