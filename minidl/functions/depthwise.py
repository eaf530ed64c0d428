"""Depthwise 2-D convolution as an autograd Function (kernels ``depthwise_conv2d_forward`` /
``_grad_input`` / ``_grad_filter``, see ``backends/numpy_ref/depthwise.py``).

:func:`minidl.functions.conv.conv2d` sends ``groups == C`` convolutions here, so
``img_conv(groups=C)`` and ``img_depthwise_conv`` run the same kernels.
"""

from ..backends import kernel
from ..core.tensor import Function


class DepthwiseConv2d(Function):
    """``y = depthwise_conv(x, w)``; stride and padding are ``(y, x)`` pairs, no dilation.

    Notation: ``x: (N, C, H, W)``, ``w: (C*M, 1, kh, kw)`` -> ``(N, C*M, OH, OW)``; output
    channel ``o`` reads input channel ``o // M``.
    """

    def __init__(self, stride=(1, 1), padding=(0, 0)):
        self.geometry = (tuple(stride), tuple(padding))

    def forward(self, x, w):
        # x for the filter gradient, w for the input gradient
        self.save_for_backward(x, w)
        return kernel("depthwise_conv2d_forward")(x, w, *self.geometry)

    def backward(self, gy):
        x, w = self.saved
        gx = gw = None
        if self.needs_input_grad[0]:
            gx = kernel("depthwise_conv2d_grad_input")(gy, w, x.shape, *self.geometry)
        if self.needs_input_grad[1]:
            gw = kernel("depthwise_conv2d_grad_filter")(x, gy, w.shape, *self.geometry)
        return gx, gw


def depthwise_conv2d(x, w, stride=(1, 1), padding=(0, 0)):
    """Differentiable depthwise convolution of Tensors (see :class:`DepthwiseConv2d`)."""
    return DepthwiseConv2d(stride, padding)(x, w)


def is_depthwise(input_shape, filter_shape, dilation, groups):
    """Whether a grouped convolution is a depthwise one: one input channel per group
    (``groups == C``, filters ``(C*M, 1, kh, kw)``) and no dilation."""
    channels, filters = input_shape[1], filter_shape[0]
    return (groups > 1 and groups == channels and filter_shape[1] == 1
            and filters % channels == 0 and tuple(dilation) == (1, 1))


__all__ = ["DepthwiseConv2d", "depthwise_conv2d", "is_depthwise"]
