"""Reference kernels for dense linear algebra used by fc layers."""

from ...core.xp import get_array_module
from ..registry import register


@register("matmul")
def matmul(a, b):
    """Dense product.

    Notation: ``a: (M, K)``, ``b: (K, N)`` -> ``(M, N)``.
    """
    xp = get_array_module(a, b)
    return xp.matmul(a, b)
