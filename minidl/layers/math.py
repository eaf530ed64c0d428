"""Row-wise math layers: ``cos_sim``, ``dot_prod``, ``scaling``, ``interpolation``, ``power``,
``sum_to_one_norm``, and ``trans`` (the whole batch matrix transposed).

All but ``trans`` act on each row -- a sample, or a timestep of a sequence -- on its own, so
on sequences they keep the inputs' layout (every input then has that same layout).
``weight`` inputs are size-1 layers: one scalar per row. As in Paddle, the layers that take
a weight list it first among their inputs (``[weight, input]``), none has an activation, and
none has parameters.
"""

import numbers

from ..functions.rowwise import (cos_sim as cos_sim_fn, dot_prod as dot_prod_fn,
                                 interpolation as interpolation_fn, power as power_fn,
                                 scaling as scaling_fn, sum_to_one_norm as sum_to_one_norm_fn,
                                 transpose)
from .base import Layer, default_name
from .sequence import check_dense, check_same_size, one_layer, rows


def _weight_layer(weight, layer_name):
    weight = one_layer(weight, "weight", layer_name)
    if weight.size != 1:
        raise ValueError(f"layer {layer_name}: weight {weight.name} must have size 1 (one "
                         f"scalar per row), got size {weight.size}")
    return weight


class _RowwiseLayer(Layer):
    """Checks every input holds dense vectors; subclasses compute in ``forward``."""

    def __init__(self, name, inputs, size, layer_attr):
        super().__init__(name, inputs, size, layer_attr=layer_attr)
        for parent in inputs:
            check_dense(parent, name, self.type)

    def _same_rows(self, xs):
        counts = {x.shape[0] for x in xs}
        if len(counts) > 1:
            listed = ", ".join(f"{p.name} ({x.shape[0]})" for p, x in zip(self.inputs, xs))
            raise ValueError(f"layer {self.name} ({self.type}): its inputs must have one row "
                             f"each per sample; got rows {listed}")


class CosSimLayer(_RowwiseLayer):
    """Paddle's ``cos`` (``size=1``) and ``cos_vm`` (``size > 1``) layers.

    ``size=1``: ``y[i] = scale * cos(a[i], b[i])``, ``a`` and ``b`` of one size. ``size=K``:
    ``b`` holds K vectors of ``a``'s size per row and ``y[i, k] = scale * cos(a[i], b_k[i])``.
    A ``b`` of one row (non-sequence inputs) is compared with every row of ``a``, as Paddle
    allowed. A zero vector gives NaN.
    """

    def __init__(self, a, b, scale=1, size=1, name=None, layer_attr=None):
        name = name or default_name("cos_sim")
        a = one_layer(a, "a", name)
        b = one_layer(b, "b", name)
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"layer {name}: size={size!r} must be a positive integer")
        if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
            raise ValueError(f"layer {name}: scale={scale!r} must be a number")
        if size == 1 and a.size != b.size:
            raise ValueError(f"layer {name}: cos_sim of {a.name} (size {a.size}) and {b.name} "
                             f"(size {b.size}) needs equal sizes (or size = {b.name}'s size / "
                             f"{a.name}'s size for several similarities per row)")
        if size > 1 and b.size != size * a.size:
            raise ValueError(f"layer {name}: size={size} similarities per row need b = {b.name} "
                             f"of size size * a.size = {size * a.size}, got {b.size}")
        self.type = "cos" if size == 1 else "cos_vm"
        super().__init__(name, [a, b], int(size), layer_attr)
        self.scale = float(scale)

    def forward(self, ctx, xs):
        a, b = rows(xs[0], self, "input a"), rows(xs[1], self, "input b")
        if b.shape[0] not in (a.shape[0], 1):
            raise ValueError(f"layer {self.name}: b = {self.inputs[1].name} has {b.shape[0]} rows; "
                             f"expected one per row of a = {self.inputs[0].name} "
                             f"({a.shape[0]}) or a single row")
        return cos_sim_fn(a, b, self.scale)


def cos_sim(a, b, scale=1, size=1, name=None, layer_attr=None):
    """v2's ``paddle.layer.cos_sim``: scaled cosine similarity of each row of ``a`` and ``b``."""
    return CosSimLayer(a, b, scale, size, name, layer_attr)


class DotProdLayer(_RowwiseLayer):
    """Paddle's ``dot_prod``: ``y[i] = <input1[i], input2[i]>``, size 1."""

    type = "dot_prod"

    def __init__(self, input1, input2, name=None, layer_attr=None):
        name = name or default_name("dot_prod_layer")
        input1 = one_layer(input1, "input1", name)
        input2 = one_layer(input2, "input2", name)
        check_same_size(input1, input2, name, "dot_prod")
        super().__init__(name, [input1, input2], 1, layer_attr)

    def forward(self, ctx, xs):
        self._same_rows(xs)
        return dot_prod_fn(rows(xs[0], self, "input1"), rows(xs[1], self, "input2"))


