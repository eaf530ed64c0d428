"""Reference kernels whose outputs are indices, not values: ``kmax_seq_score`` (the best
rows of each sequence) and ``eos`` (which ids are the end-of-sequence id). Neither has a
gradient.
"""

import numpy as np

from ...core.xp import as_numpy, get_array_module
from ..registry import register


@register("kmax_seq_score")
def kmax_seq_score(scores, unit_starts, beam_size):
    """The positions of the ``beam_size`` highest scores of each unit, best first.

    Notation: ``scores: (R, 1)``, ``unit_starts: (U + 1,)`` -> ``(U, beam_size)`` of the
    scores' dtype::

        out[u, j] = p  where unit_starts[u] + p is the row of the j-th highest score of
                       unit u, for j < min(beam_size, length of unit u)
        out[u, j] = -1 for the remaining j (a short unit)

    Of equal scores, the earlier row ranks first. The positions are counted within the unit,
    as ``seq_slice`` and ``sub_nested_seq`` read them. Runs on the host: the output is a
    handful of indices per unit.
    """
    xp = get_array_module(scores)
    values = as_numpy(scores).reshape(-1)
    out = np.full((len(unit_starts) - 1, beam_size), -1, dtype=values.dtype)
    for u in range(len(unit_starts) - 1):
        unit = values[int(unit_starts[u]):int(unit_starts[u + 1])]
        best = np.argsort(-unit, kind="stable")[:beam_size]
        out[u, :len(best)] = best
    return xp.asarray(out)


@register("eos_check")
def eos_check(ids, eos_id):
    """``out[r] = 1 if ids[r] == eos_id else 0``: ``ids: (R,)`` ints -> ``(R,)`` int64."""
    xp = get_array_module(ids)
    return (ids.reshape(-1) == eos_id).astype(xp.int64)
