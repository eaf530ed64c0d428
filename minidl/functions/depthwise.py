"""Depthwise 2-D convolution as an autograd Function (kernels ``depthwise_conv2d_forward`` /
``_grad_input`` / ``_grad_filter``, see ``backends/numpy_ref/depthwise.py``).

:func:`minidl.functions.conv.conv2d` sends ``groups == C`` convolutions here, so
``img_conv(groups=C)`` and ``img_depthwise_conv`` run the same kernels.
"""

from ..core.geometry import is_depthwise
from .conv_function import ConvFunction


class DepthwiseConv2d(ConvFunction):
    """``y = depthwise_conv(x, w)``; stride and padding are ``(y, x)`` pairs, no dilation.

    Notation: ``x: (N, C, H, W)``, ``w: (C*M, 1, kh, kw)`` -> ``(N, C*M, OH, OW)``; output
    channel ``o`` reads input channel ``o // M``.
    """

    kernels = "depthwise_conv2d"

    def __init__(self, stride=(1, 1), padding=(0, 0)):
        self.geometry = (tuple(stride), tuple(padding))


def depthwise_conv2d(x, w, stride=(1, 1), padding=(0, 0)):
    """Differentiable depthwise convolution of Tensors (see :class:`DepthwiseConv2d`)."""
    return DepthwiseConv2d(stride, padding)(x, w)


__all__ = ["DepthwiseConv2d", "depthwise_conv2d", "is_depthwise"]
