"""``prelu``: the parametric ReLU, ``y = x`` where ``x > 0`` and ``w * x`` elsewhere, with
slopes shared by groups of ``partial_sum`` consecutive values (Paddle's ``prelu`` layer).

* ``partial_sum=1`` (default): one slope per value of the row;
* ``channel_shared=False``: ``partial_sum = H * W``, one slope per channel of an image;
* ``channel_shared=True``: ``partial_sum = C * H * W``, one slope for all.

Parameter ``_<name>.w0``: ``size / partial_sum`` slopes. Paddle gave it no dims, so the
shape reported is ``(1, size / partial_sum)``. Default initial value 0.25 everywhere
(``ParamAttr(initial_mean=0.25, initial_std=0)``). See ``backends/numpy_ref/prelu.py``.
"""

from ..functions.prelu import prelu as prelu_function
from .base import Layer, as_param_attr, default_name, image_geometry
from .image_checks import count, dense_rows, one_input


class PReluLayer(Layer):
    """Paddle's ``prelu``: acts on each row; a sequence keeps its layout."""

    type = "prelu"

    def __init__(self, input, name=None, partial_sum=1, channel_shared=None, num_channels=None,
                 param_attr=None, layer_attr=None):
        name = name or default_name("prelu_layer")
        input = dense_rows(one_input(input, name, "prelu"), "input", name)
        image_shape = input.image_shape
        if channel_shared is not None:
            if not isinstance(channel_shared, bool):
                raise ValueError(f"layer {name}: channel_shared={channel_shared!r} must be "
                                 "True, False or None")
            if image_shape is None and num_channels is None:
                raise ValueError(f"layer {name}: channel_shared needs an image input (height "
                                 f"and width known); {input.name} has no image geometry")
            image_shape = image_geometry(name, input, num_channels)
            c, h, w = image_shape
            partial_sum = c * h * w if channel_shared else h * w
        elif num_channels is not None:
            image_shape = image_geometry(name, input, num_channels)
        self.partial_sum = count(partial_sum, "partial_sum", name)
        if input.size % self.partial_sum:
            raise ValueError(f"layer {name}: partial_sum={self.partial_sum} must divide the "
                             f"input size {input.size}")
        super().__init__(name, [input], input.size, image_shape=image_shape,
                         layer_attr=layer_attr)
        slopes = input.size // self.partial_sum
        self.weight = self.add_param(
            "w0", (1, slopes), as_param_attr(param_attr, f"layer {name} param_attr"),
            default_std=0.0, default_mean=0.25, extra={"config_dims": ()})

    def forward(self, ctx, xs):
        return prelu_function(xs[0], ctx.param(self.weight), self.partial_sum)


def prelu(input, name=None, partial_sum=1, channel_shared=None, num_channels=None,
          param_attr=None, layer_attr=None):
    """v2's ``prelu`` (``prelu_layer``)."""
    return PReluLayer(input, name, partial_sum, channel_shared, num_channels, param_attr,
                      layer_attr)


__all__ = ["PReluLayer", "prelu"]
