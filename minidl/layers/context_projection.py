"""``ContextProjection``: the term of a ``mixed`` layer that puts the rows around each
timestep of a sequence side by side, with zeros or a trainable padding outside the sequence
(built by ``context_projection`` in :mod:`.mixed_terms`).
"""

import numbers

from .attrs import ParamAttr
from .base import SEQUENCE_LEVELS
from ..functions.mixed import context_projection as context_function
from .projections import Projection, _check_count, _flat, describe_input


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


__all__ = ["ContextProjection"]
