"""``cross_channel_norm``: at every pixel the channel vector scaled to unit length, then
each channel multiplied by a learned factor (SSD's ``Normalize``), as Paddle's ``norm``
layer of type ``cross-channel-norm``.

Parameter ``_<name>.w0`` of dims ``(C, 1)``: one factor per channel. Default initial value
Paddle's smart one, ``N(0, 1/sqrt(C))``; SSD configurations give
``ParamAttr(initial_mean=20, initial_std=0)``. See ``backends/numpy_ref/channel_norm.py``.
"""

import math

from ..functions.basic import reshape
from ..functions.channel_norm import cross_channel_norm as norm_function
from .base import Layer, as_param_attr, default_name, image_geometry
from .image_checks import dense_rows, one_input


class CrossChannelNormLayer(Layer):
    """Images ``(C, H, W)`` -> ``(C, H, W)``: ``y[c] = scale[c] * x[c] / |x[:, h, w]|``."""

    type = "norm"
    accepts_sequences = False

    def __init__(self, input, name=None, param_attr=None):
        name = name or default_name("cross_channel_norm")
        input = dense_rows(one_input(input, name, "cross_channel_norm"), "input", name)
        if input.image_shape is None:
            raise ValueError(f"layer {name}: cross_channel_norm needs an image input (a "
                             f"layer with channels, such as img_conv); {input.name} has none")
        c, h, w = image_geometry(name, input)
        super().__init__(name, [input], input.size, image_shape=(c, h, w))
        self.input_shape = (c, h * w)
        self.scale = self.add_param("w0", (c, 1), as_param_attr(param_attr,
                                                                f"layer {name} param_attr"),
                                    default_std=1.0 / math.sqrt(c), compute_shape=(c,))

    def forward(self, ctx, xs):
        (x,) = xs
        y = norm_function(reshape(x, (x.shape[0],) + self.input_shape), ctx.param(self.scale))
        return reshape(y, (x.shape[0], self.size))


def cross_channel_norm(input, name=None, param_attr=None):
    """v2's ``cross_channel_norm`` (``cross_channel_norm_layer``)."""
    return CrossChannelNormLayer(input, name, param_attr)


__all__ = ["CrossChannelNormLayer", "cross_channel_norm"]
