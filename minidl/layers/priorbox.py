"""``priorbox``: the SSD prior (default) boxes of a feature map."""

import numbers

from ..core.tensor import Tensor
from ..functions.detection import priorbox as priorbox_fn
from .base import Layer, default_name
from .data import DataLayer


def _number_list(value, what, layer_name, integer=False):
    """``value`` as a list of positive numbers (integers where ``integer``), or an error."""
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"layer {layer_name}: {what}={value!r} must be a list")
    kind = numbers.Integral if integer else numbers.Real
    for v in value:
        if isinstance(v, bool) or not isinstance(v, kind) or v <= 0:
            raise ValueError(f"layer {layer_name}: {what}={list(value)!r} must hold positive "
                             f"{'integers' if integer else 'numbers'}")
    return [int(v) if integer else float(v) for v in value]


class PriorBoxLayer(Layer):
    """Paddle's ``priorbox``: the priors of the cells of ``input``, a feature map, over
    ``image``, the network's input image (a data layer given height and width).

    Each cell gets ``K = 1 + len(max_size) + 2 * len(aspect_ratio)`` priors (see
    ``numpy_ref.detection_boxes.prior_shapes``), 8 numbers each: the box in coordinates
    normalised by the image size, clipped to [0, 1], then ``variance``. The output is one
    row of ``H * W * K * 8`` numbers whatever the batch size; only the geometry of the
    inputs matters, not their values.

    v2 sizes the output for one ``min_size`` and at most one ``max_size``, and counts
    every ratio (and its inverse) as a box of its own, so other lengths, and a ratio of 1,
    are refused.
    """

    type = "priorbox"
    accepts_sequences = False
    per_timestep = False

    def __init__(self, input, image, aspect_ratio, variance, min_size, max_size=(),
                 name=None):
        name = name or default_name("priorbox")
        for what, layer in (("input", input), ("image", image)):
            if not isinstance(layer, Layer):
                raise ValueError(f"layer {name}: {what} must be a layer, got {layer!r}")
        if input.image_shape is None:
            raise ValueError(f"layer {name}: input {input.name} must be a feature map (an image "
                             "layer, such as img_conv), got a layer without image geometry")
        if not isinstance(image, DataLayer) or image.image_shape is None:
            raise ValueError(f"layer {name}: image {image.name} must be a data layer given "
                             "height and width (the network's input image)")
        aspect_ratio = _number_list(aspect_ratio, "aspect_ratio", name)
        if any(abs(r - 1.0) < 1e-6 for r in aspect_ratio):
            raise ValueError(f"layer {name}: aspect_ratio={aspect_ratio} must not hold 1 (the "
                             "min_size square is always made; v2 sizes each listed ratio as "
                             "two more boxes)")
        variance = _number_list(variance, "variance", name)
        if len(variance) != 4:
            raise ValueError(f"layer {name}: variance={variance} must hold 4 numbers (for "
                             "xmin, ymin, xmax, ymax)")
        min_size = _number_list(min_size, "min_size", name, integer=True)
        max_size = _number_list(max_size, "max_size", name, integer=True)
        if len(min_size) != 1 or len(max_size) > 1:
            raise ValueError(f"layer {name}: min_size={min_size} and max_size={max_size}: "
                             "expected one min_size and at most one max_size (the sizes v2 "
                             "gives the output)")
        per_cell = 1 + len(max_size) + 2 * len(aspect_ratio)
        channels, height, width = input.image_shape
        super().__init__(name, [input, image], height * width * per_cell * 8)
        self.min_size = min_size[0]
        self.max_size = max_size[0] if max_size else None
        self.aspect_ratio, self.variance = aspect_ratio, variance
        #: priors per cell, and the feature map's ``(H, W)`` and the image's
        self.per_cell = per_cell
        self.map_hw, self.image_hw = (height, width), image.image_shape[1:]

    def forward(self, ctx, xs):
        priors = priorbox_fn(self.map_hw, self.image_hw, self.min_size, self.max_size,
                             self.aspect_ratio, self.variance, xp=xs[0].xp)
        return Tensor(priors)


def priorbox(input, image, aspect_ratio, variance, min_size, max_size=(), name=None):
    """v2's ``paddle.layer.priorbox`` (``priorbox_layer``)."""
    return PriorBoxLayer(input, image, aspect_ratio, variance, min_size, max_size, name)
