"""Argument checks shared by the image layers of ``spatial.py``, ``region_pool.py``,
``block_expand.py``, ``channel_norm.py``, ``prelu.py``, ``shift.py`` and
``conv_projection.py``: each names the layer and what was expected."""

import numbers

from .base import Layer, as_layer_list


def count(value, what, layer_name, minimum=1):
    """``value`` as an int ``>= minimum`` (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"layer {layer_name}: {what}={value!r} must be an integer >= {minimum}")
    return int(value)


def one_input(input, layer_name, builder):
    """The single layer a builder takes (a list of one is accepted)."""
    layers = as_layer_list(input, layer_name)
    if len(layers) != 1:
        raise ValueError(f"layer {layer_name}: {builder} takes one input layer, got "
                         f"{len(layers)}")
    return layers[0]


def layer_arg(value, what, layer_name):
    """``value`` if it is a layer; a TypeError naming the argument otherwise."""
    if not isinstance(value, Layer):
        raise TypeError(f"layer {layer_name}: {what} must be a layer, got {value!r:.80}")
    return value


def dense_rows(layer, what, layer_name):
    """Refuse an input giving integer ids (an ``integer_value`` data layer)."""
    input_type = getattr(layer, "input_type", None)
    if input_type is not None and input_type.kind == "index":
        raise ValueError(f"layer {layer_name}: {what} {layer.name} gives integer ids "
                         f"({input_type!r}); expected dense values")
    return layer
