"""Reference kernels of the linear-chain CRF (``paddle.layer.crf`` / ``crf_decoding``).

A batch of sequences is packed rows ``x: (R, K)`` -- one score per tag and timestep -- plus host
offsets ``starts: (S + 1,)`` (``minidl/core/sequence.py``). One parameter serves every
sequence, laid out as Paddle's ``LinearChainCRF`` reads it::

    w: (K + 2, K)    w[0]    = a, start weights: a[j] scores tag j at the first timestep
                     w[1]    = b, end weights:   b[j] scores tag j at the last timestep
                     w[2:]   = W, transitions:   W[i, j] scores tag i followed by tag j

The score of a tag path ``s`` of a sequence of ``L`` rows, and its probability::

    score(s) = a[s_0] + b[s_{L-1}] + sum_k x[k, s_k] + sum_{k>=1} W[s_{k-1}, s_k]
    p(s | x) = exp(score(s)) / Z,        Z = sum over all K^L paths of exp(score)

The cost of a sequence is ``-log p(label | x) = log Z - score(label)``. ``log Z`` comes from
the forward recursion in log space (Paddle normalised each step instead; the value is the
same)::

    alpha[0, j] = a[j] + x[0, j]
    alpha[k, j] = x[k, j] + logsumexp_i(alpha[k-1, i] + W[i, j])
    log Z       = logsumexp_j(alpha[L-1, j] + b[j])

and the gradient from the backward one, ``beta[L-1, i] = b[i]``,
``beta[k, i] = logsumexp_j(W[i, j] + x[k+1, j] + beta[k+1, j])``: the cost's derivative is
the expected count of each feature minus its count on the label path, with the marginals::

    P(s_k = j)                 = exp(alpha[k, j] + beta[k, j] - log Z)
    P(s_{k-1} = i, s_k = j)    = exp(alpha[k-1, i] + W[i, j] + x[k, j] + beta[k, j] - log Z)

Decoding (Viterbi) replaces logsumexp by max and follows the argmax back; ties go to the
smallest tag, as Paddle's strict ``>`` comparison did. Every kernel loops over the
sequences and, within one, over timesteps, each step one ``(K, K)`` array operation.
"""

from ...core.xp import get_array_module
from ..registry import register


def _logsumexp(v, axis):
    """``log(sum(exp(v), axis))``, computed stably (the largest term factored out)."""
    xp = get_array_module(v)
    top = v.max(axis=axis, keepdims=True)
    return (top + xp.log(xp.exp(v - top).sum(axis=axis, keepdims=True))).squeeze(axis)


def _split(w):
    """``(a, b, W)``: the start weights, end weights and transition matrix of ``w``."""
    return w[0], w[1], w[2:]


def _rows_of(starts, i):
    return int(starts[i]), int(starts[i + 1])


def _path_score(x, labels, a, b, trans):
    """``score(labels)`` of one sequence: ``x: (L, K)``, ``labels: (L,)`` ints."""
    xp = get_array_module(x)
    steps = xp.arange(len(labels))
    return (a[labels[0]] + b[labels[-1]] + x[steps, labels].sum()
            + trans[labels[:-1], labels[1:]].sum())


@register("crf_forward")
def crf_forward(x, w, labels, starts):
    """Cost ``-log p(labels | x)`` of every sequence, with what the gradient reuses.

    Notation: ``x: (R, K)``, ``w: (K + 2, K)``, ``labels: (R,)`` ints in ``[0, K)``,
    ``starts: (S + 1,)`` -> ``cost: (S,)``, ``alpha: (R, K)`` (the forward log-scores of every
    row), ``log_z: (S,)``. A sequence of no rows costs 0.
    """
    xp = get_array_module(x)
    a, b, trans = _split(w)
    num_sequences = len(starts) - 1
    alpha = xp.zeros_like(x)
    cost = xp.zeros(num_sequences, dtype=x.dtype)
    log_z = xp.zeros(num_sequences, dtype=x.dtype)
    for i in range(num_sequences):
        begin, end = _rows_of(starts, i)
        if end == begin:
            continue
        alpha[begin] = a + x[begin]
        for k in range(begin + 1, end):
            alpha[k] = x[k] + _logsumexp(alpha[k - 1][:, None] + trans, axis=0)
        log_z[i] = _logsumexp(alpha[end - 1] + b, axis=0)
        cost[i] = log_z[i] - _path_score(x[begin:end], labels[begin:end], a, b, trans)
    return cost, alpha, log_z


