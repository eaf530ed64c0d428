"""Reference kernels of ``multiplex``: each output row copied from the candidate that an
integer id chooses.

Notation: ``ids: (N,)`` integers in ``[0, C)``; ``xs``: C candidate arrays ``(N, D)``.
"""

from ...core.xp import get_array_module
from ..registry import register


@register("multiplex_forward")
def multiplex_forward(ids, *xs):
    """``y[i] = xs[ids[i]][i]``: row i of the candidate that ``ids[i]`` names."""
    xp = get_array_module(xs[0])
    stacked = xp.stack(xs)                                        # (C, N, D)
    return stacked[xp.asarray(ids), xp.arange(stacked.shape[1])]


@register("multiplex_backward")
def multiplex_backward(ids, gy, count):
    """One gradient per candidate: ``g_c[i] = gy[i]`` where ``ids[i] == c``, else 0."""
    xp = get_array_module(gy)
    chosen = xp.asarray(ids)[:, None]
    return tuple(xp.where(chosen == c, gy, 0).astype(gy.dtype) for c in range(count))
