"""``conv_projection``: a convolution as a term of ``mixed`` (or of ``concat``), with its
filters as the term's parameter -- Paddle's ``ConvProjection``.

Geometry as ``img_conv``: ``filter_size``/``stride``/``padding`` are the x (width) values
and ``*_y`` the height values (default: the same; a 2-sequence means ``(x, y)``); output
``(num_filters, OH, OW)`` with ``OH = 1 + floor((H + 2 py - fy) / sy)``. The mixed layer
holding it is an image of that shape.

Parameter ``_<mixed>.w<i>``: ``num_filters * C/groups * fy * fx`` values in
``(F, C/groups, fy, fx)`` order; Paddle gave it no dims, so the shape reported is
``(1, size)``. Default initial value ``N(0, sqrt(2 / (filter_size^2 * C)))`` (Paddle's
formula, with the x filter size and all channels). A mixed layer whose first term is a
conv_projection has one bias per filter (``(1, sum of num_filters)``), shared by the pixels.

``trans=True`` is the transposed convolution (Paddle's ``ConvTransProjection``, as
``img_conv(trans=True)``): ``OH = (H - 1) sy - 2 py + fy``, filters in ``(C, F/groups, fy,
fx)`` order, the same size and initialisation.
"""

import math

from ..core.geometry import conv_output_size, transposed_conv_output_size
from ..functions.basic import reshape
from ..functions.conv import conv2d
from ..functions.conv_transpose import conv_transpose2d
from .base import image_geometry
from .conv import _split_xy
from .image_checks import count
from .projections import Projection


class ConvProjection(Projection):
    """One term ``conv(x, W)`` of a mixed layer: images ``(C, H, W)`` -> ``(F, OH, OW)``."""

    type = "conv"
    builder = "conv_projection"

    def __init__(self, input, filter_size, num_filters, num_channels=None, stride=1, padding=0,
                 filter_size_y=None, stride_y=None, padding_y=None, groups=1, param_attr=None,
                 trans=False):
        super().__init__(input, 0, param_attr)
        self.trans = bool(trans)
        what = "conv_projection"
        self.num_filters = count(num_filters, "num_filters", what)
        self.groups = count(groups, "groups", what)
        self.filter_hw = _split_xy(filter_size, filter_size_y, "filter_size", what)
        self.stride = _split_xy(stride, stride_y, "stride", what)
        self.padding = _split_xy(padding, padding_y, "padding", what)
        if min(self.filter_hw) < 1 or min(self.stride) < 1:
            raise ValueError(f"layer {what}: filter_size {self.filter_hw} and stride "
                             f"{self.stride} (height, width) must be >= 1")
        self.image = image_geometry(what, self.origin, num_channels)
        channels, height, width = self.image
        if channels % self.groups or self.num_filters % self.groups:
            raise ValueError(f"layer {what}: groups={self.groups} must divide both the input "
                             f"channels ({channels}) and num_filters ({self.num_filters})")
        output_size = transposed_conv_output_size if self.trans else conv_output_size
        self.out_hw = tuple(output_size(size, k, s, p) for size, k, s, p in zip(
            (height, width), self.filter_hw, self.stride, self.padding))
        if min(self.out_hw) < 1:
            raise ValueError(f"layer {what}: filter {self.filter_hw} with padding "
                             f"{self.padding} does not fit the {height}x{width} image of "
                             f"{self.origin.name}")
        self.filter_shape = ((channels, self.num_filters // self.groups) if self.trans else
                             (self.num_filters, channels // self.groups)) + self.filter_hw

    def output_size(self):
        return self.num_filters * self.out_hw[0] * self.out_hw[1]

    def output_image(self, layer_name):
        return (self.num_filters,) + self.out_hw

    def shared_bias_size(self):
        """Bias values this term adds to its layer: one per filter."""
        return self.num_filters

    def param_dims(self, input_size, size):
        return (1, math.prod(self.filter_shape))

    def param_options(self):
        """How the layer declares the filters: kernels see ``(F, C/groups, fy, fx)``
        (transposed: ``(C, F/groups, fy, fx)``)."""
        return {"compute_shape": self.filter_shape,
                "extra": {"config_dims": (), "initial_smart": False}}

    def default_std(self, dims):
        channels, fx = self.image[0], self.filter_hw[1]
        return math.sqrt(2.0 / (fx * fx * channels))

    def compute(self, ctx, xs, spec, size):
        (x,) = xs
        n = x.shape[0]
        w = reshape(ctx.param(spec), self.filter_shape)   # (1, size) where a layer stores it so
        convolve = conv_transpose2d if self.trans else conv2d
        y = convolve(reshape(x, (n,) + self.image), w, self.stride, self.padding, (1, 1),
                     self.groups)
        return reshape(y, (n, -1))

    def __repr__(self):
        return (f"conv_projection(input={self.origin.name}, num_filters={self.num_filters}, "
                f"filter_size={self.filter_hw}, trans={self.trans})")


def conv_projection(input, filter_size, num_filters, num_channels=None, stride=1, padding=0,
                    filter_size_y=None, stride_y=None, padding_y=None, groups=1,
                    param_attr=None, trans=False):
    """v2's ``conv_projection``; ``trans=True``: the transposed convolution."""
    return ConvProjection(input, filter_size, num_filters, num_channels, stride, padding,
                          filter_size_y, stride_y, padding_y, groups, param_attr, trans)


__all__ = ["ConvProjection", "conv_projection"]
