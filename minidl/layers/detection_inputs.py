"""What the SSD layers share: checking their arguments and their prediction maps when they
are built, and reading the maps and the priors when they run.

A network predicts from one or more feature maps. For each map ``k`` it has a *loc* layer
of ``A_k * 4`` channels (4 box offsets for each of the ``A_k`` priors of a cell) and a
*conf* layer of ``A_k * num_classes`` channels (class scores), both ``H_k x W_k`` images;
the ``priorbox`` layer (or a concat of several) lists the same priors, map by map, cell by
cell, 8 numbers each. A loc or conf layer without image geometry counts as a 1x1 map.
"""

import numbers

from ..functions.detection import prior_major
from .base import SEQUENCE_LEVELS, Layer
from .sequence import check_dense


def check_int(value, what, layer_name, low):
    """``value`` as an int, or an error unless it is an integer >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"layer {layer_name}: {what}={value!r} must be an integer >= {low}")
    return int(value)


def check_real(value, what, layer_name, low=None, high=None):
    """``value`` as a float, or an error unless it is a number in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            (low is not None and value < low) or (high is not None and value > high):
        bounds = f" in [{low}, {high}]" if high is not None else \
            (f" >= {low}" if low is not None else "")
        raise ValueError(f"layer {layer_name}: {what}={value!r} must be a number{bounds}")
    return float(value)


def check_classes(num_classes, background_id, layer_name):
    """``(num_classes, background_id)``, with ``0 <= background_id < num_classes``."""
    num_classes = check_int(num_classes, "num_classes", layer_name, 1)
    background_id = check_int(background_id, "background_id", layer_name, 0)
    if background_id >= num_classes:
        raise ValueError(f"layer {layer_name}: background_id={background_id} must be below "
                         f"num_classes={num_classes}")
    return num_classes, background_id


def _layer_list(value, what, layer_name, layer_type):
    layers = list(value) if isinstance(value, (list, tuple)) else [value]
    if not layers:
        raise ValueError(f"layer {layer_name}: {what} needs at least one layer")
    for layer in layers:
        if not isinstance(layer, Layer):
            raise ValueError(f"layer {layer_name}: {what} must be a layer or a list of layers, "
                             f"got {layer!r}")
        if layer.seq_level:
            raise ValueError(f"layer {layer_name}: {what} {layer.name} must hold one image per "
                             f"sample, got a {SEQUENCE_LEVELS[layer.seq_level]}")
        check_dense(layer, layer_name, layer_type)
    return layers


def _map_shape(layer):
    return layer.image_shape if layer.image_shape is not None else (layer.size, 1, 1)


def prediction_maps(input_loc, input_conf, priorbox, num_classes, layer_name, layer_type):
    """Check the prediction maps against each other and against ``priorbox``.

    Returns ``(loc layers, conf layers, the number of priors P)``.
    """
    locs = _layer_list(input_loc, "input_loc", layer_name, layer_type)
    confs = _layer_list(input_conf, "input_conf", layer_name, layer_type)
    if len(locs) != len(confs):
        raise ValueError(f"layer {layer_name}: {len(locs)} input_loc layers but "
                         f"{len(confs)} input_conf layers; expected one of each per feature map")
    if not isinstance(priorbox, Layer):
        raise ValueError(f"layer {layer_name}: priorbox must be a layer, got {priorbox!r}")
    num_priors = 0
    for loc, conf in zip(locs, confs):
        (c_loc, h, w), (c_conf, h_conf, w_conf) = _map_shape(loc), _map_shape(conf)
        if (h, w) != (h_conf, w_conf):
            raise ValueError(f"layer {layer_name}: loc {loc.name} is a {h}x{w} map but conf "
                             f"{conf.name} is {h_conf}x{w_conf}; expected the same size")
        if c_loc % 4 or c_conf % num_classes or c_loc // 4 != c_conf // num_classes:
            raise ValueError(f"layer {layer_name}: loc {loc.name} has {c_loc} channels and conf "
                             f"{conf.name} {c_conf}; expected 4 * A and num_classes * A = "
                             f"{num_classes} * A channels for A priors per cell")
        num_priors += h * w * c_loc // 4
    if priorbox.size != 8 * num_priors:
        raise ValueError(f"layer {layer_name}: the prediction maps have {num_priors} priors, so "
                         f"priorbox {priorbox.name} must have size 8 * {num_priors} = "
                         f"{8 * num_priors}, got {priorbox.size}")
    return locs, confs, num_priors


def read_priors(x, layer):
    """The ``(P, 8)`` priors of a run, from a priorbox value of ``8 * P`` numbers."""
    values = x.data.reshape(-1)
    if values.size != layer.num_priors * 8:
        raise ValueError(f"layer {layer.name}: priorbox value holds {values.size} numbers, "
                         f"expected {layer.num_priors * 8} (one row of 8 per prior)")
    return values.reshape(layer.num_priors, 8)


def read_maps(xs, layer):
    """``(loc, conf)``: the run's prediction maps as prior-major Tensors ``(N, P*4)`` and
    ``(N, P*C)``. ``xs`` are the loc Tensors, then the conf Tensors."""
    k = len(layer.locs)
    rows = {x.shape[0] for x in xs}
    if len(rows) > 1:
        raise ValueError(f"layer {layer.name}: its loc and conf inputs have different numbers of "
                         f"samples ({sorted(rows)})")
    loc = prior_major(xs[:k], [_map_shape(parent)[0] for parent in layer.locs])
    conf = prior_major(xs[k:], [_map_shape(parent)[0] for parent in layer.confs])
    return loc, conf
