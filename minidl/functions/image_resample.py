"""Pad, rotate and bilinear resize of images as autograd Functions (kernels in
``backends/numpy_ref/image_resample.py``). Each is linear, so backward needs only shapes.

Notation: ``x: (N, C, H, W)``.
"""

from ..backends import kernel
from ..backends.numpy_ref import image_resample as _kernels  # noqa: F401  registers them
from ..core.tensor import Function


class Pad(Function):
    """Zeros around: ``(N, C, H, W)`` -> ``(N, C + c0 + c1, H + h0 + h1, W + w0 + w1)``."""

    def __init__(self, pad_c, pad_h, pad_w):
        self.pads = (tuple(pad_c), tuple(pad_h), tuple(pad_w))

    def forward(self, x):
        self.input_shape = x.shape
        return kernel("image_pad_forward")(x, *self.pads)

    def backward(self, gy):
        return kernel("image_pad_backward")(gy, self.input_shape, *self.pads)


class Rotate(Function):
    """Each channel a quarter turn clockwise: ``(N, C, H, W)`` -> ``(N, C, W, H)``."""

    def forward(self, x):
        return kernel("image_rotate_forward")(x)

    def backward(self, gy):
        return kernel("image_rotate_backward")(gy)


class BilinearInterp(Function):
    """Bilinear resize, corners aligned: ``(N, C, H, W)`` -> ``(N, C, OH, OW)``."""

    def __init__(self, out_hw):
        self.out_hw = tuple(out_hw)

    def forward(self, x):
        self.input_shape = x.shape
        return kernel("bilinear_interp_forward")(x, self.out_hw)

    def backward(self, gy):
        return kernel("bilinear_interp_backward")(gy, self.input_shape)


def pad(x, pad_c, pad_h, pad_w):
    return Pad(pad_c, pad_h, pad_w)(x)


def rotate(x):
    return Rotate()(x)


def bilinear_interp(x, out_hw):
    return BilinearInterp(out_hw)(x)


__all__ = ["BilinearInterp", "Pad", "Rotate", "bilinear_interp", "pad", "rotate"]
