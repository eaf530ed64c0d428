"""One-input math layers: ``row_l2_norm``, ``slope_intercept``, ``scale_shift``, ``clip``,
``repeat`` and ``resize``.

All but ``resize`` act on each row -- a sample, or a timestep of a sequence -- on its own,
so on sequences they keep the input's layout. ``resize`` regroups the numbers of the whole
batch into rows of a new width, so it takes one row per sample.
"""

import math
import numbers

from .activations import Identity
from ..functions.basic import reshape
from ..functions.unary_math import (clip as clip_fn, repeat as repeat_fn,
                                    row_l2_norm as row_l2_norm_fn, scale_shift as scale_shift_fn,
                                    slope_intercept as slope_intercept_fn)
from .base import Layer, as_param_attr, default_name
from .sequence import check_dense, one_layer, rows


def _number(value, what, layer_name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"layer {layer_name}: {what}={value!r} must be a finite number")
    return float(value)


def _positive_int(value, what, layer_name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"layer {layer_name}: {what}={value!r} must be a positive integer")
    return int(value)


class _OneInputLayer(Layer):
    """One dense input (checked), output size ``size`` (the input's by default)."""

    def __init__(self, input, name, size=None, act=None, layer_attr=None):
        input = one_layer(input, "input", name)
        check_dense(input, name, self.type)
        super().__init__(name, [input], input.size if size is None else size, act=act,
                         layer_attr=layer_attr)


class RowL2NormLayer(_OneInputLayer):
    """Paddle's ``row_l2_norm``: ``y[i] = x[i] / |x[i]|`` (a zero row gives NaN)."""

    type = "row_l2_norm"

    def forward(self, ctx, xs):
        return row_l2_norm_fn(rows(xs[0], self))


def row_l2_norm(input, name=None, layer_attr=None):
    """v2's ``paddle.layer.row_l2_norm`` (``row_l2_norm_layer``)."""
    return RowL2NormLayer(input, name or default_name("row_l2_norm_layer"), layer_attr=layer_attr)


class SlopeInterceptLayer(_OneInputLayer):
    """Paddle's ``slope_intercept``: ``y = slope * x + intercept``, fixed numbers."""

    type = "slope_intercept"

    def __init__(self, input, name=None, slope=1.0, intercept=0.0, layer_attr=None):
        name = name or default_name("slope_intercept_layer")
        self.slope = _number(slope, "slope", name)
        self.intercept = _number(intercept, "intercept", name)
        super().__init__(input, name, layer_attr=layer_attr)

    def forward(self, ctx, xs):
        return slope_intercept_fn(rows(xs[0], self), self.slope, self.intercept)


def slope_intercept(input, name=None, slope=1.0, intercept=0.0, layer_attr=None):
    """v2's ``paddle.layer.slope_intercept`` (``slope_intercept_layer``)."""
    return SlopeInterceptLayer(input, name, slope, intercept, layer_attr)


class ScaleShiftLayer(_OneInputLayer):
    """Paddle's ``scale_shift``: ``y = w * x + b`` with one learned scalar each.

    Parameters ``_<name>.w0`` of dims ``(1, 1)`` (initial std 1, Paddle's smart default for
    one input unit) and, unless ``bias_attr=False``, ``_<name>.wbias`` of dims ``(1, 1)``.
    """

    type = "scale_shift"

    def __init__(self, input, name=None, param_attr=None, bias_attr=None):
        name = name or default_name("scale_shift")
        scale_attr = as_param_attr(param_attr, f"{name} param_attr")
        shift_attr = None if bias_attr is False else as_param_attr(bias_attr, f"{name} bias_attr")
        super().__init__(input, name)
        self.scale = self.add_param("w0", (1, 1), scale_attr, default_std=1.0)
        if shift_attr is not None:
            self.bias = self.add_param("wbias", (1, 1), shift_attr, is_bias=True)

    def forward(self, ctx, xs):
        shift = None if self.bias is None else ctx.param(self.bias)
        return scale_shift_fn(rows(xs[0], self), ctx.param(self.scale), shift)


def scale_shift(input, name=None, param_attr=None, bias_attr=None):
    """v2's ``paddle.layer.scale_shift`` (``scale_shift_layer``)."""
    return ScaleShiftLayer(input, name, param_attr, bias_attr)


class ClipLayer(_OneInputLayer):
    """Paddle's ``clip``: ``y = min(max(x, min), max)``; needs ``min < max``."""

    type = "clip"

    def __init__(self, input, min, max, name=None):
        name = name or default_name("clip")
        low, high = _number(min, "min", name), _number(max, "max", name)
        if not low < high:
            raise ValueError(f"layer {name}: clip needs min < max, got min={min!r}, max={max!r}")
        self.min, self.max = low, high
        super().__init__(input, name)

    def forward(self, ctx, xs):
        return clip_fn(rows(xs[0], self), self.min, self.max)


def clip(input, min, max, name=None):
    """v2's ``paddle.layer.clip`` (``clip_layer``)."""
    return ClipLayer(input, min, max, name)


class RepeatLayer(_OneInputLayer):
    """Paddle's ``repeat`` (layer type ``featmap_expand``): each row ``num_repeats`` times,
    size ``input.size * num_repeats``. ``as_row_vector=True`` (default) repeats the whole
    row, ``[x1..xD, x1..xD, ...]``; False repeats each entry, ``[x1..x1, x2..x2, ...]``."""

    type = "featmap_expand"

    def __init__(self, input, num_repeats, as_row_vector=True, act=None, name=None,
                 layer_attr=None):
        name = name or default_name("repeat_layer")
        self.num_repeats = _positive_int(num_repeats, "num_repeats", name)
        if not isinstance(as_row_vector, bool):
            raise ValueError(f"layer {name}: as_row_vector={as_row_vector!r} must be True or "
                             "False")
        self.as_row_vector = as_row_vector
        size = one_layer(input, "input", name).size * self.num_repeats
        super().__init__(input, name, size, Identity() if act is None else act, layer_attr)

    def forward(self, ctx, xs):
        return repeat_fn(rows(xs[0], self), self.num_repeats, self.as_row_vector)


def repeat(input, num_repeats, as_row_vector=True, act=None, name=None, layer_attr=None):
    """v2's ``paddle.layer.repeat`` (``repeat_layer``)."""
    return RepeatLayer(input, num_repeats, as_row_vector, act, name, layer_attr)


class ResizeLayer(_OneInputLayer):
    """Paddle's ``resize``: the ``(N, D)`` batch matrix read in row-major order as rows of
    ``size`` numbers, ``(N * D / size, size)``; ``N * D`` must be a multiple of ``size``.

    ``size`` is the output width, as the layer computes it (the v2 helper reported the
    input's size instead). Sequences are refused: regrouping would cut across timesteps.
    """

    type = "resize"
    accepts_sequences = False
    per_timestep = False

    def __init__(self, input, size, name=None):
        name = name or default_name("resize")
        super().__init__(input, name, _positive_int(size, "size", name))

    def forward(self, ctx, xs):
        x = rows(xs[0], self)
        total = x.shape[0] * x.shape[1]
        if total % self.size:
            raise ValueError(f"layer {self.name} (resize): the batch holds {x.shape[0]} x "
                             f"{x.shape[1]} = {total} numbers, not a multiple of size={self.size}")
        y = reshape(x, (total // self.size, self.size))
        y.seq = None
        return y


def resize(input, size, name=None):
    """v2's ``paddle.layer.resize`` (``resize_layer``)."""
    return ResizeLayer(input, size, name)
