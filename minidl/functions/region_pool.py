"""Pooling over regions other than a sliding window: ``maxout`` (over channel groups),
``roi_pool`` (over the bins of boxes) and ``spp`` (a pyramid of whole-image grids). Kernels
in ``backends/numpy_ref/maxout.py`` and ``roi_pool.py``; spp runs ``pool2d`` per level.
"""

import math

from ..backends import kernel
from ..backends.numpy_ref import maxout as _maxout, roi_pool as _roi  # noqa: F401  registers
from ..core.geometry import conv_output_size
from ..core.tensor import Function
from .basic import reshape
from .misc import concat_features
from .pool import pool2d


class Maxout(Function):
    """Max over groups of consecutive channels: ``(N, C, H, W)`` -> ``(N, C/G, H, W)``."""

    def __init__(self, groups):
        self.groups = int(groups)

    def forward(self, x):
        self.save_for_backward(x)  # the winners are recomputed from x
        return kernel("maxout_forward")(x, self.groups)

    def backward(self, gy):
        (x,) = self.saved
        return kernel("maxout_backward")(x, gy, self.groups)


class RoiPool(Function):
    """Max over the ``PH x PW`` bins of each box: ``x: (N, C, H, W)``, ``rois: (R, K)`` ->
    ``(R, C, PH, PW)``. The boxes get no gradient (their coordinates are rounded)."""

    def __init__(self, pooled_hw, spatial_scale):
        self.pooled_hw, self.spatial_scale = tuple(pooled_hw), float(spatial_scale)

    def forward(self, x, rois):
        self.save_for_backward(x, rois)
        return kernel("roi_pool_forward")(x, rois, self.pooled_hw, self.spatial_scale)

    def backward(self, gy):
        x, rois = self.saved
        gx = None
        if self.needs_input_grad[0]:
            gx = kernel("roi_pool_backward")(x, rois, gy, self.pooled_hw, self.spatial_scale)
        return gx, None


def spp_level(image_hw, level):
    """Pooling geometry of pyramid level ``level`` (``2^level`` bins a side):
    ``(window, stride, padding, (OH, OW))``, pairs ``(y, x)``.

    The window is ``ceil(size / bins)``, the stride the window, the padding
    ``(window * bins - size + 1) // 2``; the output size is the floor count of windows,
    which is ``bins`` for most sizes (the spp layer refuses the others).
    """
    bins = 2 ** level
    window = tuple(math.ceil(size / bins) for size in image_hw)
    padding = tuple((k * bins - size + 1) // 2 for k, size in zip(window, image_hw))
    out = tuple(conv_output_size(size, k, k, p) for size, k, p in zip(image_hw, window, padding))
    return window, window, padding, out


def spp(x, kind, pyramid_height):
    """Spatial pyramid pooling: ``(N, C, H, W)`` -> ``(N, C * (4^L - 1) / 3)``, the levels
    side by side, level ``l`` a ``(C, 2^l, 2^l)`` image flattened."""
    levels = []
    for level in range(pyramid_height):
        window, stride, padding, _ = spp_level(x.shape[2:], level)
        y = pool2d(x, kind, window, stride, padding, exclude_mode=True, ceil_mode=False)
        levels.append(reshape(y, (y.shape[0], -1)))
    return levels[0] if len(levels) == 1 else concat_features(levels)


def maxout(x, groups):
    return Maxout(groups)(x)


def roi_pool(x, rois, pooled_hw, spatial_scale):
    return RoiPool(pooled_hw, spatial_scale)(x, rois)


__all__ = ["Maxout", "RoiPool", "maxout", "roi_pool", "spp", "spp_level"]
