"""Projections and operators: the terms a ``mixed`` layer adds up.

A projection reads ONE layer and may own one parameter; an operator reads two layers and owns
none. Neither is a layer: each describes a term, and the mixed layer that receives it names
the parameter (``_<mixed layer>.w<i>``, ``i`` the term's input index, as Paddle does), fixes
the output size and checks the input. Every term acts on each row (timestep) on its own
except ``context_projection``, which reads the rows around it in the same sequence.

==================================== ====================================== =================
v2 builder                           row ``i`` of the term                  parameter (dims)
==================================== ====================================== =================
full_matrix_projection(x, size)      ``x[i] @ W``                           ``(in, size)``
trans_full_matrix_projection(x, s)   ``x[i] @ W.T``                         ``(size, in)``
table_projection(ids, size)          ``W[ids[i]]``                          ``(in, size)``
identity_projection(x)               ``x[i]``                               --
identity_projection(x, offset)       ``x[i, offset:offset + size]``         --
dotmul_projection(x)                 ``x[i] * w``                           ``(1, size)``
scaling_projection(x)                ``w * x[i]``                           ``(1, 1)``
context_projection(x, len, start)    ``[x[i+start] | ... | x[i+start+len-1]]``  padding
                                     (same sequence; padding outside)       ``(pad, in)``
dotmul_operator(a, b, scale)         ``scale * a[i] * b[i]``                --
conv_operator(img, filter, ...)      ``conv(img[i], filter[i])``            --
==================================== ====================================== =================

Default initial values are Paddle's "smart" ones: normal with std ``1/sqrt(dims[0])``
(so 1 for the dotmul and scaling weights), except the context padding, which starts at zero.
"""

import math
import numbers

from .attrs import ParamAttr
from .base import SEQUENCE_LEVELS, Layer, as_param_attr, image_geometry, pair
from ..core.geometry import conv_output_size
from ..functions.basic import matmul, mul, reshape
from ..functions.mixed import (column_slice, context_projection as context_function,
                               conv_operator as conv_function, matmul_transposed, scale,
                               table_lookup)
from ..functions.sparse_input import is_sparse_rows, sparse_rows_matmul


# --- what an input gives -----------------------------------------------------------------

#: layer types whose output is integer ids (besides ``integer_value`` data layers)
ID_LAYER_TYPES = ("maxid", "sampling_id", "eos_id")


def gives_ids(layer):
    """True when ``layer`` outputs integer ids: an ``integer_value*`` data layer, max_id, ..."""
    input_type = getattr(layer, "input_type", None)
    if input_type is not None:
        return input_type.kind == "index"
    return getattr(layer, "outputs_ids", False) or layer.type in ID_LAYER_TYPES


def describe_input(layer):
    """How errors name an input: ``x (dense_vector(10) data)``, ``h (fc, size 8)``."""
    input_type = getattr(layer, "input_type", None)
    if input_type is not None:
        return f"{layer.name} ({input_type!r} data)"
    return f"{layer.name} ({layer.type}, size {layer.size})"


def _flat(x):
    """``(N, ...)`` -> ``(N, D)`` (image outputs are flattened in C, H, W order)."""
    return x if x.ndim == 2 else reshape(x, (x.shape[0], -1))


def _check_layer(value, builder, argument="input"):
    if not isinstance(value, Layer):
        raise ValueError(f"{builder}: {argument} must be a layer, got {value!r:.80}")
    return value


def _check_count(value, what, minimum=0):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{what}={value!r} must be an integer >= {minimum}")
    return int(value)


# --- projections -------------------------------------------------------------------------

