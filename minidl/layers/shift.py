"""One-dimensional convolutions: ``conv_shift`` (each row of ``a`` circularly convolved with
the same row of ``b``; the Neural Turing Machine's shift) and ``row_conv`` (each timestep
mixed with the ``context_len - 1`` after it, column by column; Deep Speech 2's lookahead).

``row_conv`` owns ``_<name>.w0`` of dims ``(context_len, size)``, default initial value
Paddle's smart ``N(0, 1/sqrt(context_len))``. Definitions:
``backends/numpy_ref/conv_shift.py`` and ``row_conv.py``.
"""

import math

from ..functions.shift import conv_shift as shift_function, row_conv as row_conv_function
from .activations import Linear
from .base import SEQUENCE_LEVELS, Layer, as_param_attr, default_name
from .image_checks import count, dense_rows, layer_arg, one_input


class ConvShiftLayer(Layer):
    """Paddle's ``conv_shift``: ``y[i] = sum_j a[(i + j - (K-1)/2) mod M] * b[j]`` per row;
    ``b`` has an odd size ``K``; the output has ``a``'s size."""

    type = "conv_shift"

    def __init__(self, a, b, name=None, layer_attr=None):
        name = name or default_name("conv_shift_layer")
        a = dense_rows(layer_arg(a, "a", name), "a", name)
        b = dense_rows(layer_arg(b, "b", name), "b", name)
        if b.size % 2 == 0:
            raise ValueError(f"layer {name}: the shift weights b ({b.name}) have size "
                             f"{b.size}; conv_shift needs an odd size")
        super().__init__(name, [a, b], a.size, layer_attr=layer_attr)

    def forward(self, ctx, xs):
        return shift_function(*xs)


class RowConvLayer(Layer):
    """Paddle's ``row_conv``: ``y[t] = sum_{j < context_len} w[j] * x[t + j]`` within each
    sequence (rows past its end count as 0)."""

    type = "row_conv"

    def __init__(self, input, context_len, act=None, name=None, param_attr=None,
                 layer_attr=None):
        name = name or default_name("row_conv_layer")
        input = dense_rows(one_input(input, name, "row_conv"), "input", name)
        self.context_len = count(context_len, "context_len", name)
        if input.seq_level == 0:
            raise ValueError(f"layer {name}: row_conv reads the timesteps after each one, but "
                             f"its input {input.name} is a {SEQUENCE_LEVELS[0]}; feed a "
                             "sequence")
        super().__init__(name, [input], input.size, act=Linear() if act is None else act,
                         layer_attr=layer_attr)
        self.weight = self.add_param("w0", (self.context_len, input.size),
                                     as_param_attr(param_attr, f"layer {name} param_attr"),
                                     default_std=1.0 / math.sqrt(self.context_len))

    def forward(self, ctx, xs):
        (x,) = xs
        return row_conv_function(x, ctx.param(self.weight), x.seq.starts)


def conv_shift(a, b, name=None, layer_attr=None):
    """v2's ``conv_shift`` (``conv_shift_layer``)."""
    return ConvShiftLayer(a, b, name, layer_attr)


def row_conv(input, context_len, act=None, name=None, param_attr=None, layer_attr=None):
    """v2's ``row_conv`` (``row_conv_layer``); ``act`` defaults to Linear."""
    return RowConvLayer(input, context_len, act, name, param_attr, layer_attr)


__all__ = ["ConvShiftLayer", "RowConvLayer", "conv_shift", "row_conv"]
