"""``img_conv``: 2-D convolution layer, ``y = act(conv(x, W) + b)``, as Paddle's ``exconv``.

Geometry is Paddle's: ``filter_size``/``stride``/``padding``/``dilation`` are the x (width)
values and ``*_y`` the height values (default: the same); a 2-sequence such as
``filter_size=(5, 3)`` means ``(x, y)``, as ``img_conv_layer`` read it. Output size is
``1 + floor((2p + img - ((f - 1) d + 1)) / s)`` per axis (Paddle's "caffe mode").

Parameters, in Paddle's names and dims:

* ``_<name>.w0``: ``F * C/groups * fh * fw`` values in ``(F, C/groups, fh, fw)`` order;
  Paddle gave conv weights no dims (``extra["config_dims"] = ()``), so the shape reported
  is ``(1, size)``.
  Default init ("smart"): ``N(0, sqrt(2 / (filter_size**2 * num_channels)))`` -- exactly
  Paddle's ``img_conv_layer`` formula, which uses the x filter size squared and all
  ``num_channels`` even for non-square filters or ``groups > 1``.
* ``_<name>.wbias``: dims ``[F, 1]`` (``shared_biases=True``: one bias per filter), or
  ``[F * OH * OW, 1]`` (``shared_biases=False``: one bias per output value, as Paddle's
  unshared biases).
"""

from .activations import Relu
from ..functions.basic import reshape
from ..core.geometry import transposed_conv_output_size
from ..functions.conv import conv2d, conv_output_size
from ..functions.conv_transpose import conv_transpose2d
from .base import (Layer, as_layer_list, as_param_attr, check_output_image, default_name,
                   image_geometry, pair)

#: layer_type values that mean an ordinary convolution on any device (with groups == C,
#: whatever the type, conv2d runs the depthwise kernels)
_CONV_TYPES = (None, "exconv", "cudnn_conv", "mkldnn_conv", "conv", "depthwise_conv")
_TRANS_TYPES = ("exconvt", "cudnn_convt", "convt")


def _split_xy(value, value_y, what, layer_name):
    """Paddle let ``value`` be an ``(x, y)`` sequence when ``value_y`` is not given."""
    if value_y is None and isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"layer {layer_name}: {what}={value!r} must be an int or an "
                             "(x, y) pair")
        value, value_y = value
    return pair(value, value_y, what, layer_name)


def _positive(values, what, layer_name):
    for v in values:
        if v < 1:
            raise ValueError(f"layer {layer_name}: {what}={v} must be >= 1")
    return values


