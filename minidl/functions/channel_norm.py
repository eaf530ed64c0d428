"""Cross-channel normalisation as an autograd Function (kernels in
``backends/numpy_ref/channel_norm.py``): ``x: (N, C, S)``, ``scale: (C,)`` -> ``(N, C, S)``."""

from ..backends import kernel
from ..backends.numpy_ref import channel_norm as _kernels  # noqa: F401  registers them
from ..core.tensor import Function


class CrossChannelNorm(Function):
    """``y[n, c, s] = scale[c] * x[n, c, s] / |x[n, :, s]|``."""

    def forward(self, x, scale):
        self.save_for_backward(x, scale)
        return kernel("cross_channel_norm_forward")(x, scale)

    def backward(self, gy):
        x, scale = self.saved
        gx, gscale = kernel("cross_channel_norm_backward")(x, scale, gy)
        return (gx if self.needs_input_grad[0] else None,
                gscale if self.needs_input_grad[1] else None)


def cross_channel_norm(x, scale):
    return CrossChannelNorm()(x, scale)


__all__ = ["CrossChannelNorm", "cross_channel_norm"]