@register("crf_backward")
def crf_backward(x, w, labels, starts, alpha, log_z, g):
    """Gradients of ``sum_i g[i] * cost[i]``: ``gx: (R, K)`` and ``gw: (K + 2, K)``.

    ``alpha``, ``log_z``: what :func:`crf_forward` returned; ``g: (S,)`` the weight of each
    sequence's cost (the output gradient, times the layer's coeff and the sample weight)::

        gx[k, j]     = g * (P(s_k = j) - [labels[k] == j])
        ga[j]        = g * (P(s_0 = j) - [labels[0] == j])
        gb[j]        = g * (P(s_{L-1} = j) - [labels[L-1] == j])
        gW[i, j]     = g * sum_{k>=1} (P(s_{k-1} = i, s_k = j) - [labels[k-1] == i, labels[k] == j])
    """
    xp = get_array_module(x)
    _, b, trans = _split(w)
    gx = xp.zeros_like(x)
    gw = xp.zeros_like(w)
    for i in range(len(starts) - 1):
        begin, end = _rows_of(starts, i)
        if end == begin:
            continue
        length = end - begin
        beta = xp.zeros((length, x.shape[1]), dtype=x.dtype)
        beta[-1] = b
        for k in range(length - 2, -1, -1):
            beta[k] = _logsumexp(trans + (x[begin + k + 1] + beta[k + 1])[None, :], axis=1)
        marginal = xp.exp(alpha[begin:end] + beta - log_z[i])       # (L, K): P(s_k = j)
        seq_labels = labels[begin:end]
        steps = xp.arange(length)
        marginal[steps, seq_labels] -= 1.0
        gx[begin:end] = g[i] * marginal
        gw[0] += g[i] * marginal[0]
        gw[1] += g[i] * marginal[-1]
        if length > 1:
            # pair marginals of every step k >= 1: (L - 1, K, K)
            pair = xp.exp(alpha[begin:end - 1][:, :, None] + trans[None]
                          + (x[begin + 1:end] + beta[1:])[:, None, :] - log_z[i])
            one_hot = xp.eye(x.shape[1], dtype=x.dtype)[seq_labels]          # (L, K)
            seen = one_hot[:-1].T @ one_hot[1:]     # seen[i, j]: transitions i -> j on the path
            gw[2:] += g[i] * (pair.sum(axis=0) - seen)
    return gx, gw


@register("crf_decode")
def crf_decode(x, w, starts):
    """The most probable tag path of every sequence (Viterbi): ``ids: (R,)`` int64.

    ``delta[0] = a + x[0]``, ``delta[k, j] = x[k, j] + max_i(delta[k-1, i] + W[i, j])``
    (``track[k, j]``: the best ``i``); the last tag maximises ``delta[L-1] + b``, the others
    follow ``track`` back. ``argmax`` picks the first of equal scores.
    """
    xp = get_array_module(x)
    a, b, trans = _split(w)
    ids = xp.zeros(x.shape[0], dtype=xp.int64)
    for i in range(len(starts) - 1):
        begin, end = _rows_of(starts, i)
        if end == begin:
            continue
        length = end - begin
        track = xp.zeros((length, x.shape[1]), dtype=xp.int64)
        delta = a + x[begin]
        for k in range(1, length):
            scores = delta[:, None] + trans             # scores[i, j]: tag i, then tag j
            track[k] = scores.argmax(axis=0)
            delta = x[begin + k] + scores.max(axis=0)
        best = int((delta + b).argmax())
        ids[end - 1] = best
        for k in range(length - 1, 0, -1):
            best = int(track[k, best])
            ids[begin + k - 1] = best
    return ids
