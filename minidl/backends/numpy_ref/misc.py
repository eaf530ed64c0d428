"""Reference kernels of small non-differentiable ops."""

from ...core.xp import get_array_module
from ..registry import register


@register("max_id")
def max_id(x):
    """Index of each sample's largest value (the first one on ties).

    Notation: ``x: (N, ...)`` -> ``ids: (N,)`` int64, indices into ``x`` flattened per sample.
    """
    xp = get_array_module(x)
    return xp.argmax(x.reshape(x.shape[0], -1), axis=1).astype(xp.int64)
