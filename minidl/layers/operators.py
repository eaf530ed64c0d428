"""Operators: the terms of a ``mixed`` layer that read two layers and own no parameter --
``dotmul_operator`` (an elementwise product) and ``conv_operator`` (each sample's image
convolved with that sample's filters). Their v2 builders are in :mod:`.mixed_terms`.
"""

import numbers

from .base import image_geometry, pair
from ..core.geometry import conv_output_size
from ..functions.basic import mul, reshape
from ..functions.mixed import conv_operator as conv_function, scale
from .projections import _check_count, _check_layer, _flat, describe_input, gives_ids


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


__all__ = ["ConvOperator", "DotMulOperator", "Operator"]
