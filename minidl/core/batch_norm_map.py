"""Batch norm at inference as one affine map per channel, folded with a convolution's bias.

With its moving statistics fixed, ``batch_norm(y + bias)`` is ``y * scale + shift`` per
channel, ``scale = keep * gamma / sqrt(max(var, 0) + eps)`` and ``shift = keep * beta +
(bias - mean) * scale``, where ``keep`` is the batch norm's dropout factor at inference.
The sparse forward (``layers/batch_norm_folding.py``) and the gpu kernel
(``backends/cupy_gpu/conv_batch_norm.py``) take it from here; the cpu kernel computes the
same in its jitted twin (``numba_cpu/conv_batch_norm._fold``).
"""

from .xp import get_array_module


def batch_norm_map(bias, gamma, beta, mean, var, eps, keep=1.0):
    """float32 ``(scale, shift)`` of ``(F,)`` arrays (``bias``, ``beta`` None for none),
    computed in float64 on the arrays' device."""
    xp = get_array_module(gamma)
    f64 = xp.float64
    scale = keep * gamma.astype(f64) / xp.sqrt(xp.maximum(var.astype(f64), 0.0) + eps)
    shift = (-mean.astype(f64) if bias is None
             else bias.astype(f64) - mean.astype(f64)) * scale
    if beta is not None:
        shift += keep * beta.astype(f64)
    return scale.astype(xp.float32), shift.astype(xp.float32)
