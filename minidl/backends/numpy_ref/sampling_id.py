"""Reference kernel of ``sampling_id``: one id per row drawn from the row's probabilities."""

from ...core.xp import get_array_module
from ..registry import register


@register("sampling_id")
def sampling_id(probs, uniforms):
    """``probs: (N, D)``, ``uniforms: (N,)`` draws from ``[0, 1)`` -> ``(N,)`` int64 ids.

    Row i takes the first ``j`` whose running sum ``p[i, 0] + ... + p[i, j]`` exceeds
    ``uniforms[i]``, so ``j`` comes with probability ``p[i, j]`` when the row sums to 1.
    A row summing to less than the draw gives the last id, ``D - 1`` (as Paddle does: it
    does not renormalise). Sums run in float64.
    """
    xp = get_array_module(probs)
    running = xp.cumsum(probs.astype(xp.float64), axis=1)                # (N, D)
    passed = running > xp.asarray(uniforms, dtype=xp.float64)[:, None]
    last = running.shape[1] - 1
    return xp.where(passed.any(axis=1), passed.argmax(axis=1), last).astype(xp.int64)
