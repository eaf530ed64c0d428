"""Reference kernels of Connectionist Temporal Classification (``paddle.layer.ctc`` /
``warp_ctc``).

A sequence of ``T`` rows of class log-probabilities ``log_probs: (T, C)`` and a label sequence
``l`` of ``L`` classes (none of them the blank). An *alignment* is one class per timestep; it
reads as ``l`` once repeated classes are merged and blanks dropped. The cost is
``-log p(l | x)``, ``p`` the sum over those alignments of the product of their probabilities.

The sum runs over the extended label ``l'`` = blank, l_1, blank, l_2, ..., l_L, blank
(``2L + 1`` states). In log space, with ``y_t(k) = log_probs[t, k]``::

    alpha_0(0) = y_0(blank),   alpha_0(1) = y_0(l_1),   alpha_0(s) = -inf otherwise
    alpha_t(s) = y_t(l'_s) + logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1),
                                       alpha_{t-1}(s-2) if l'_s != blank and l'_s != l'_{s-2})
    log p      = logsumexp(alpha_{T-1}(2L), alpha_{T-1}(2L - 1))

``alpha_t(s)``: the log-probability of the first ``t + 1`` steps ending in state ``s``. The
backward variable ``beta_t(s)`` is that of the remaining steps ``t+1 .. T-1`` given state
``s`` at ``t`` (not counting ``y_t``)::

    beta_{T-1}(2L) = beta_{T-1}(2L - 1) = 0,   beta_{T-1}(s) = -inf otherwise
    beta_t(s) = logsumexp over s' in {s, s+1, s+2 if l'_{s+2} != blank and != l'_s}
                of beta_{t+1}(s') + y_{t+1}(l'_{s'})

so ``alpha_t(s) + beta_t(s) - log p`` is the log-probability that an alignment passes state
``s`` at step ``t``, and ``d cost / d y_t(k) = -sum_{s: l'_s = k} exp(alpha_t(s) + beta_t(s)
- log p)``. A label that needs more steps than the sequence has (``L`` plus one per repeated
neighbour) has no alignment: it costs 0 and gets no gradient, as in v2.

``ctc`` reads probabilities with the blank last; ``warp_ctc`` reads unnormalised scores
(a softmax is part of the cost) with the blank anywhere.
"""

from ...core.xp import as_numpy, get_array_module
from ..registry import register


def _extended(label, blank, xp):
    """``l'``: blank, l_1, blank, ..., l_L, blank -> ``(2L + 1,)`` ints."""
    ext = xp.full(2 * len(label) + 1, blank, dtype=xp.int64)
    ext[1::2] = label
    return ext


def _skip_allowed(ext, blank, xp):
    """``(2L + 1,)`` bools: may state ``s`` be reached from ``s - 2`` (a label unlike the
    previous one)?"""
    allowed = xp.zeros(len(ext), dtype=bool)
    allowed[2:] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
    return allowed


def _shift(v, by, xp):
    """``v`` moved ``by`` places to the right (``by > 0``) or left, filled with -inf."""
    out = xp.full_like(v, -xp.inf)
    if by > 0:
        out[by:] = v[:-by]
    else:
        out[:by] = v[-by:]
    return out


def alignable(label, length):
    """True when a label sequence fits in ``length`` steps (a blank between repeats)."""
    label = as_numpy(label)
    repeats = int((label[1:] == label[:-1]).sum()) if len(label) else 0
    return length >= len(label) + repeats


def alpha_beta(y, label, blank):
    """``(alpha, beta, log p)`` of one sequence: ``y: (T, C)`` log-probabilities,
    ``label: (L,)`` -> ``alpha, beta: (T, 2L + 1)``, ``log p`` a 0-d array."""
    xp = get_array_module(y)
    ext = _extended(label, blank, xp)
    skip = _skip_allowed(ext, blank, xp)
    steps, states = y.shape[0], len(ext)
    alpha = xp.full((steps, states), -xp.inf, dtype=y.dtype)
    alpha[0, :2] = y[0, ext[:2]]
    for t in range(1, steps):
        prev = alpha[t - 1]
        total = xp.logaddexp(prev, _shift(prev, 1, xp))
        total = xp.where(skip, xp.logaddexp(total, _shift(prev, 2, xp)), total)
        alpha[t] = y[t, ext] + total
    skip_from = xp.zeros(states, dtype=bool)      # may state s jump to s + 2?
    skip_from[:-2] = skip[2:]
    beta = xp.full((steps, states), -xp.inf, dtype=y.dtype)
    beta[-1, -2:] = 0
    for t in range(steps - 2, -1, -1):
        after = beta[t + 1] + y[t + 1, ext]
        total = xp.logaddexp(after, _shift(after, -1, xp))
        beta[t] = xp.where(skip_from, xp.logaddexp(total, _shift(after, -2, xp)), total)
    log_p = xp.logaddexp(alpha[-1, -1], alpha[-1, -2]) if states > 1 else alpha[-1, -1]
    return alpha, beta, log_p


def _sequences(starts, label_starts):
    for i in range(len(starts) - 1):
        yield (i, int(starts[i]), int(starts[i + 1]), int(label_starts[i]),
               int(label_starts[i + 1]))


@register("ctc_forward")
def ctc_forward(log_probs, labels, starts, label_starts, blank):
    """``-log p(label | x)`` of every sequence.

    Notation: ``log_probs: (R, C)``, ``labels: (M,)`` ints, ``starts: (S + 1,)`` the rows of
    each sequence, ``label_starts: (S + 1,)`` its labels -> ``(S,)``.
    """
    xp = get_array_module(log_probs)
    cost = xp.zeros(len(starts) - 1, dtype=log_probs.dtype)
    for i, begin, end, lbegin, lend in _sequences(starts, label_starts):
        label = labels[lbegin:lend]
        if end > begin and alignable(label, end - begin):
            cost[i] = -alpha_beta(log_probs[begin:end], label, blank)[2]
    return cost


@register("ctc_backward")
def ctc_backward(log_probs, labels, starts, label_starts, blank, gcost):
    """``glog_probs: (R, C)``: ``gcost[i]`` times ``d cost_i / d log_probs`` on the rows of
    sequence ``i`` (see the module docstring); ``gcost: (S,)``."""
    xp = get_array_module(log_probs)
    grad = xp.zeros_like(log_probs)
    for i, begin, end, lbegin, lend in _sequences(starts, label_starts):
        label = labels[lbegin:lend]
        if end == begin or not alignable(label, end - begin):
            continue
        alpha, beta, log_p = alpha_beta(log_probs[begin:end], label, blank)
        occupancy = xp.exp(alpha + beta - log_p)            # (T, 2L + 1)
        ext = _extended(label, blank, xp)
        per_class = xp.zeros((end - begin, log_probs.shape[1]), dtype=log_probs.dtype)
        for s in range(len(ext)):
            per_class[:, int(ext[s])] += occupancy[:, s]
        grad[begin:end] = -gcost[i] * per_class
    return grad


@register("log_softmax_rows")
def log_softmax_rows(x):
    """``x - logsumexp(x)`` along each row: ``x: (R, C)`` -> ``(R, C)``."""
    xp = get_array_module(x)
    top = x.max(axis=1, keepdims=True)
    return x - top - xp.log(xp.exp(x - top).sum(axis=1, keepdims=True))
