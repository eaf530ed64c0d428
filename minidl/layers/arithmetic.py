"""Arithmetic on layers, as v2's ``paddle.op``: ``a + b``, ``a - 1``, ``2 * a``, ``-a``, ...

Each operator builds layers, as v2 built them::

    layer + number, number + layer    slope_intercept(layer, intercept=number)
    layer - number                    slope_intercept(layer, intercept=-number)
    number - layer                    (-layer) + number
    -layer                            slope_intercept(layer, slope=-1)
    layer * number, number * layer    slope_intercept(layer, slope=number)
    a + b   (equal sizes)             mixed([identity_projection(a), identity_projection(b)])
    a + b   (b of size 1)             a + repeat(b, a.size)     (a of size 1: the same, swapped)
    a - b                             a + (-b)
    a * b   (b of size 1)             scaling(input=a, weight=b)  (a of size 1: swapped)

A number is any real number but a bool. Other operands raise TypeError; two layers whose
sizes do not fit (different sizes, neither 1; for ``*``, neither of size 1) raise
ValueError naming both. There is no ``/``, as in v2.

:class:`~minidl.layers.base.Layer` defines the operators and looks the builders up in
``base.arithmetic``, which this module fills when imported (``paddle.op`` imports it):
``base`` cannot import the layers the operators build, which import ``base``.
"""

import numbers

from . import base
from .base import Layer
from .math import scaling
from .mixed import mixed
from .mixed_terms import identity_projection
from .unary_math import repeat, slope_intercept


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_operand(layer, other, verb):
    if not (_is_number(other) or isinstance(other, Layer)):
        raise TypeError(f"layer {layer.name}: can only {verb} a layer or a number, got "
                        f"{type(other).__name__} {other!r:.60}")


def _check_sizes(layer, other, verb):
    """Two layers of different sizes, neither 1, cannot be added (checked before anything is
    built, so a failed ``a - b`` leaves no ``-b`` behind)."""
    if layer.size != other.size and layer.size != 1 and other.size != 1:
        raise ValueError(f"layers {layer.name} (size {layer.size}) and {other.name} (size "
                         f"{other.size}) cannot be {verb}: sizes must be equal or one of them 1")


def add(layer, other):
    """``layer + other`` (also ``other + layer``)."""
    _check_operand(layer, other, "add")
    if _is_number(other):
        return slope_intercept(layer, intercept=other)
    _check_sizes(layer, other, "added")
    if layer.size != other.size:
        if layer.size == 1:
            layer, other = other, layer
        other = repeat(other, layer.size)
    return mixed(input=[identity_projection(input=layer), identity_projection(input=other)])


def neg(layer):
    """``-layer``."""
    return slope_intercept(layer, slope=-1.0)


def sub(layer, other):
    """``layer - other``."""
    _check_operand(layer, other, "subtract")
    if _is_number(other):
        return slope_intercept(layer, intercept=-other)
    _check_sizes(layer, other, "subtracted")
    return add(layer, neg(other))


def rsub(layer, other):
    """``other - layer``."""
    _check_operand(layer, other, "subtract")
    return add(neg(layer), other)


def mul(layer, other):
    """``layer * other`` (also ``other * layer``)."""
    _check_operand(layer, other, "multiply by")
    if _is_number(other):
        return slope_intercept(layer, slope=other)
    if layer.size == 1:
        return scaling(input=other, weight=layer)
    if other.size == 1:
        return scaling(input=layer, weight=other)
    raise ValueError(f"layers {layer.name} (size {layer.size}) and {other.name} (size "
                     f"{other.size}) cannot be multiplied: one of them must have size 1 "
                     "(or multiply by a number)")


base.arithmetic.update(add=add, sub=sub, rsub=rsub, mul=mul, neg=neg)

__all__ = ["add", "sub", "rsub", "mul", "neg"]
