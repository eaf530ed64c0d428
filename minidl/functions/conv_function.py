"""What the convolution Functions share (``Conv2d``, ``DepthwiseConv2d``, ``ConvOperator``).

Each maps an input ``x`` and its filters ``w`` to an output through three kernels of one
family, ``<kernels>_forward(x, w, *geometry)``, ``<kernels>_grad_input(gy, w, x.shape,
*geometry)`` and ``<kernels>_grad_filter(x, gy, w.shape, *geometry)``; a subclass names the
family and sets ``self.geometry`` (stride, padding, ...) in its ``__init__``.
"""

from ..backends import kernel
from ..core.tensor import Function


class ConvFunction(Function):
    """``y = conv(x, w)`` by the kernels ``<kernels>_*`` (see the module doc)."""

    #: the kernel family: ``conv2d``, ``depthwise_conv2d``, ``conv_operator``
    kernels = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # the ops' names, spelled once (not per call: one call per layer and batch)
        cls.ops = tuple(f"{cls.kernels}_{part}" for part in ("forward", "grad_input",
                                                              "grad_filter"))

    def forward(self, x, w):
        # Both inputs are needed back: x for the filter gradient, w for the input gradient.
        self.save_for_backward(x, w)
        return kernel(self.ops[0])(x, w, *self.geometry)

    def backward(self, gy):
        x, w = self.saved
        gx = gw = None
        if self.needs_input_grad[0]:  # False on a data layer: skip the input gradient
            gx = kernel(self.ops[1])(gy, w, x.shape, *self.geometry)
        if self.needs_input_grad[1]:
            gw = kernel(self.ops[2])(x, gy, w.shape, *self.geometry)
        return gx, gw


__all__ = ["ConvFunction"]
