"""``conv2d_batch_norm_act`` on the GPU: the convolution, then one RawKernel pass.

The same op and signature as the reference (``numpy_ref/conv_batch_norm.py``)::

    conv2d_batch_norm_act(x, w, bias, gamma, beta, mean, var, eps, relu, stride, padding,
                          dilation, groups)  -> act(batch_norm(conv(x, w) + bias))

The convolution is the backend's own (``conv.py``, or the depthwise RawKernels); the
convolution's bias, the batch norm's moving statistics, gamma and beta become one scale
and one shift per channel (``core/batch_norm_map.py``: a few kernels on ``F`` values), and
``kernels/scale_shift.cu`` applies them and the ReLU to the output in place, where the
batch norm's reference code would run several element-wise kernels over it. Arrays that
are not float32 on the device run the reference.
"""

import functools
import pathlib

import numpy as np

from ...core.batch_norm_map import batch_norm_map
from ...core.geometry import is_depthwise
from ...core.xp import get_array_module
from ..numpy_ref import conv_batch_norm as reference
from ..registry import register
from .conv import conv2d_forward
# the launch shape, the 32-bit index bound and the device check of the element-wise
# depthwise kernels, which this one shares
from .depthwise import (MAX_ELEMENTS, _elementwise_grid, _on_device,
                        depthwise_conv2d_forward)

SOURCE = pathlib.Path(__file__).with_name("kernels") / "scale_shift.cu"
KERNEL = "scale_shift_act_kernel"

_module = None


def cuda_module():
    """The compiled ``cupy.RawModule`` (built on first use; tests may substitute it)."""
    global _module
    if _module is None:
        import cupy
        _module = cupy.RawModule(code=SOURCE.read_text())
    return _module


@functools.cache
def _function(module):
    return module.get_function(KERNEL)


def scale_shift_act(y, scale, shift, relu):
    """``y[n, f] = act(y[n, f] * scale[f] + shift[f])`` in place, for ``y: (N, F, ...)``."""
    if y.size > MAX_ELEMENTS:
        raise ValueError(f"conv2d_batch_norm_act: an output of {y.size} elements is too "
                         f"large for the kernel's 32-bit indices (at most {MAX_ELEMENTS})")
    if y.size == 0:
        return y
    n, f = y.shape[:2]
    _function(cuda_module())(*_elementwise_grid(y.size), (
        y, scale, shift, y, np.int32(y.size), np.int32(f), np.int32(y.size // (n * f)),
        np.int32(bool(relu))))
    return y


@register("conv2d_batch_norm_act", backend="gpu")
def conv2d_batch_norm_act(x, w, bias, gamma, beta, mean, var, eps, relu, stride, padding,
                          dilation, groups):
    """See the reference. ``x: (N, C, H, W)``, ``w: (F, C/G, kh, kw)``, the rest ``(F,)``
    (``bias``, ``beta`` may be None) -> ``(N, F, OH, OW)``."""
    if not _on_device(x, w):
        return reference.conv2d_batch_norm_act(x, w, bias, gamma, beta, mean, var, eps, relu,
                                               stride, padding, dilation, groups)
    xp = get_array_module(x, w)
    if is_depthwise(x.shape, w.shape, dilation, groups):
        y = depthwise_conv2d_forward(x, w, stride, padding)
    else:
        y = conv2d_forward(x, w, stride, padding, dilation, groups)
    y = y if y.flags.c_contiguous else xp.ascontiguousarray(y)
    scale, shift = batch_norm_map(bias, gamma, beta, mean, var, eps)
    return scale_shift_act(y, scale, shift, relu)
