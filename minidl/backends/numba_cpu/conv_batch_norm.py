"""``conv2d_batch_norm_act`` on the ``cpu`` backend: the batch norm folded into the
convolution's own output pass (the reference, ``numpy_ref/conv_batch_norm.py``, says why).

Batch norm and the convolution's bias become one scale and shift per output channel
(:func:`_fold`), which each path applies to its output while that output is in cache:

* depthwise layers: each output plane, right after the kernel computed it (``depthwise.py``
  and the kernels of its three paths);
* 1x1 layers at stride 1 (MobileNet's pointwise layers), and layers convolved one image
  at a time (batch 1, or large images: ``conv_per_image.py``): each thread's part of each
  GEMM, right after BLAS wrote it (``gemm_scaled.py``);
* others (small images at batch > 1, all images in one GEMM with the batch innermost):
  the convolution, then one pass over its output.
"""

import numpy as np
from numba import njit, prange

from ...core.geometry import conv_geometry, is_depthwise
from ..registry import register
from . import conv, depthwise
from . import conv_per_image as per_image
from .gemm_scaled import gemm_scaled
from .loops import U, scale_shift
from .norm import SERIAL_BELOW
from .threads import one_thread_below


@njit(cache=True)
def _fold(gamma, beta, mean, var, bias, eps, scale, shift):
    """``scale = gamma / sqrt(max(var, 0) + eps)``, ``shift = beta + (bias - mean) *
    scale`` (``beta``, ``bias`` empty for none), in float64 then stored in ``scale``'s
    dtype."""
    for f in range(scale.shape[0]):
        a = np.float64(gamma[f]) / np.sqrt(max(np.float64(var[f]), 0.0) + eps)
        offset = np.float64(bias[f]) if bias.size else 0.0
        scale[f] = a
        shift[f] = (np.float64(beta[f]) if beta.size else 0.0) + (offset - mean[f]) * a


@njit(parallel=True, cache=True)
def _scale_planes(y, scale, shift, relu):
    """``y[b, o] = y[b, o] * scale[o] + shift[o]`` (+ ReLU) for ``y: (N, F, L)``."""
    n, f, size = U(y.shape[0]), U(y.shape[1]), U(y.shape[2])
    for row in prange(n * f):
        b, o = divmod(row, f)
        scale_shift(y[b, o], size, scale[o], shift[o], relu)


@register("conv2d_batch_norm_act", backend="cpu")
def conv2d_batch_norm_act(x, w, bias, gamma, beta, mean, var, eps, relu, stride, padding,
                          dilation, groups):
    """See the reference; the batch norm applied in the convolution's output pass."""
    dtype = np.result_type(x, w)
    x, w = np.ascontiguousarray(x, dtype=dtype), np.ascontiguousarray(w, dtype=dtype)
    f, relu = w.shape[0], bool(relu)
    scale, shift = np.empty(f, dtype=dtype), np.empty(f, dtype=dtype)
    none = gamma[:0]
    _fold(gamma, none if beta is None else beta, mean, var, none if bias is None else bias,
          float(eps), scale, shift)
    if is_depthwise(x.shape, w.shape, dilation, groups):
        return depthwise.forward(x, w, stride, padding, scale, shift, relu)
    kernel, (oh, ow) = conv_geometry(x.shape, w.shape, stride, padding, dilation, groups)
    n, c = x.shape[:2]
    if conv.is_pointwise(w.shape, stride, padding, groups):
        images = x.reshape(n, c, oh * ow)
        y = np.empty((n, f, oh * ow), dtype=dtype)
        for image in range(n):
            gemm_scaled(w.reshape(f, c), images[image], y[image], scale, shift, relu)
        return y.reshape(n, f, oh, ow)
    if n == 1 or conv.goes_per_image(n, (oh, ow)):
        return per_image.forward(x, w, kernel, (oh, ow),
                                 conv.geometry_ints(stride, padding, dilation), groups,
                                 (scale, shift, relu))
    y = conv.conv2d_forward(x, w, stride, padding, dilation, groups)   # a new array
    with one_thread_below(y.size, SERIAL_BELOW):
        _scale_planes(y.reshape(n, f, oh * ow), scale, shift, relu)
    return y
