"""Column ranges of each row, side by side, as an autograd Function (kernels in
``backends/numpy_ref/column_slices.py``)."""

from ..backends import kernel
from ..backends.numpy_ref import column_slices as _kernels  # noqa: F401  registers them
from ..core.tensor import Function


class ColumnSlices(Function):
    """``x: (N, D) -> (N, sum of end - begin)``: ``x[:, begin:end]`` for each of ``ranges``,
    concatenated. Backward needs only the ranges and ``D``."""

    def __init__(self, ranges):
        self.ranges = tuple((int(begin), int(end)) for begin, end in ranges)

    def forward(self, x):
        self.width = x.shape[1]
        return kernel("column_slices_forward")(x, self.ranges)

    def backward(self, gy):
        return kernel("column_slices_backward")(gy, self.ranges, self.width)


def column_slices(x, ranges):
    return ColumnSlices(ranges)(x)
