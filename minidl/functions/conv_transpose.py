"""2-D transposed convolution ("deconvolution", Paddle's ``exconvt``) as an autograd
Function, built from the convolution kernels it is the adjoint of.

A convolution with filters ``w: (C, F/groups, kh, kw)`` maps an image of ``F`` channels
and size ``(OH, OW)`` to one of ``C`` channels and size ``(H, W)``. Its transpose goes the
other way, ``(N, C, H, W) -> (N, F, OH, OW)``: each input value scatters ``w``'s taps into
the output. So the transpose's forward is the convolution's input gradient, its input
gradient is the convolution's forward, and its filter gradient the convolution's filter
gradient with the roles of input and output swapped -- no kernel of its own.
"""

from ..backends import kernel
from ..core.geometry import transposed_conv_output_size
from ..core.tensor import Function


class ConvTranspose2d(Function):
    """``y = conv_transpose(x, w)``; stride, padding and dilation are ``(y, x)`` pairs.

    Notation: ``x: (N, C, H, W)``, ``w: (C, F/groups, kh, kw)`` -> ``(N, F, OH, OW)``, with
    ``OH = (H - 1) * stride - 2 * padding + (kh - 1) * dilation + 1`` (and so for OW).
    """

    def __init__(self, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
        self.geometry = (tuple(stride), tuple(padding), tuple(dilation), int(groups))

    def forward(self, x, w):
        self.save_for_backward(x, w)
        (sy, sx), (py, px), (dy, dx), groups = self.geometry
        n, _, h, wd = x.shape
        out = (n, w.shape[1] * groups,
               transposed_conv_output_size(h, w.shape[2], sy, py, dy),
               transposed_conv_output_size(wd, w.shape[3], sx, px, dx))
        return kernel("conv2d_grad_input")(x, w, out, *self.geometry)

    def backward(self, gy):
        x, w = self.saved
        gx = gw = None
        if self.needs_input_grad[0]:
            gx = kernel("conv2d_forward")(gy, w, *self.geometry)
        if self.needs_input_grad[1]:   # the convolution's filter gradient, input gy
            gw = kernel("conv2d_grad_filter")(gy, x, w.shape, *self.geometry)
        return gx, gw


def conv_transpose2d(x, w, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """Differentiable 2-D transposed convolution of Tensors (see :class:`ConvTranspose2d`)."""
    return ConvTranspose2d(stride, padding, dilation, groups)(x, w)


__all__ = ["ConvTranspose2d", "conv_transpose2d"]