class Projection:
    """One term of a mixed layer reading one layer (``origin``).

    Subclasses give Paddle's ``type``, their ``output_size`` (0: the mixed layer's size),
    their parameter ``param_dims(input_size, size)`` (None: no parameter) and ``compute``.
    """

    #: Paddle's ProjectionConfig type
    type = None
    #: the v2 builder's name, for messages
    builder = None
    #: True for the projections that read sparse input rows
    accepts_sparse = False

    def __init__(self, input, size=0, param_attr=None):
        self.origin = _check_layer(input, self.builder)
        self.size = _check_count(size, f"{self.builder}: size")
        self.param_attr = param_attr

    @property
    def inputs(self):
        return [self.origin]

    def output_size(self):
        """Paddle's ``calc_output_size``: the term's width, or 0 to take the layer's."""
        return self.size

    def param_dims(self, input_size, size):
        return None

    def default_std(self, dims):
        """Paddle's smart initialisation: ``1 / sqrt(dims[0])``."""
        return 1.0 / math.sqrt(dims[0])

    def check(self, layer_name, size):
        """Build-time checks once the mixed layer's name and size are known."""
        if gives_ids(self.origin):
            raise ValueError(f"layer {layer_name} (mixed): {self.builder} multiplies dense "
                             f"rows, but its input {describe_input(self.origin)} gives integer "
                             "ids; use table_projection (or embedding) for ids")
        if self.origin.sparse_output and not self.accepts_sparse:
            raise ValueError(f"layer {layer_name} (mixed): {self.builder} cannot read the "
                             f"sparse rows of {describe_input(self.origin)}; use "
                             "full_matrix_projection or fc for sparse input")

    def param_attr_for(self, layer_name):
        return as_param_attr(self.param_attr, f"layer {layer_name}: {self.builder} param_attr")

    def compute(self, ctx, xs, spec, size):
        raise NotImplementedError(f"{type(self).__name__} defines no compute()")

    def __repr__(self):
        return f"{self.builder}(input={self.origin.name})"


class FullMatrixProjection(Projection):
    """``out[i] += x[i] @ W`` with ``W: (input size, size)``; reads sparse rows too."""

    type = "fc"
    builder = "full_matrix_projection"
    accepts_sparse = True

    def param_dims(self, input_size, size):
        return (input_size, size)

    def compute(self, ctx, xs, spec, size):
        (x,) = xs
        w = ctx.param(spec)
        if is_sparse_rows(x):
            return sparse_rows_matmul(x, w, spec.attr.sparse_update)
        return matmul(_flat(x), w)


class TransFullMatrixProjection(Projection):
    """``out[i] += x[i] @ W.T`` with ``W: (size, input size)`` (e.g. sharing an embedding
    table as an output layer's weight)."""

    type = "trans_fc"
    builder = "trans_full_matrix_projection"

    def param_dims(self, input_size, size):
        return (size, input_size)

    def compute(self, ctx, xs, spec, size):
        return matmul_transposed(_flat(xs[0]), ctx.param(spec))


class TableProjection(Projection):
    """``out[i] += W[ids[i]]`` with ``W: (number of ids, size)``: the input gives ids."""

    type = "table"
    builder = "table_projection"

    def param_dims(self, input_size, size):
        return (input_size, size)

    def check(self, layer_name, size):
        if not gives_ids(self.origin):
            raise ValueError(f"layer {layer_name} (mixed): table_projection looks up rows by "
                             "integer id and needs an integer_value(_sequence) data layer (or "
                             f"max_id); its input is {describe_input(self.origin)}")

    def compute(self, ctx, xs, spec, size):
        return table_lookup(ctx.param(spec), xs[0], spec.attr.sparse_update)


class IdentityProjection(Projection):
    """``out[i] += x[i]``; the output size is the input's."""

    type = "identity"
    builder = "identity_projection"

    def __init__(self, input):
        super().__init__(input)

    def output_size(self):
        return self.origin.size

    def compute(self, ctx, xs, spec, size):
        return _flat(xs[0])


