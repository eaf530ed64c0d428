"""Numba batch normalisation with the batch's own statistics (training) for the ``cpu`` backend.

The reference (``numpy_ref/norm.py``) builds each result from whole-array NumPy
expressions: its forward makes six passes over the activations and its backward nine,
each into a fresh temporary. In a MobileNet v1 training step at batch 8 the 27 batch
norms took 170 ms of a 400 ms step, more than the convolutions' GEMMs. Here the forward is
two reading passes per channel for the statistics and one writing ``y`` and ``x_hat``
together; the backward one reading pass for both sums and one writing ``gx``.

The statistics' sums run over ``N * L`` values per channel (100 k in MobileNet's first
layers), accumulated in float64: a float32 running sum would lose digits the reference's
pairwise sums keep. They may add in any order (``reassoc``): LLVM then keeps several
vector lanes of partial sums instead of one chain of dependent additions (4 cycles each),
which made the two reductions half of the layer's time.
"""

import numpy as np
from numba import njit, prange

from ..registry import register
from .norm import SERIAL_BELOW, U, _normalise
from .threads import one_thread_below

_SUM_MATH = {"reassoc", "nsz", "contract"}


@njit(parallel=True, cache=True, fastmath=_SUM_MATH)
def _statistics(x, mean, var):
    """Per channel of ``x: (N, C, L)``: the mean and the biased variance (two passes)."""
    n, c, length = U(x.shape[0]), U(x.shape[1]), U(x.shape[2])
    count = n * length
    for ch in prange(c):
        total = 0.0
        for b in range(n):
            row = x[b, ch]
            for p in range(length):
                total += row[p]
        mu = total / count
        squares = 0.0
        for b in range(n):
            row = x[b, ch]
            for p in range(length):
                d = row[p] - mu
                squares += d * d
        mean[ch] = mu
        var[ch] = squares / count


@register("batch_norm_forward_train", backend="cpu")
def batch_norm_forward_train(x, gamma, beta, eps):
    """Normalise with the batch's statistics; see the reference for the notation."""
    x = np.ascontiguousarray(x)
    c = x.shape[1]
    mean, var = np.empty(c), np.empty(c)
    y, x_hat = np.empty_like(x), np.empty_like(x)
    beta = np.zeros(c, x.dtype) if beta is None else beta
    with one_thread_below(x.size, SERIAL_BELOW):
        _statistics(x, mean, var)
        mean, var = mean.astype(x.dtype), var.astype(x.dtype)
        inv_std = (1 / np.sqrt(var + eps)).astype(x.dtype)
        _normalise(x, mean, inv_std, np.asarray(gamma, dtype=x.dtype),
                   np.asarray(beta, dtype=x.dtype), y, x_hat)
    return y, x_hat, mean, var, inv_std


@njit(parallel=True, cache=True, fastmath=_SUM_MATH)
def _gradient_sums(gy, x_hat, gbeta, ggamma):
    """Per channel: ``sum gy`` and ``sum gy * x_hat`` over images and pixels."""
    n, c, length = U(gy.shape[0]), U(gy.shape[1]), U(gy.shape[2])
    for ch in prange(c):
        shift = scale = 0.0
        for b in range(n):
            g, normal = gy[b, ch], x_hat[b, ch]
            for p in range(length):
                shift += g[p]
                scale += g[p] * normal[p]
        gbeta[ch] = shift
        ggamma[ch] = scale


@njit(parallel=True, cache=True)
def _input_gradient(gy, x_hat, gamma, inv_std, mean_g, mean_gx, gx):
    """``gx = inv_std * (gamma * gy - mean_g - x_hat * mean_gx)`` per channel (both means
    zero for fixed statistics)."""
    n, c, length = U(gy.shape[0]), U(gy.shape[1]), U(gy.shape[2])
    for row in prange(n * c):
        b, ch = divmod(row, c)
        g, normal, out = gy[b, ch], x_hat[b, ch], gx[b, ch]
        a, s, m0, m1 = gamma[ch], inv_std[ch], mean_g[ch], mean_gx[ch]
        for p in range(length):
            out[p] = s * (a * g[p] - m0 - normal[p] * m1)


@register("batch_norm_backward", backend="cpu")
def batch_norm_backward(gy, x_hat, gamma, inv_std, batch_stats):
    """Gradients of batch normalisation; see the reference for the notation."""
    gy, x_hat = np.ascontiguousarray(gy), np.ascontiguousarray(x_hat)
    n, c, length = gy.shape
    gbeta, ggamma = np.empty(c), np.empty(c)
    gx = np.empty_like(gy)
    with one_thread_below(gy.size, SERIAL_BELOW):
        _gradient_sums(gy, x_hat, gbeta, ggamma)
        gamma = np.asarray(gamma, dtype=np.float64)
        if batch_stats:
            # the means of g_hat = gamma * gy and of g_hat * x_hat, over N * L values
            mean_g, mean_gx = gamma * gbeta / (n * length), gamma * ggamma / (n * length)
        else:
            mean_g = mean_gx = np.zeros(c)
        _input_gradient(gy, x_hat, gamma.astype(gy.dtype), np.asarray(inv_std, gy.dtype),
                        mean_g.astype(gy.dtype), mean_gx.astype(gy.dtype), gx)
    return gx, ggamma.astype(gy.dtype), gbeta.astype(gy.dtype)
