"""Reference kernels of the self-normalised and multi-label cross-entropies, the pairwise rank
cost, LambdaRank's NDCG and lambdas, and the sum cost.

Costs are per row, ``(N,)``; gradients are sums over the batch (the trainer sums the costs).
Logarithms of probabilities are floored at the dtype's smallest normal number, as in
``cost.py``, so a 0 that reaches a cost stays finite.
"""

import numpy as np

from ...core.xp import as_numpy, get_array_module
from ..registry import register


def _log(p):
    xp = get_array_module(p)
    return xp.log(xp.maximum(p, xp.finfo(p.dtype).tiny))


# --- cross-entropy with self-normalisation ------------------------------------------------

@register("selfnorm_cross_entropy_forward")
def selfnorm_cross_entropy_forward(out, label, alpha):
    """Cross-entropy of unnormalised positive scores, plus a pull of their sum towards 1.

    Notation: ``out: (N, K)`` positive, ``label: (N,)`` ints in ``[0, K)`` -> ``(N,)``::

        Z[i]    = sum_j out[i, j]
        cost[i] = -log(out[i, label[i]] / Z[i]) + alpha * log(Z[i])^2
    """
    xp = get_array_module(out)
    log_z = _log(out.sum(axis=1))
    picked = out[xp.arange(out.shape[0]), label]
    return -_log(picked) + log_z + alpha * log_z * log_z


@register("selfnorm_cross_entropy_backward")
def selfnorm_cross_entropy_backward(out, label, alpha, gcost):
    """``gout: (N, K)``: ``gcost[i] * ((1 + 2 alpha log Z[i]) / Z[i] - [j == label[i]] /
    out[i, j])``."""
    xp = get_array_module(out)
    rows = xp.arange(out.shape[0])
    z = out.sum(axis=1)
    common = gcost * (1 + 2 * alpha * _log(z)) / z
    gout = xp.repeat(common.reshape(-1, 1), out.shape[1], axis=1)
    gout[rows, label] -= gcost / xp.maximum(out[rows, label], xp.finfo(out.dtype).tiny)
    return gout


# --- independent binary labels ---------------------------------------------------------------

@register("multi_binary_cross_entropy_forward")
def multi_binary_cross_entropy_forward(prob, target):
    """One binary cross-entropy per column, summed over the columns.

    Notation: ``prob: (N, K)`` in (0, 1), ``target: (N, K)`` 0/1 -> ``(N,)``::

        cost[i] = -sum_j (target[i, j] log prob[i, j] + (1 - target[i, j]) log(1 - prob[i, j]))
    """
    return -(target * _log(prob) + (1 - target) * _log(1 - prob)).sum(axis=1)


@register("multi_binary_cross_entropy_backward")
def multi_binary_cross_entropy_backward(prob, target, gcost):
    """``gprob: (N, K) = gcost[i] * (-target / prob + (1 - target) / (1 - prob))``."""
    xp = get_array_module(prob)
    tiny = xp.finfo(prob.dtype).tiny
    g = -target / xp.maximum(prob, tiny) + (1 - target) / xp.maximum(1 - prob, tiny)
    return g * gcost.reshape(-1, 1)


# --- pairwise ranking (RankNet) ----------------------------------------------------------------

@register("rank_cost_forward")
def rank_cost_forward(left, right, label):
    """Cross-entropy of ``P(left ranks above right) = sigmoid(left - right)`` against the
    target probability ``label`` (0, 0.5 or 1).

    Notation: ``left, right, label: (N,)`` -> ``(N,)``, with ``o = left - right``::

        cost = log(1 + exp(o)) - label * o
    """
    xp = get_array_module(left)
    o = left - right
    # log(1 + exp(o)) without overflow: max(o, 0) + log(1 + exp(-|o|))
    return xp.maximum(o, 0) + xp.log1p(xp.exp(-xp.abs(o))) - label * o


@register("rank_cost_backward")
def rank_cost_backward(left, right, label, gcost):
    """``d cost / d left = gcost * (sigmoid(left - right) - label)``; ``d / d right`` is its
    negative."""
    xp = get_array_module(left)
    return gcost * (1 / (1 + xp.exp(-(left - right))) - label)


# --- LambdaRank ---------------------------------------------------------------------------------

