"""Numba batch normalisation with fixed statistics (inference) for the ``cpu`` backend.

The reference (``numpy_ref/norm.py``) makes four passes over the activations, each into a
fresh temporary; in MobileNet's forward pass at batch 1 that cost more than all the
convolutions together. Here one pass per ``(image, channel)`` row computes both outputs.
"""

import numpy as np
from numba import njit, prange

from ..registry import register

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
    _normalise(x, np.asarray(mean, dtype=x.dtype), inv_std, np.asarray(gamma, dtype=x.dtype),
               np.asarray(beta, dtype=x.dtype), y, x_hat)
    return y, x_hat, inv_std
