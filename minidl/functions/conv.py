"""2-D convolution as an autograd Function (kernels: ``conv2d_forward`` / ``_grad_input`` /
``_grad_filter``). The bias is a separate broadcast add (see ``layers/conv.py``)."""

from ..core.geometry import conv_output_size
from .conv_function import ConvFunction
from .depthwise import depthwise_conv2d, is_depthwise


class Conv2d(ConvFunction):
    """``y = conv(x, w)``; stride, padding and dilation are ``(y, x)`` pairs.

    Notation: ``x: (N, C, H, W)``, ``w: (F, C/groups, kh, kw)`` -> ``(N, F, OH, OW)``.
    """

    kernels = "conv2d"

    def __init__(self, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
        self.geometry = (tuple(stride), tuple(padding), tuple(dilation), int(groups))


def conv2d(x, w, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """Differentiable 2-D convolution of Tensors (see :class:`Conv2d`).

    A depthwise convolution (``groups == C``, one input channel per group, no dilation)
    runs the depthwise kernels instead of im2col: same result, far less work.
    """
    if is_depthwise(x.shape, w.shape, dilation, groups):
        return depthwise_conv2d(x, w, stride, padding)
    return Conv2d(stride, padding, dilation, groups)(x, w)


__all__ = ["Conv2d", "conv2d", "conv_output_size"]