class IdentityOffsetProjection(Projection):
    """``out[i] += x[i, offset:offset + size]``, ``size`` being the MIXED LAYER's size.

    As in Paddle, this projection does not set the layer's size (its ``calc_output_size`` is
    0): the ``size`` argument of ``identity_projection`` is not used for it, so give the
    mixed layer a size (or another term that fixes it).
    """

    type = "identity_offset"
    builder = "identity_projection"

    def __init__(self, input, offset, size=None):
        super().__init__(input)
        self.offset = _check_count(offset, "identity_projection: offset")
        if size is not None:
            _check_count(size, "identity_projection: size")
        self.requested_size = size

    def output_size(self):
        return 0

    def check(self, layer_name, size):
        super().check(layer_name, size)
        if self.offset + size > self.origin.size:
            raise ValueError(f"layer {layer_name} (mixed): identity_projection(offset="
                             f"{self.offset}) takes columns [{self.offset}, "
                             f"{self.offset + size}) of {describe_input(self.origin)}, which "
                             f"has {self.origin.size}; the offset must be at most "
                             f"{self.origin.size - size} for a layer of size {size}")

    def compute(self, ctx, xs, spec, size):
        return column_slice(_flat(xs[0]), self.offset, self.offset + size)

    def __repr__(self):
        return f"identity_projection(input={self.origin.name}, offset={self.offset})"


class DotMulProjection(Projection):
    """``out[i] += x[i] * w`` elementwise, ``w: (1, size)``; the size is the input's."""

    type = "dot_mul"
    builder = "dotmul_projection"

    def __init__(self, input, param_attr=None):
        super().__init__(input, 0, param_attr)

    def output_size(self):
        return self.origin.size

    def param_dims(self, input_size, size):
        return (1, size)

    def compute(self, ctx, xs, spec, size):
        return mul(_flat(xs[0]), ctx.param(spec))


class ScalingProjection(DotMulProjection):
    """``out[i] += w * x[i]`` with one learned number ``w: (1, 1)``: the product of
    :class:`DotMulProjection`, one weight broadcast over every column."""

    type = "scaling"
    builder = "scaling_projection"

    def param_dims(self, input_size, size):
        return (1, 1)


class ContextProjection(Projection):
    """Row ``t`` of a sequence becomes rows ``t + context_start ... t + context_start +
    context_len - 1`` of the SAME sequence, side by side (``context_len * input size``);
    positions outside the sequence read zeros, or rows of a trainable padding of dims
    ``(max(0, -start) + max(0, start + len - 1), input size)``.
    """

    type = "context"
    builder = "context_projection"

    def __init__(self, input, context_len, context_start, padding_attr):
        super().__init__(input)
        self.context_len = _check_count(context_len, "context_projection: context_len", 1)
        if isinstance(context_start, bool) or not isinstance(context_start, numbers.Integral):
            raise ValueError(f"context_projection: context_start={context_start!r} must be an "
                             "integer (or None for -(context_len - 1) // 2)")
        self.context_start = int(context_start)
        # Paddle (wrap_bias_attr_default(['padding_attr'])): None/True/unset -> trainable,
        # initialised to zero; False -> zeros; a ParamAttr -> trainable with that attribute
        if padding_attr is False:
            self.padding = None
        elif padding_attr is None or padding_attr is True:
            self.padding = ParamAttr(initial_std=0.0, initial_mean=0.0)
        elif isinstance(padding_attr, ParamAttr):
            self.padding = padding_attr
        else:
            raise ValueError(f"context_projection: padding_attr={padding_attr!r} must be False "
                             "(zero padding), None/True (trainable, starting at zero) or a "
                             "ParamAttr (trainable)")
        self.begin_pad = max(0, -self.context_start)
        self.end_pad = max(0, self.context_start + self.context_len - 1)

    @property
    def total_pad(self):
        return self.begin_pad + self.end_pad

    def output_size(self):
        return self.origin.size * self.context_len

    def param_dims(self, input_size, size):
        if self.padding is None or self.total_pad == 0:
            return None
        return (self.total_pad, input_size)

    def param_attr_for(self, layer_name):
        return self.padding

    def check(self, layer_name, size):
        super().check(layer_name, size)
        if self.origin.seq_level == 0:
            raise ValueError(f"layer {layer_name} (mixed): context_projection reads the rows "
                             f"around each timestep of a sequence, but its input "
                             f"{describe_input(self.origin)} is a "
                             f"{SEQUENCE_LEVELS[0]}; feed a *_sequence data type")

    def compute(self, ctx, xs, spec, size):
        (x,) = xs
        padding = None if spec is None else ctx.param(spec)
        return context_function(_flat(x), x.seq.starts, self.context_len, self.context_start,
                                padding)

    def __repr__(self):
        return (f"context_projection(input={self.origin.name}, context_len="
                f"{self.context_len}, context_start={self.context_start})")