class ConvLayer(Layer):
    """Paddle's ``exconv``: images ``(N, C, H, W)`` -> ``(N, F, OH, OW)``."""

    type = "exconv"
    accepts_sequences = False

    def __init__(self, input, filter_size, num_filters, name=None, num_channels=None, act=None,
                 groups=1, stride=1, padding=0, dilation=1, bias_attr=None, param_attr=None,
                 shared_biases=True, layer_attr=None, filter_size_y=None, stride_y=None,
                 padding_y=None, dilation_y=None, trans=False, layer_type=None):
        del trans   # the class says it: ConvLayer or ConvTransLayer
        name = name or default_name("conv")
        inputs = as_layer_list(input, name)
        if len(inputs) != 1:
            raise ValueError(f"layer {name}: img_conv takes one input layer, got {len(inputs)}")
        allowed = _TRANS_TYPES + (None,) if self.transposed else _CONV_TYPES
        if layer_type not in allowed:
            raise ValueError(f"layer {name}: layer_type={layer_type!r} with trans="
                             f"{self.transposed}; expected one of "
                             f"{[t for t in allowed if t]} or None")
        for what, v in (("num_filters", num_filters), ("groups", groups)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"layer {name}: {what}={v!r} must be a positive integer")

        self.filter_size = _positive(_split_xy(filter_size, filter_size_y, "filter_size", name),
                                     "filter_size", name)
        self.stride = _positive(_split_xy(stride, stride_y, "stride", name), "stride", name)
        self.padding = _split_xy(padding, padding_y, "padding", name)
        self.dilation = _positive(_split_xy(dilation, dilation_y, "dilation", name),
                                  "dilation", name)
        self.groups = groups
        channels, height, width = image_geometry(name, inputs[0], num_channels)
        if channels % groups or num_filters % groups:
            raise ValueError(f"layer {name}: groups={groups} must divide both the input "
                             f"channels ({channels}) and num_filters ({num_filters})")
        out_h, out_w = (self.output_size(size, k, s, p, d) for size, k, s, p, d in zip(
            (height, width), self.filter_size, self.stride, self.padding, self.dilation))
        check_output_image(name, (out_h, out_w), (height, width),
                           f"filter {self.filter_size}, stride {self.stride}, padding "
                           f"{self.padding}, dilation {self.dilation}")
        super().__init__(name, inputs, num_filters * out_h * out_w,
                         act=Relu() if act is None else act,
                         image_shape=(num_filters, out_h, out_w), layer_attr=layer_attr)
        self.input_shape = (channels, height, width)

        fh, fw = self.filter_size
        weight_shape = self.weight_shape(num_filters, channels, groups, fh, fw)
        weight_size = num_filters * (channels // groups) * fh * fw
        self.weight = self.add_param(
            "w0", (1, weight_size), as_param_attr(param_attr, f"{name} param_attr"),
            default_std=(2.0 / (fw * fw * channels)) ** 0.5, compute_shape=weight_shape,
            # Paddle's config: no dims, and the smart std written out as a plain normal
            extra={"config_dims": (), "initial_smart": False})
        self.bias = None
        if bias_attr is not False:
            attr = as_param_attr(bias_attr, f"{name} bias_attr")
            if shared_biases:
                self.bias = self.add_param("wbias", (num_filters, 1), attr, is_bias=True,
                                           compute_shape=(1, num_filters, 1, 1))
            else:
                self.bias = self.add_param("wbias", (self.size, 1), attr, is_bias=True,
                                           compute_shape=(1, num_filters, out_h, out_w))

    #: ConvTransLayer: the transposed convolution
    transposed = False

    @staticmethod
    def output_size(size, kernel, stride, padding, dilation):
        return conv_output_size(size, kernel, stride, padding, dilation)

    @staticmethod
    def weight_shape(num_filters, channels, groups, fh, fw):
        return (num_filters, channels // groups, fh, fw)

    def forward(self, ctx, xs):
        (x,) = xs
        x = reshape(x, (x.shape[0],) + self.input_shape)
        convolve = conv_transpose2d if self.transposed else conv2d
        y = convolve(x, ctx.param(self.weight), self.stride, self.padding, self.dilation,
                     self.groups)
        return self.plus_bias(ctx, y)  # broadcast over the batch (and pixels if shared)


class ConvTransLayer(ConvLayer):
    """Paddle's ``exconvt`` (``img_conv(trans=True)``): the transposed convolution, images
    ``(N, C, H, W)`` -> ``(N, F, OH, OW)`` with ``OH = (H - 1) * stride - 2 * padding +
    filter_size`` (the input size of the convolution it transposes). Weights in ``(C,
    F/groups, fh, fw)`` order -- the filters of that convolution -- with the same size,
    names and initialisation as ``exconv``'s."""

    type = "exconvt"
    transposed = True

    @staticmethod
    def output_size(size, kernel, stride, padding, dilation):
        return transposed_conv_output_size(size, kernel, stride, padding, dilation)

    @staticmethod
    def weight_shape(num_filters, channels, groups, fh, fw):
        return (channels, num_filters // groups, fh, fw)


def img_conv(input, filter_size, num_filters, name=None, num_channels=None, act=None, groups=1,
             stride=1, padding=0, dilation=1, bias_attr=None, param_attr=None,
             shared_biases=True, layer_attr=None, filter_size_y=None, stride_y=None,
             padding_y=None, dilation_y=None, trans=False, layer_type=None):
    """Paddle's ``img_conv`` (default activation Relu, default name ``__conv_N__``);
    ``trans=True`` (or a transposed ``layer_type`` such as ``'exconvt'``) makes the
    transposed convolution, :class:`ConvTransLayer`."""
    layer_class = ConvTransLayer if trans or layer_type in _TRANS_TYPES else ConvLayer
    return layer_class(input, filter_size, num_filters, name, num_channels, act, groups, stride,
                     padding, dilation, bias_attr, param_attr, shared_biases, layer_attr,
                     filter_size_y, stride_y, padding_y, dilation_y, trans, layer_type)
