"""Layers that move image cells: ``pad`` (zeros around), ``rotate`` (a quarter turn
clockwise) and ``bilinear_interp`` (resize). None has parameters.

Images travel as rows of ``C * H * W`` values; the input's geometry comes from its layer
(an image layer, or a data layer given height and width). See
``backends/numpy_ref/image_resample.py`` for the definitions.

============================== ============================= ==========================
v2 builder                     output image                   default name
============================== ============================= ==========================
pad(input, pad_c, pad_h, pad_w) (C + c0 + c1, H + h0 + h1,    ``__pad_N__``
                                W + w0 + w1)
rotate(input, height, width)    (C, width, height)            ``__rotate_layer_N__``
bilinear_interp(input, x, y)    (C, out_size_y, out_size_x)   ``__bilinear_interp_layer_N__``
============================== ============================= ==========================
"""

import numbers

from ..functions.basic import reshape
from ..functions.image_resample import bilinear_interp as bilinear_function, pad as pad_function
from ..functions.image_resample import rotate as rotate_function
from .base import Layer, default_name, image_geometry
from .image_checks import count, dense_rows, one_input


class _ImageLayer(Layer):
    """A parameterless layer reading one image ``(C, H, W)`` and writing another."""

    accepts_sequences = False

    def __init__(self, name, input, input_shape, output_shape, layer_attr):
        c, h, w = output_shape
        super().__init__(name, [input], c * h * w, image_shape=output_shape,
                         layer_attr=layer_attr)
        self.input_shape = tuple(input_shape)

    def forward(self, ctx, xs):
        (x,) = xs
        y = self.image_forward(reshape(x, (x.shape[0],) + self.input_shape))
        return reshape(y, (x.shape[0], self.size))


def _pair(value, what, layer_name):
    """``None`` -> ``(0, 0)``; else two non-negative integers (before, after)."""
    if value is None:
        return (0, 0)
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"layer {layer_name}: {what}={value!r} must be a list of two "
                         "integers (before, after)")
    return tuple(count(v, what, layer_name, minimum=0) for v in value)


class PadLayer(_ImageLayer):
    """Paddle's ``pad``: ``(C, H, W)`` framed by zeros on the channel, row and column axes."""

    type = "pad"

    def __init__(self, input, pad_c=None, pad_h=None, pad_w=None, name=None, layer_attr=None):
        name = name or default_name("pad")
        input = dense_rows(one_input(input, name, "pad"), "input", name)
        self.pads = tuple(_pair(v, what, name) for v, what in
                          ((pad_c, "pad_c"), (pad_h, "pad_h"), (pad_w, "pad_w")))
        c, h, w = image_geometry(name, input)
        out = tuple(size + sum(p) for size, p in zip((c, h, w), self.pads))
        super().__init__(name, input, (c, h, w), out, layer_attr)

    def image_forward(self, x):
        return pad_function(x, *self.pads)


class RotateLayer(_ImageLayer):
    """Paddle's ``rotate``: each ``height x width`` channel turned 90 degrees clockwise.

    The output image is ``(C, width, height)`` (Paddle's config recorded the input's height
    and width for it; the values are the same).
    """

    type = "rotate"
    accepts_sequences = True   # each row on its own: a sequence keeps its layout

    def __init__(self, input, height, width, name=None, layer_attr=None):
        name = name or default_name("rotate_layer")
        input = dense_rows(one_input(input, name, "rotate"), "input", name)
        height = count(height, "height", name)
        width = count(width, "width", name)
        if input.size % (height * width):
            raise ValueError(f"layer {name}: input {input.name} has size {input.size}, not a "
                             f"whole number of height*width = {height}*{width} channels")
        channels = input.size // (height * width)
        super().__init__(name, input, (channels, height, width), (channels, width, height),
                         layer_attr)

    def image_forward(self, x):
        return rotate_function(x)


class BilinearInterpLayer(_ImageLayer):
    """Paddle's ``bilinear_interp``: every channel resized to ``out_size_y x out_size_x``,
    corners aligned (output cell ``i`` reads input position ``i * (H - 1) / (OH - 1)``)."""

    type = "bilinear_interp"

    def __init__(self, input, out_size_x=None, out_size_y=None, name=None, layer_attr=None):
        name = name or default_name("bilinear_interp_layer")
        input = dense_rows(one_input(input, name, "bilinear_interp"), "input", name)
        for what, value in (("out_size_x", out_size_x), ("out_size_y", out_size_y)):
            if value is None or not isinstance(value, numbers.Integral):
                raise ValueError(f"layer {name}: {what}={value!r}; bilinear_interp needs "
                                 "out_size_x and out_size_y, integers >= 1")
        self.out_hw = (count(out_size_y, "out_size_y", name), count(out_size_x, "out_size_x",
                                                                    name))
        c, h, w = image_geometry(name, input)
        super().__init__(name, input, (c, h, w), (c,) + self.out_hw, layer_attr)

    def image_forward(self, x):
        return bilinear_function(x, self.out_hw)


def pad(input, pad_c=None, pad_h=None, pad_w=None, name=None, layer_attr=None):
    """v2's ``pad``: zeros ``(before, after)`` on the channel, height and width axes."""
    return PadLayer(input, pad_c, pad_h, pad_w, name, layer_attr)


def rotate(input, height, width, name=None, layer_attr=None):
    """v2's ``rotate``: ``y(j, i, :) = x(height - 1 - i, j, :)`` per channel."""
    return RotateLayer(input, height, width, name, layer_attr)


def bilinear_interp(input, out_size_x=None, out_size_y=None, name=None, layer_attr=None):
    """v2's ``bilinear_interp``: resize every channel to ``out_size_y x out_size_x``."""
    return BilinearInterpLayer(input, out_size_x, out_size_y, name, layer_attr)


__all__ = ["BilinearInterpLayer", "PadLayer", "RotateLayer", "bilinear_interp", "pad", "rotate"]