# --- operators ---------------------------------------------------------------------------

class Operator:
    """A term reading several layers, without parameters."""

    type = None
    builder = None

    def __init__(self, inputs):
        self.inputs = [_check_layer(layer, self.builder, name)
                       for layer, name in zip(inputs, ("the first input", "the second input"))]

    def output_size(self, layer_name):
        return 0

    def check(self, layer_name, size):
        for layer in self.inputs:
            if gives_ids(layer) or layer.sparse_output:
                raise ValueError(f"layer {layer_name} (mixed): {self.builder} needs dense rows, "
                                 f"but {describe_input(layer)} gives "
                                 f"{'integer ids' if gives_ids(layer) else 'sparse rows'}")

    def __repr__(self):
        names = ", ".join(layer.name for layer in self.inputs)
        return f"{self.builder}({names})"


class DotMulOperator(Operator):
    """``out[i] += scale * a[i] * b[i]`` elementwise; ``a``, ``b`` and the layer share a size."""

    type = "dot_mul"
    builder = "dotmul_operator"

    def __init__(self, a, b, scale=1):
        super().__init__([a, b])
        if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
            raise ValueError(f"dotmul_operator: scale={scale!r} must be a number")
        self.scale = float(scale)
        if a.size != b.size:
            raise ValueError(f"dotmul_operator: inputs {describe_input(a)} and "
                             f"{describe_input(b)} must have the same size")

    def output_size(self, layer_name):
        return self.inputs[0].size

    def check(self, layer_name, size):
        super().check(layer_name, size)
        for layer in self.inputs:
            if layer.size != size:
                raise ValueError(f"layer {layer_name} (mixed): dotmul_operator input "
                                 f"{describe_input(layer)} must have the layer's size {size}")

    def compute(self, ctx, xs, spec, size):
        a, b = xs
        return scale(mul(_flat(a), _flat(b)), self.scale)


class ConvOperator(Operator):
    """Sample ``i`` of ``img`` convolved with filters that are sample ``i`` of ``filter``
    (``num_filters * num_channels * filter_size_y * filter_size`` values per row, in
    ``(F, C, fy, fx)`` order): Paddle's ConvOperator, stride and zero padding, no groups.
    The output is an image ``(num_filters, OH, OW)`` (caffe-mode sizes)."""

    type = "conv"
    builder = "conv_operator"

    def __init__(self, img, filter, filter_size, num_filters, num_channels=None, stride=1,
                 padding=0, filter_size_y=None, stride_y=None, padding_y=None):
        super().__init__([img, filter])
        what = "layer conv_operator"
        self.filter_hw = pair(filter_size, filter_size_y, "filter_size", what)
        self.stride = pair(stride, stride_y, "stride", what)
        self.padding = pair(padding, padding_y, "padding", what)
        if min(self.filter_hw) < 1 or min(self.stride) < 1:
            raise ValueError(f"conv_operator: filter_size and stride must be positive, got "
                             f"filter {self.filter_hw}, stride {self.stride}")
        self.num_filters = _check_count(num_filters, "conv_operator: num_filters", 1)
        self.num_channels = None if num_channels is None else \
            _check_count(num_channels, "conv_operator: num_channels", 1)

    def geometry(self, layer_name):
        """``(C, H, W)`` of the image input and ``(OH, OW)`` of the output, checked."""
        channels, height, width = image_geometry(layer_name, self.inputs[0], self.num_channels)
        out_hw = tuple(conv_output_size(s, k, st, p) for s, k, st, p in
                       zip((height, width), self.filter_hw, self.stride, self.padding))
        if min(out_hw) < 1:
            raise ValueError(f"layer {layer_name} (mixed): conv_operator filter "
                             f"{self.filter_hw} does not fit the {height}x{width} image of "
                             f"{self.inputs[0].name} with padding {self.padding}")
        return (channels, height, width), out_hw

    def output_size(self, layer_name):
        _, (oh, ow) = self.geometry(layer_name)
        return self.num_filters * oh * ow

    def output_image(self, layer_name):
        _, out_hw = self.geometry(layer_name)
        return (self.num_filters,) + out_hw

    def check(self, layer_name, size):
        super().check(layer_name, size)
        (channels, _, _), _ = self.geometry(layer_name)
        expected = self.num_filters * channels * self.filter_hw[0] * self.filter_hw[1]
        if self.inputs[1].size != expected:
            raise ValueError(f"layer {layer_name} (mixed): conv_operator filter input "
                             f"{describe_input(self.inputs[1])} must give num_filters * "
                             f"num_channels * filter_size_y * filter_size = {self.num_filters}"
                             f"*{channels}*{self.filter_hw[0]}*{self.filter_hw[1]} = "
                             f"{expected} values per sample")

    def compute(self, ctx, xs, spec, size):
        img, filters = xs
        (channels, height, width), _ = self.geometry("conv_operator")
        n = img.shape[0]
        x = reshape(img, (n, channels, height, width))
        w = reshape(filters, (n, self.num_filters, channels) + self.filter_hw)
        y = conv_function(x, w, self.stride, self.padding)
        return reshape(y, (n, -1))


