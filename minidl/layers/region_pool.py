"""Pooling layers beyond the sliding window: ``spp`` (a pyramid of grids over the whole
image), ``maxout`` (max over channel groups) and ``roi_pool`` (max over the bins of boxes).
None has parameters. Definitions: ``functions/region_pool.py`` and the kernels it names.

=================================== ================================ ======================
v2 builder                          output (size per sample)          default name
=================================== ================================ ======================
spp(input, pyramid_height=L)        ``C * (4^L - 1) / 3``: level l a  ``__spp_N__``
                                    ``(C, 2^l, 2^l)`` grid, levels
                                    side by side
maxout(input, groups)               ``(C / groups, H, W)``            ``__maxout_layer_N__``
roi_pool(input, rois, pooled_width, ``(C, pooled_height,              ``__roi_pool_N__``
pooled_height, spatial_scale)       pooled_width)`` per box: one
                                    output row per row of ``rois``
=================================== ================================ ======================

spp's output is recorded as Paddle recorded it, an image ``(C, 1, (4^L - 1) / 3)``,
although its values are the levels one after the other, each ``(C, 2^l, 2^l)``.
"""

import numbers

from ..functions.basic import reshape
from ..functions.region_pool import maxout as maxout_function, roi_pool as roi_function
from ..functions.region_pool import spp as spp_function, spp_level
from .activations import Identity
from .base import Layer, default_name, image_geometry
from .image_checks import count, dense_rows, layer_arg, one_input
from .pooling_types import Avg, BasePoolingType, Max


class _ImageInput(Layer):
    """One image in, one row out per sample (or per box); no parameters."""

    accepts_sequences = False

    def image(self, x, index=0):
        return reshape(x, (x.shape[0],) + self.input_shape)


class SppLayer(_ImageInput):
    """Paddle's ``spp``: level ``l < pyramid_height`` pools the image on a ``2^l x 2^l``
    grid of windows ``ceil(size / 2^l)`` wide, padded evenly."""

    type = "spp"

    def __init__(self, input, name=None, num_channels=None, pool_type=None, pyramid_height=None,
                 layer_attr=None):
        name = name or default_name("spp")
        input = dense_rows(one_input(input, name, "spp"), "input", name)
        if pyramid_height is None:
            raise ValueError(f"layer {name}: spp needs pyramid_height (an integer >= 1)")
        self.pyramid_height = count(pyramid_height, "pyramid_height", name)
        pool_type = BasePoolingType.accept(Max() if pool_type is None else pool_type)
        if not isinstance(pool_type, (Max, Avg)):
            raise ValueError(f"layer {name}: pool_type={pool_type!r}; spp pools with "
                             "paddle.pooling.Max() or Avg()")
        self.kind = "max" if isinstance(pool_type, Max) else "avg"
        c, h, w = image_geometry(name, input, num_channels)
        for level in range(self.pyramid_height):
            window, _, padding, out = spp_level((h, w), level)
            if out != (2 ** level, 2 ** level):
                raise ValueError(f"layer {name}: a {h}x{w} image cannot be pooled on level "
                                 f"{level}'s {2 ** level}x{2 ** level} grid (window {window}, "
                                 f"padding {padding} give {out[0]}x{out[1]}); use a larger "
                                 "image or a smaller pyramid_height")
        width = (4 ** self.pyramid_height - 1) // 3
        super().__init__(name, [input], c * width, image_shape=(c, 1, width),
                         layer_attr=layer_attr)
        self.input_shape = (c, h, w)

    def forward(self, ctx, xs):
        return spp_function(self.image(xs[0]), self.kind, self.pyramid_height)


class MaxoutLayer(_ImageInput):
    """Paddle's ``maxout``: output channel ``o`` is the maximum of input channels
    ``o * groups ... o * groups + groups - 1``."""

    type = "maxout"

    def __init__(self, input, groups, num_channels=None, name=None, layer_attr=None):
        name = name or default_name("maxout_layer")
        input = dense_rows(one_input(input, name, "maxout"), "input", name)
        self.groups = count(groups, "groups", name, minimum=2)
        if input.act is not None and not isinstance(input.act, Identity):
            raise ValueError(f"layer {name}: maxout's input {input.name} has activation "
                             f"{input.act!r}; maxout takes the linear output of a layer "
                             "(give it act=paddle.activation.Linear())")
        c, h, w = image_geometry(name, input, num_channels)
        if c % self.groups:
            raise ValueError(f"layer {name}: groups={self.groups} must divide the input's "
                             f"{c} channels")
        super().__init__(name, [input], c // self.groups * h * w,
                         image_shape=(c // self.groups, h, w), layer_attr=layer_attr)
        self.input_shape = (c, h, w)

    def forward(self, ctx, xs):
        y = maxout_function(self.image(xs[0]), self.groups)
        return reshape(y, (y.shape[0], self.size))


class RoiPoolLayer(_ImageInput):
    """Paddle's ``roi_pool``: inputs the feature map and the boxes (rows of at least 5
    values ``batch index, x1, y1, x2, y2``); one output row per box."""

    type = "roi_pool"

    def __init__(self, input, rois, pooled_width, pooled_height, spatial_scale,
                 num_channels=None, name=None):
        name = name or default_name("roi_pool")
        input = dense_rows(layer_arg(input, "input", name), "input", name)
        rois = dense_rows(layer_arg(rois, "rois", name), "rois", name)
        if rois.size < 5:
            raise ValueError(f"layer {name}: rois {rois.name} has size {rois.size}; each box "
                             "needs at least 5 values (batch index, x1, y1, x2, y2)")
        self.pooled_hw = (count(pooled_height, "pooled_height", name),
                          count(pooled_width, "pooled_width", name))
        if isinstance(spatial_scale, bool) or not isinstance(spatial_scale, numbers.Real) \
                or not spatial_scale > 0:
            raise ValueError(f"layer {name}: spatial_scale={spatial_scale!r} must be a "
                             "number > 0")
        self.spatial_scale = float(spatial_scale)
        c, h, w = image_geometry(name, input, num_channels)
        super().__init__(name, [input, rois], c * self.pooled_hw[0] * self.pooled_hw[1],
                         image_shape=(c,) + self.pooled_hw)
        self.input_shape = (c, h, w)

    def forward(self, ctx, xs):
        x, rois = xs
        y = roi_function(self.image(x), rois, self.pooled_hw, self.spatial_scale)
        return reshape(y, (y.shape[0], self.size))


def spp(input, name=None, num_channels=None, pool_type=None, pyramid_height=None,
        layer_attr=None):
    """v2's ``spp`` (``spp_layer``); ``pool_type`` defaults to ``Max()``."""
    return SppLayer(input, name, num_channels, pool_type, pyramid_height, layer_attr)


def maxout(input, groups, num_channels=None, name=None, layer_attr=None):
    """v2's ``maxout`` (``maxout_layer``): ``groups >= 2`` channels per output channel."""
    return MaxoutLayer(input, groups, num_channels, name, layer_attr)


def roi_pool(input, rois, pooled_width, pooled_height, spatial_scale, num_channels=None,
             name=None):
    """v2's ``roi_pool`` (``roi_pool_layer``)."""
    return RoiPoolLayer(input, rois, pooled_width, pooled_height, spatial_scale, num_channels,
                        name)


__all__ = ["MaxoutLayer", "RoiPoolLayer", "SppLayer", "maxout", "roi_pool", "spp"]