def _ranking(values):
    """Indices of ``values`` from the largest to the smallest; ties keep their order."""
    return np.argsort(-values, kind="stable")


def _dcg(relevance):
    """``sum_r (2^relevance[r] - 1) / ln(r + 2)`` over the positions ``r`` of a ranked list."""
    return float(((2.0 ** relevance - 1) / np.log(np.arange(len(relevance)) + 2)).sum())


def _max_dcg(relevance, k, where):
    best = _dcg(relevance[_ranking(relevance)][:k])
    if not best > 0:
        raise ValueError(f"{where}: the best DCG@{k} of the list is {best}: LambdaRank needs a "
                         "positive relevance among its top scores")
    return best


@register("lambda_ndcg")
def lambda_ndcg(output, score, starts, k):
    """NDCG@k of each list, written on every row of the list.

    Notation: ``output, score: (R,)`` (model outputs, true relevance), ``starts: (S + 1,)``
    -> ``(R,)``. A list is ranked by ``output``; ``NDCG@k = DCG@k / max DCG@k`` with
    ``DCG@k = sum_{r < k} (2^relevance_r - 1) / ln(r + 2)``.
    """
    xp = get_array_module(output)
    out, rel = as_numpy(output), as_numpy(score).astype(float)
    ndcg = xp.zeros_like(output)
    for i in range(len(starts) - 1):
        begin, end = int(starts[i]), int(starts[i + 1])
        o, s = out[begin:end], rel[begin:end]
        ndcg[begin:end] = _dcg(s[_ranking(o)][:k]) / _max_dcg(s, k, f"list {i}")
    return ndcg


@register("lambda_gradient")
def lambda_gradient(output, score, starts, k, max_sort_size):
    """LambdaRank's gradient for the outputs of each list.

    Notation: ``output, score: (R,)``, ``starts: (S + 1,)`` -> ``(R,)``. Rank a list by its
    true ``score`` (positions ``0..n-1``); only the first ``m`` positions are sorted
    (``m = n`` when ``max_sort_size`` is -1, else ``min(max_sort_size, n)``). Every pair
    ``p < q`` with ``p < m`` adds, for the items ``a`` at ``p`` and ``b`` at ``q``::

        delta   = (2^s_a - 2^s_b) * (1/ln(p + 2) - 1/ln(q + 2))    if q < m
                  (2^s_a - 2^s_b) / ln(p + 2)                      otherwise
        lambda  = -|delta| / (1 + exp(o_a - o_b)) / max DCG@k
        grad[a] += lambda,  grad[b] -= lambda

    Descending it raises ``a``'s output above ``b``'s, the more the more swapping them would
    change the DCG.
    """
    xp = get_array_module(output)
    out, rel = as_numpy(output).astype(float), as_numpy(score).astype(float)
    grad = np.zeros(len(out))
    for i in range(len(starts) - 1):
        begin, end = int(starts[i]), int(starts[i + 1])
        o, s = out[begin:end], rel[begin:end]
        n = end - begin
        m = n if max_sort_size == -1 else min(max_sort_size, n)
        order = _ranking(s)
        best = _max_dcg(s, k, f"list {i}")
        for p in range(m):
            for q in range(p + 1, n):
                a, b = order[p], order[q]
                gain = 2.0 ** s[a] - 2.0 ** s[b]
                delta = gain * (1 / np.log(p + 2) - 1 / np.log(q + 2)) if q < m \
                    else gain / np.log(p + 2)
                lam = -abs(delta) / (1 + np.exp(o[a] - o[b])) / best
                grad[begin + a] += lam
                grad[begin + b] -= lam
    return xp.asarray(grad.astype(output.dtype))


# --- sum ----------------------------------------------------------------------------------------

@register("sum_cost_forward")
def sum_cost_forward(x):
    """``cost[i] = sum_j x[i, j]``: ``x: (N, D)`` -> ``(N,)``."""
    return x.sum(axis=1)


@register("sum_cost_backward")
def sum_cost_backward(width, gcost):
    """``gx: (N, width)``, every entry of row ``i`` equal to ``gcost[i]``."""
    xp = get_array_module(gcost)
    return xp.repeat(gcost.reshape(-1, 1), width, axis=1)
