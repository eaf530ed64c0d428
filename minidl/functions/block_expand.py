"""Block expansion as an autograd Function (kernels in ``backends/numpy_ref/block_expand.py``).

Notation: ``x: (N, C, H, W)`` -> ``(N * OH * OW, C * by * bx)``, one block per row.
"""

from ..backends import kernel
from ..backends.numpy_ref.block_expand import block_counts  # importing registers the kernels
from ..core.tensor import Function


class BlockExpand(Function):
    """The blocks of each image as rows (``block``, ``stride``, ``padding``: ``(y, x)``)."""

    def __init__(self, block, stride, padding):
        self.geometry = (tuple(block), tuple(stride), tuple(padding))

    def forward(self, x):
        self.input_shape = x.shape
        return kernel("block_expand_forward")(x, *self.geometry)

    def backward(self, gy):
        return kernel("block_expand_backward")(gy, self.input_shape, *self.geometry)


def block_expand(x, block, stride, padding):
    return BlockExpand(block, stride, padding)(x)


__all__ = ["BlockExpand", "block_counts", "block_expand"]