# --- the v2 builders ---------------------------------------------------------------------

def full_matrix_projection(input, size=0, param_attr=None):
    return FullMatrixProjection(input, size, param_attr)


def trans_full_matrix_projection(input, size=0, param_attr=None):
    return TransFullMatrixProjection(input, size, param_attr)


def table_projection(input, size=0, param_attr=None):
    return TableProjection(input, size, param_attr)


def identity_projection(input, offset=None, size=None):
    if offset is None:
        return IdentityProjection(input)
    return IdentityOffsetProjection(input, offset, size)


def dotmul_projection(input, param_attr=None):
    return DotMulProjection(input, param_attr)


def scaling_projection(input, param_attr=None):
    return ScalingProjection(input, param_attr)


def context_projection(input, context_len, context_start=None, padding_attr=None):
    """Paddle's defaults: ``context_start = -(context_len - 1) // 2``; ``padding_attr``
    unset, None or True gives a trainable padding starting at zero (Paddle's
    ``wrap_bias_attr_default`` on it), False zeros, a ParamAttr a trainable padding."""
    if context_start is None:
        context_len = _check_count(context_len, "context_projection: context_len", 1)
        context_start = -(context_len - 1) // 2
    return ContextProjection(input, context_len, context_start, padding_attr)


def dotmul_operator(a=None, b=None, scale=1, **kwargs):
    """``x=`` and ``y=`` are accepted for ``a`` and ``b`` (Paddle's deprecated names)."""
    unknown = set(kwargs) - {"x", "y"}
    if unknown:
        raise ValueError(f"dotmul_operator: unexpected argument(s) {sorted(unknown)}")
    return DotMulOperator(kwargs.get("x", a), kwargs.get("y", b), scale)


def conv_operator(img, filter, filter_size, num_filters, num_channels=None, stride=1,
                  padding=0, filter_size_y=None, stride_y=None, padding_y=None, trans=False):
    if trans:
        raise ValueError("conv_operator(trans=True) (Paddle's ConvTransOperator) is not "
                         "supported; only the convolution")
    return ConvOperator(img, filter, filter_size, num_filters, num_channels, stride, padding,
                        filter_size_y, stride_y, padding_y)


__all__ = ["ConvOperator", "ContextProjection", "DotMulOperator", "DotMulProjection",
           "FullMatrixProjection", "IdentityOffsetProjection", "IdentityProjection", "Operator",
           "Projection", "ScalingProjection", "TableProjection", "TransFullMatrixProjection",
           "context_projection", "conv_operator", "dotmul_operator", "dotmul_projection",
           "full_matrix_projection", "gives_ids", "identity_projection", "scaling_projection",
           "table_projection", "trans_full_matrix_projection"]
