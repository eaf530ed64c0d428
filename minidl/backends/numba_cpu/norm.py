"""Numba batch normalisation with fixed statistics (inference) for the ``cpu`` backend.

The reference (``numpy_ref/norm.py``) makes four passes over the activations, each into a
fresh temporary; in MobileNet's forward pass at batch 1 that cost more than all the
convolutions together. Here one pass per ``(image, channel)`` row computes both outputs;
and when nothing will be differentiated, ``batch_norm_act_infer`` writes only ``y``, with
the layer's ReLU in the same pass (in MobileNet that pass and the separate ReLU pass it
replaces were 20 % of the forward at batch 1).
"""

import numpy as np
from numba import njit, prange

from ..registry import register
from .threads import one_thread_below

#: below this many values a pass runs on one thread: it is memory bound, and waking the
#: other threads cost more than the second core gave (``threads.py``)
SERIAL_BELOW = 1 << 21

U = np.uint64


@njit(parallel=True, cache=True)
def _normalise(x, mean, inv_std, gamma, beta, y, x_hat):
    n, c, length = U(x.shape[0]), U(x.shape[1]), U(x.shape[2])
    for row in prange(n * c):
        b, ch = divmod(row, c)
        mu, scale, g, shift = mean[ch], inv_std[ch], gamma[ch], beta[ch]
        src, normal, out = x[b, ch], x_hat[b, ch], y[b, ch]
        for p in range(length):
            value = (src[p] - mu) * scale
            normal[p] = value
            out[p] = value * g + shift


@register("batch_norm_forward_infer", backend="cpu")
def batch_norm_forward_infer(x, gamma, beta, mean, var, eps):
    """Normalise with given (moving) statistics, as the reference does.

    Notation: ``x: (N, C, L)``; ``gamma, beta, mean, var: (C,)`` (``beta`` may be None).
    Returns ``y, x_hat: (N, C, L)`` and ``inv_std: (C,)``.
    """
    x = np.ascontiguousarray(x)
    inv_std = (1 / np.sqrt(np.maximum(var, 0) + eps)).astype(x.dtype)
    beta = np.zeros_like(inv_std) if beta is None else beta
    y, x_hat = np.empty_like(x), np.empty_like(x)
    with one_thread_below(x.size, SERIAL_BELOW):
        _normalise(x, np.asarray(mean, dtype=x.dtype), inv_std,
                   np.asarray(gamma, dtype=x.dtype), np.asarray(beta, dtype=x.dtype), y, x_hat)
    return y, x_hat, inv_std


@njit(parallel=True, cache=True)
def _normalise_act(x, mean, var, gamma, beta, eps, relu, y):
    """``y = (x - mean) * gamma / sqrt(max(var, 0) + eps) + beta`` per channel, then ReLU
    (``beta`` empty for none). The per-channel scale is computed here, not in NumPy: at
    batch 1 the half-dozen small NumPy calls cost as much as the pass."""
    n, c, length = U(x.shape[0]), U(x.shape[1]), U(x.shape[2])
    has_beta = beta.shape[0] > 0
    for row in prange(n * c):
        b, ch = divmod(row, c)
        mu, shift = mean[ch], beta[ch] if has_beta else 0.0
        a = gamma[ch] / np.sqrt(max(var[ch], 0.0) + eps)
        src, out = x[b, ch], y[b, ch]
        for p in range(length):
            value = (src[p] - mu) * a + shift
            out[p] = value
            if relu and value < 0:
                out[p] = 0


@register("batch_norm_act_infer", backend="cpu")
def batch_norm_act_infer(x, gamma, beta, mean, var, eps, relu):
    """Inference-only batch norm + optional ReLU in one pass; see the reference."""
    x = np.ascontiguousarray(x)
    beta = x[:0, 0, 0] if beta is None else beta        # an empty array of x's dtype
    y = np.empty_like(x)
    with one_thread_below(x.size, SERIAL_BELOW):
        _normalise_act(x, mean, var, gamma, beta, float(eps), bool(relu), y)
    return y