def dot_prod(input1, input2, name=None, layer_attr=None):
    """v2's ``paddle.layer.dot_prod`` (``dot_prod_layer``)."""
    return DotProdLayer(input1, input2, name, layer_attr)


class _WeightedRowsLayer(_RowwiseLayer):
    """Each row of ``input`` with its own scalar ``weight[i]``; inputs ``[weight, input]``,
    default name ``__<type>_layer_N__``. Subclasses name the row-wise function."""

    #: ``function(weight rows, input rows)``
    function = None

    def __init__(self, input, weight, name=None, layer_attr=None):
        name = name or default_name(f"{self.type}_layer")
        input = one_layer(input, "input", name)
        weight = _weight_layer(weight, name)
        super().__init__(name, [weight, input], input.size, layer_attr)

    def forward(self, ctx, xs):
        self._same_rows(xs)
        return self.function(rows(xs[0], self, "weight"), rows(xs[1], self))


class ScalingLayer(_WeightedRowsLayer):
    """Paddle's ``scaling``: ``y[i] = weight[i] * input[i]``; inputs ``[weight, input]``."""

    type = "scaling"
    function = staticmethod(scaling_fn)


def scaling(input, weight, name=None, layer_attr=None):
    """v2's ``paddle.layer.scaling`` (``scaling_layer``)."""
    return ScalingLayer(input, weight, name, layer_attr)


class InterpolationLayer(_RowwiseLayer):
    """Paddle's ``interpolation``: ``y[i] = w[i] x1[i] + (1 - w[i]) x2[i]`` for
    ``input=[x1, x2]``; inputs ``[weight, x1, x2]``."""

    type = "interpolation"

    def __init__(self, input, weight, name=None, layer_attr=None):
        name = name or default_name("interpolation_layer")
        if not isinstance(input, (list, tuple)) or len(input) != 2:
            raise ValueError(f"layer {name}: interpolation input must be a list of two layers, "
                             f"got {input!r}")
        x1, x2 = (one_layer(x, "input", name) for x in input)
        check_same_size(x1, x2, name, "interpolation")
        weight = _weight_layer(weight, name)
        super().__init__(name, [weight, x1, x2], x1.size, layer_attr)

    def forward(self, ctx, xs):
        self._same_rows(xs)
        return interpolation_fn(rows(xs[0], self, "weight"), rows(xs[1], self),
                                rows(xs[2], self))


def interpolation(input, weight, name=None, layer_attr=None):
    """v2's ``paddle.layer.interpolation`` (``interpolation_layer``)."""
    return InterpolationLayer(input, weight, name, layer_attr)


class PowerLayer(_WeightedRowsLayer):
    """Paddle's ``power``: ``y[i, j] = input[i, j] ** weight[i]``; inputs ``[weight, input]``."""

    type = "power"
    function = staticmethod(power_fn)


def power(input, weight, name=None, layer_attr=None):
    """v2's ``paddle.layer.power`` (``power_layer``)."""
    return PowerLayer(input, weight, name, layer_attr)


class SumToOneNormLayer(_RowwiseLayer):
    """Paddle's ``sum_to_one_norm``: each row divided by its sum (a zero sum gives inf/NaN;
    Paddle required positive sums)."""

    type = "sum_to_one_norm"

    def __init__(self, input, name=None, layer_attr=None):
        name = name or default_name("sum_to_one_norm_layer")
        input = one_layer(input, "input", name)
        super().__init__(name, [input], input.size, layer_attr)

    def forward(self, ctx, xs):
        return sum_to_one_norm_fn(rows(xs[0], self))


def sum_to_one_norm(input, name=None, layer_attr=None):
    """v2's ``paddle.layer.sum_to_one_norm`` (``sum_to_one_norm_layer``)."""
    return SumToOneNormLayer(input, name, layer_attr)


class TransLayer(_RowwiseLayer):
    """Paddle's ``trans``: the ``(N, D)`` batch matrix transposed to ``(D, N)``.

    Not a per-row layer: its output has D rows of N values, while ``size`` stays the input's
    size, as in Paddle (so it fits only where N == D, or as the last layer). Sequences are
    refused: transposing would scatter their timesteps across rows.
    """

    type = "trans"
    accepts_sequences = False
    per_timestep = False

    def __init__(self, input, name=None, layer_attr=None):
        name = name or default_name("trans_layer")
        input = one_layer(input, "input", name)
        super().__init__(name, [input], input.size, layer_attr)

    def forward(self, ctx, xs):
        y = transpose(rows(xs[0], self))
        y.seq = None
        return y


def trans(input, name=None, layer_attr=None):
    """v2's ``paddle.layer.trans`` (``trans_layer``)."""
    return TransLayer(input, name, layer_attr)
