"""Reference kernels of the hierarchical sigmoid (``paddle.layer.hsigmoid``).

The ``K`` classes are the leaves of a binary tree whose ``K - 1`` inner nodes each hold a
weight row and a bias. v2 numbers the tree as a heap (root 1, children of ``n`` are ``2n`` and
``2n + 1``): class ``c`` is the node ``c + K``. Its path from the root reads off the binary
digits of ``c + K`` below the leading 1; for ``j = 0, 1, ...`` (the leaf's parent first)::

    code     = c + K
    length   = bit_length(code) - 1                  nodes on the path
    index_j  = (code >> (j + 1)) - 1                 the inner node (a row of the weight)
    bit_j    = (code >> j) & 1                       1: the path turns right at that node

For ``K = 5``, class 2 is code ``7 = 0b111``: nodes ``index = [2, 0]``, ``bit = [1, 1]``;
class 4 is ``9 = 0b1001``: ``index = [3, 1, 0]``, ``bit = [1, 0, 0]``.

With ``z_j`` the node's score ``w[index_j] . x + b[index_j]``, the probability of the path
is ``prod_j sigmoid(z_j)^bit_j (1 - sigmoid(z_j))^(1 - bit_j)``, and the cost is its minus
log, ``sum_j softplus(z_j) - bit_j z_j``. v2 evaluates the softplus over a buffer as wide as
the longest path, where the columns past a shorter path hold 0; each adds
``softplus(0) = log 2`` to that class's cost (a constant: no gradient). The kernels keep it,
so reported costs match v2's. Scores are clipped to ``[-40, 40]`` first, as v2 did.
"""

import math

from ...core.xp import get_array_module
from ..registry import register

CLIP = 40.0


@register("hsigmoid_codes")
def hsigmoid_codes(labels, num_classes):
    """The path of each label: ``labels: (N,)`` ints in ``[0, K)`` -> ``index: (N, D)`` ints,
    ``bits: (N, D)`` floats, ``mask: (N, D)`` bools (``j < length``), ``D = bit_length(K - 1)``
    the longest path. Entries past a path are index 0, bit 0, mask False."""
    xp = get_array_module(labels)
    depth = int(num_classes - 1).bit_length()
    code = labels.astype(xp.int64).reshape(-1, 1) + num_classes
    j = xp.arange(depth).reshape(1, -1)
    length = xp.zeros_like(code)
    for shift in range(depth + 1):                # bit_length(code) - 1, one bit at a time
        length += (code >> (shift + 1)) > 0
    mask = j < length
    index = xp.where(mask, (code >> (j + 1)) - 1, 0)
    bits = xp.where(mask, (code >> j) & 1, 0).astype(xp.float64)
    return index, bits, mask


@register("bitcode_scores")
def bitcode_scores(x, w, index, mask):
    """``z[i, j] = w[index[i, j]] . x[i]`` on the path, 0 past it.

    Notation: ``x: (N, F)``, ``w: (K - 1, F)``, ``index, mask: (N, D)`` -> ``(N, D)``."""
    z = (w[index] * x[:, None, :]).sum(axis=2)
    return z * mask


@register("bitcode_scores_grad")
def bitcode_scores_grad(x, w, index, mask, gz):
    """``(gx: (N, F), gw: (K - 1, F))`` of :func:`bitcode_scores`: ``gx[i] = sum_j gz[i, j]
    w[index[i, j]]``, and ``gz[i, j] x[i]`` added to row ``index[i, j]`` of ``gw``."""
    xp = get_array_module(x)
    g = gz * mask
    gx = (g[:, :, None] * w[index]).sum(axis=1)
    gw = xp.zeros_like(w)
    contributions = g[:, :, None] * x[:, None, :]            # (N, D, F)
    xp.add.at(gw, index.reshape(-1), contributions.reshape(-1, x.shape[1]))
    return gx, gw


@register("hsigmoid_forward")
def hsigmoid_forward(z, bits, mask):
    """``cost[i] = sum_{j on the path} softplus(z'_ij) - bits_ij z'_ij`` plus ``log 2`` per
    column past the path, ``z' = clip(z, -40, 40)``: ``z, bits, mask: (N, D)`` -> ``(N,)``."""
    xp = get_array_module(z)
    zc = xp.clip(z, -CLIP, CLIP)
    softplus = xp.maximum(zc, 0) + xp.log1p(xp.exp(-xp.abs(zc)))
    on_path = ((softplus - bits * zc) * mask).sum(axis=1)
    return on_path + (~mask).sum(axis=1) * math.log(2.0)


@register("hsigmoid_backward")
def hsigmoid_backward(z, bits, mask, gcost):
    """``gz: (N, D) = gcost[i] * (sigmoid(z'_ij) - bits_ij)`` on the path, 0 past it."""
    xp = get_array_module(z)
    zc = xp.clip(z, -CLIP, CLIP)
    return (1 / (1 + xp.exp(-zc)) - bits) * mask * gcost.reshape(-1, 1)
