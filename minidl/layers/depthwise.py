"""``img_depthwise_conv``: depthwise convolution, each channel filtered on its own.

MobileNet's layer: ``img_conv`` with ``groups = C`` (one input channel per
group) under its own name. ``num_filters = C * M`` for a depth multiplier ``M``: output
channel ``o`` filters input channel ``o // M``. Paddle's scripts wrote the same layer as
``img_conv(..., groups=C, layer_type='exconv')``; both run the depthwise kernels
(``minidl/functions/depthwise.py``), and both give the same parameters:

* ``_<name>.w0``: ``C*M * kh * kw`` values in ``(C*M, 1, kh, kw)`` order; default init
  ``N(0, sqrt(2 / (filter_size**2 * C)))`` -- Paddle's formula for ``img_conv``, which
  counts all ``C`` input channels even though each filter sees one;
* ``_<name>.wbias``: dims ``[C*M, 1]`` unless ``bias_attr=False``.

Default name ``__depthwise_conv_N__``, layer type ``depthwise_conv`` (Paddle's
``DepthwiseConvLayer``).
"""

from .base import as_layer_list, default_name, image_geometry
from .conv import ConvLayer


class DepthwiseConvLayer(ConvLayer):
    """Images ``(N, C, H, W)`` -> ``(N, C*M, OH, OW)``, ``M = num_filters / C``."""

    type = "depthwise_conv"

    def __init__(self, input, filter_size, num_filters, num_channels=None, stride=1, padding=0,
                 act=None, bias_attr=None, param_attr=None, name=None, layer_attr=None):
        name = name or default_name("depthwise_conv")
        inputs = as_layer_list(input, name)
        if len(inputs) != 1:
            raise ValueError(f"layer {name}: img_depthwise_conv takes one input layer, got "
                             f"{len(inputs)}")
        channels = image_geometry(name, inputs[0], num_channels)[0]
        if (isinstance(num_filters, bool) or not isinstance(num_filters, int)
                or num_filters < 1 or num_filters % channels):
            raise ValueError(f"layer {name}: num_filters={num_filters!r} must be a positive "
                             f"multiple of the {channels} input channels (C * depth "
                             "multiplier)")
        super().__init__(inputs, filter_size, num_filters, name=name, num_channels=num_channels,
                         act=act, groups=channels, stride=stride, padding=padding,
                         bias_attr=bias_attr, param_attr=param_attr, layer_attr=layer_attr)
        self.depth_multiplier = num_filters // channels


def img_depthwise_conv(input, filter_size, num_filters, num_channels=None, stride=1, padding=0,
                       act=None, bias_attr=None, param_attr=None, name=None, layer_attr=None):
    """The depthwise convolution layer (default activation Relu, as ``img_conv``).

    >>> dw = img_depthwise_conv(input=image, filter_size=3, num_filters=32, stride=1,
    ...                         padding=1, act=Linear(), bias_attr=False)
    """
    return DepthwiseConvLayer(input, filter_size, num_filters, num_channels, stride, padding,
                              act, bias_attr, param_attr, name, layer_attr)
