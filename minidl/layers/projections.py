"""Projections: the terms of a ``mixed`` layer that read ONE layer each and may own one
parameter, which the mixed layer receiving them names, sizes and checks (the v2 builders and
a table of what each computes: :mod:`.mixed_terms`; the rows around a timestep:
:mod:`.context_projection`; operators: :mod:`.operators`). First, the input helpers that the
terms and many other layers use: whether an input gives ids, and how messages name it.
"""

import math
import numbers

from .base import Layer, as_param_attr
from ..functions.basic import matmul, mul, reshape
from ..functions.mixed import column_slice, matmul_transposed, table_lookup
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


__all__ = ["DotMulProjection", "FullMatrixProjection", "IdentityOffsetProjection",
           "IdentityProjection", "Projection", "ScalingProjection", "TableProjection",
           "TransFullMatrixProjection", "gives_ids"]
