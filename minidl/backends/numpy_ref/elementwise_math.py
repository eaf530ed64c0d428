"""Reference kernels of the elementwise ``sqrt`` and ``reciprocal`` (the activations
``paddle.op.sqrt`` and ``paddle.op.reciprocal`` apply).

Notation: ``x`` any shape, ``y`` the forward output, ``gy`` its gradient (same shape). Both
derivatives are written in terms of ``y``, so a backward pass needs only the output.
"""

from ...core.xp import get_array_module
from ..registry import register


@register("elementwise_sqrt")
def elementwise_sqrt(x):
    """``y = sqrt(x)`` (NaN where ``x < 0``)."""
    return get_array_module(x).sqrt(x)


@register("elementwise_sqrt_grad")
def elementwise_sqrt_grad(y, gy):
    """``dy/dx = 1 / (2 sqrt(x)) = 1 / (2 y)``."""
    return gy / (2 * y)


@register("elementwise_reciprocal")
def elementwise_reciprocal(x):
    """``y = 1 / x`` (inf where ``x == 0``)."""
    return 1 / x


@register("elementwise_reciprocal_grad")
def elementwise_reciprocal_grad(y, gy):
    """``dy/dx = -1 / x^2 = -y^2``."""
    return -gy * y * y
