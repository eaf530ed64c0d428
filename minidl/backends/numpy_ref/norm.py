"""Reference kernels for batch normalisation and cross-channel response normalisation.

Batch normalisation works on ``x: (N, C, L)``: ``C`` channels (or features), ``L`` pixels per
channel (1 for a plain ``(N, size)`` input). Statistics are per channel over ``N * L`` values,
with the *biased* variance, as Paddle's ``BatchNormalizationLayer`` computes them.

Cross-map (LRN) normalisation works on ``x: (N, C, H, W)`` as Paddle's ``CrossMapNormal``:

    denom[c] = 1 + alpha * sum_{s = first}^{first + size - 1} x[c + s]^2     (channels in range)
    y[c]     = x[c] * denom[c]^(-power)

with ``first = -((size - 1) // 2)`` (an even window reaches one channel further forward)
and ``alpha`` what Paddle stores: the user's ``scale / size``.
"""

from ...core.xp import get_array_module
from ..registry import register


def _per_channel(v):
    """``(C,)`` -> ``(1, C, 1)`` so it broadcasts against ``(N, C, L)``."""
    return v.reshape(1, -1, 1)


@register("batch_norm_forward_train")
def batch_norm_forward_train(x, gamma, beta, eps):
    """Normalise with the batch's own statistics.

    Notation: ``x: (N, C, L)``; ``gamma, beta: (C,)`` (``beta`` may be None: no shift).
    Returns ``y, x_hat: (N, C, L)`` and ``mean, var, inv_std: (C,)`` where ``var`` is the
    biased batch variance and ``inv_std = 1 / sqrt(var + eps)``.
    """
    xp = get_array_module(x)
    mean = x.mean(axis=(0, 2))
    centred = x - _per_channel(mean)
    var = (centred * centred).mean(axis=(0, 2))
    inv_std = 1 / xp.sqrt(var + eps)
    x_hat = centred * _per_channel(inv_std)
    y = x_hat * _per_channel(gamma)
    if beta is not None:
        y = y + _per_channel(beta)
    return y, x_hat, mean, var, inv_std


@register("batch_norm_forward_infer")
def batch_norm_forward_infer(x, gamma, beta, mean, var, eps):
    """Normalise with given (moving) statistics ``mean, var: (C,)``.

    Returns ``y, x_hat: (N, C, L)`` and ``inv_std: (C,)``. A negative variance is clipped
    to 0 first, as Paddle does.
    """
    xp = get_array_module(x)
    inv_std = 1 / xp.sqrt(xp.maximum(var, 0) + eps)
    x_hat = (x - _per_channel(mean)) * _per_channel(inv_std)
    y = x_hat * _per_channel(gamma)
    if beta is not None:
        y = y + _per_channel(beta)
    return y, x_hat, inv_std


@register("batch_norm_act_infer")
def batch_norm_act_infer(x, gamma, beta, mean, var, eps, relu):
    """Inference only: batch norm with fixed statistics, then ReLU when ``relu``.

    The layer's forward when nothing will be differentiated: ``y`` alone, without the
    ``x_hat`` that the backward pass would need, and the activation in the same pass.
    Notation as :func:`batch_norm_forward_infer`; returns ``y: (N, C, L)``.
    """
    xp = get_array_module(x)
    y, _, _ = batch_norm_forward_infer(x, gamma, beta, mean, var, eps)
    return xp.maximum(y, 0) if relu else y


@register("batch_norm_backward")
def batch_norm_backward(gy, x_hat, gamma, inv_std, batch_stats):
    """Gradients of batch normalisation.

    Notation: ``gy, x_hat: (N, C, L)``; ``gamma, inv_std: (C,)``.
    ``batch_stats``: whether the statistics came from this batch (training), so that the
    gradient also flows through the mean and variance; with fixed statistics the layer is
    an affine map per channel.
    Returns ``gx: (N, C, L)``, ``ggamma, gbeta: (C,)``.
    """
    gbeta = gy.sum(axis=(0, 2))
    ggamma = (gy * x_hat).sum(axis=(0, 2))
    g_hat = gy * _per_channel(gamma)
    if batch_stats:
        # d/dx of (x - mean) / std through mean and var:
        # gx = inv_std * (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat))
        mean_g = g_hat.mean(axis=(0, 2), keepdims=True)
        mean_gx = (g_hat * x_hat).mean(axis=(0, 2), keepdims=True)
        g_hat = g_hat - mean_g - x_hat * mean_gx
    return g_hat * _per_channel(inv_std), ggamma, gbeta


def _window_first(size):
    """Offset of the first channel of a forward window: ``-((size - 1) // 2)``."""
    return -((size - 1) // 2)


def _channel_window_sum(a, first, size):
    """``out[:, c] = sum_{s=first}^{first+size-1} a[:, c + s]``, missing channels count as 0.

    A loop over the ``size`` offsets (a handful) of whole-array slice additions.
    """
    xp = get_array_module(a)
    channels = a.shape[1]
    out = xp.zeros_like(a)
    for s in range(first, first + size):
        lo, hi = max(0, -s), min(channels, channels - s)  # channels c with 0 <= c + s < C
        if lo < hi:
            out[:, lo:hi] += a[:, lo + s:hi + s]
    return out


@register("cross_map_norm_forward")
def cross_map_norm_forward(x, size, alpha, power):
    """LRN across channels.

    Notation: ``x: (N, C, H, W)`` -> ``y, denom: (N, C, H, W)``;
    ``denom = 1 + alpha * window_sum(x^2)`` is returned for the backward pass.
    """
    denom = 1 + alpha * _channel_window_sum(x * x, _window_first(size), size)
    return x * denom ** (-power), denom


@register("cross_map_norm_backward")
def cross_map_norm_backward(x, denom, gy, size, alpha, power):
    """Gradient of :func:`cross_map_norm_forward`.

    ``x[c]`` enters ``denom[c']`` for every ``c'`` whose window holds ``c``, i.e. for the
    mirrored window ``c' = c - s``. With ``y = x denom^-p``:

        gx = gy denom^-p - 2 alpha p x sum_{c' window of c} (gy y / denom)[c']
    """
    scaled = denom ** (-power)
    ratio = gy * x * scaled / denom  # gy * y / denom
    first = _window_first(size)
    mirrored_first = -(first + size - 1)
    return gy * scaled - 2 * alpha * power * x * _channel_window_sum(ratio, mirrored_first, size)
