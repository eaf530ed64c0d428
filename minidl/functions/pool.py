"""2-D max / average pooling as an autograd Function (kernels in ``numpy_ref/pool.py``)."""

from ..backends import kernel
from ..core.geometry import pool_output_size
from ..core.tensor import Function


class Pool2d(Function):
    """Max (``kind='max'``) or average (``kind='avg'``) pooling over ``(y, x)`` windows.

    Notation: ``x: (N, C, H, W)`` -> ``(N, C, OH, OW)``; ``ceil_mode`` picks Paddle's ceil
    (default) or floor output size, ``exclude_mode`` whether padding counts in an average.
    """

    def __init__(self, kind, window, stride, padding, exclude_mode=True, ceil_mode=True):
        if kind not in ("max", "avg"):
            raise ValueError(f"Pool2d: kind={kind!r}; expected 'max' or 'avg'")
        self.kind = kind
        self.window, self.stride, self.padding = tuple(window), tuple(stride), tuple(padding)
        self.exclude_mode, self.ceil_mode = bool(exclude_mode), bool(ceil_mode)

    def forward(self, x):
        self.input_shape = x.shape
        if self.kind == "max":
            self.save_for_backward(x)  # the argmax is recomputed from x in backward
        return kernel("pool2d_forward")(x, self.kind, self.window, self.stride, self.padding,
                                        self.exclude_mode, self.ceil_mode)

    def backward(self, gy):
        if self.kind == "max":
            (x,) = self.saved
            return kernel("max_pool2d_grad_input")(x, gy, self.window, self.stride,
                                                   self.padding, self.ceil_mode)
        # An average needs no values back, only the geometry.
        return kernel("avg_pool2d_grad_input")(gy, self.input_shape, self.window, self.stride,
                                               self.padding, self.exclude_mode, self.ceil_mode)


def pool2d(x, kind, window, stride, padding=(0, 0), exclude_mode=True, ceil_mode=True):
    """Differentiable 2-D pooling of a Tensor (see :class:`Pool2d`)."""
    return Pool2d(kind, window, stride, padding, exclude_mode, ceil_mode)(x)


__all__ = ["Pool2d", "pool2d", "pool_output_size"]
