"""Layers multiplying two inputs row by row: ``out_prod``, ``linear_comb`` (alias
``convex_comb``) and the bilinear ``tensor`` layer.

Each acts on every row -- a sample, or a timestep of a sequence -- on its own, so on
sequences they keep the inputs' layout (both inputs then have that same layout).
"""

import math
import numbers

from .activations import Identity
from ..functions.vector_products import (bilinear_tensor, linear_comb as linear_comb_fn,
                                         out_prod as out_prod_fn)
from .base import Layer, as_param_attr, default_name
from .sequence import check_dense, one_layer, rows


class _TwoInputLayer(Layer):
    """Two dense inputs (checked before anything is built) of one row each per sample."""

    def __init__(self, name, inputs, size, act=None, layer_attr=None):
        for parent in inputs:
            check_dense(parent, name, self.type)
        super().__init__(name, inputs, size, act=act, layer_attr=layer_attr)

    def _rows(self, xs):
        """Both inputs as ``(R, D)`` floats with equal row counts, or a run-time error."""
        a, b = rows(xs[0], self, "first input"), rows(xs[1], self, "second input")
        if a.shape[0] != b.shape[0]:
            raise ValueError(f"layer {self.name} ({self.type}): its inputs must have one row each "
                             f"per sample; got {self.inputs[0].name} ({a.shape[0]} rows), "
                             f"{self.inputs[1].name} ({b.shape[0]} rows)")
        return a, b


class OutProdLayer(_TwoInputLayer):
    """Paddle's ``out_prod``: ``y[i] = flatten(input1[i]^T input2[i])``, size
    ``input1.size * input2.size``, ``y[i, m*K + k] = input1[i, m] * input2[i, k]``."""

    type = "out_prod"

    def __init__(self, input1, input2, name=None, layer_attr=None):
        name = name or default_name("out_prod_layer")
        a, b = one_layer(input1, "input1", name), one_layer(input2, "input2", name)
        super().__init__(name, [a, b], a.size * b.size, layer_attr=layer_attr)

    def forward(self, ctx, xs):
        return out_prod_fn(*self._rows(xs))


def out_prod(input1, input2, name=None, layer_attr=None):
    """v2's ``paddle.layer.out_prod`` (``out_prod_layer``)."""
    return OutProdLayer(input1, input2, name, layer_attr)


class LinearCombLayer(_TwoInputLayer):
    """Paddle's ``convex_comb`` layer (v2's ``linear_comb``): ``weights`` of size M and
    ``vectors`` of size ``M * size`` per row; ``z[i] = sum_m weights[i, m] * V_m[i]`` where
    ``V_m[i]`` is the m-th block of ``size`` numbers of ``vectors[i]``. Inputs
    ``[weights, vectors]``. (Nothing makes the weights sum to one: a convex combination
    needs the caller's softmax.)"""

    type = "convex_comb"

    def __init__(self, weights, vectors, size=None, name=None, layer_attr=None):
        name = name or default_name("linear_comb_layer")
        weights = one_layer(weights, "weights", name)
        vectors = one_layer(vectors, "vectors", name)
        if vectors.size % weights.size:
            raise ValueError(f"layer {name}: vectors {vectors.name} (size {vectors.size}) must "
                             f"hold a whole number of vectors per weight of {weights.name} "
                             f"(size {weights.size}); expected a multiple of {weights.size}")
        expected = vectors.size // weights.size
        if size is not None and (isinstance(size, bool) or size != expected):
            raise ValueError(f"layer {name}: size={size!r} must be vectors.size / weights.size "
                             f"= {vectors.size} / {weights.size} = {expected}")
        super().__init__(name, [weights, vectors], expected, layer_attr=layer_attr)

    def forward(self, ctx, xs):
        return linear_comb_fn(*self._rows(xs))


def linear_comb(weights, vectors, size=None, name=None, layer_attr=None):
    """v2's ``paddle.layer.linear_comb`` (``linear_comb_layer``)."""
    return LinearCombLayer(weights, vectors, size, name, layer_attr)


#: v2's other name for the same layer (``convex_comb_layer``)
convex_comb = linear_comb


class TensorLayer(_TwoInputLayer):
    """Paddle's ``tensor`` layer: ``y[i, s] = act(a[i] W_s b[i]^T + bias[s])``.

    Parameter ``_<name>.w0`` of Paddle's dims ``(a.size, b.size, size)``, its values laid out
    as ``size`` matrices ``W_s`` of ``(a.size, b.size)`` one after another (so it computes
    as ``(size, a.size, b.size)``); initial std ``1 / sqrt(a.size)``. Bias ``_<name>.wbias``
    ``(1, size)`` unless ``bias_attr=False``. Default activation: Linear.
    """

    type = "tensor"

    def __init__(self, a, b, size, act=None, name=None, param_attr=None, bias_attr=None,
                 layer_attr=None):
        name = name or default_name("tensor_layer")
        a, b = one_layer(a, "a", name), one_layer(b, "b", name)
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"layer {name}: size={size!r} must be a positive integer")
        weight_attr = as_param_attr(param_attr, f"{name} param_attr")
        bias = None if bias_attr is False else as_param_attr(bias_attr, f"{name} bias_attr")
        super().__init__(name, [a, b], int(size), Identity() if act is None else act,
                         layer_attr)
        self.weight = self.add_param("w0", (a.size, b.size, size), weight_attr,
                                     default_std=1.0 / math.sqrt(a.size),
                                     compute_shape=(size, a.size, b.size))
        if bias is not None:
            self.bias = self.add_param("wbias", (1, size), bias, is_bias=True)

    def forward(self, ctx, xs):
        a, b = self._rows(xs)
        return self.plus_bias(ctx, bilinear_tensor(a, b, ctx.param(self.weight)))


def tensor(a, b, size, act=None, name=None, param_attr=None, bias_attr=None, layer_attr=None):
    """v2's ``paddle.layer.tensor`` (``tensor_layer``)."""
    return TensorLayer(a, b, size, act, name, param_attr, bias_attr, layer_attr)
