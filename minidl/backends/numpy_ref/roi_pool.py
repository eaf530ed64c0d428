"""Reference region-of-interest max pooling (Fast R-CNN's ``roi_pool``).

Notation: ``x: (N, C, H, W)`` feature maps, ``rois: (R, K)`` with ``K >= 5`` and each row
``(batch index, x1, y1, x2, y2)`` in image coordinates -> ``y: (R, C, PH, PW)``.

A box is scaled to the feature map by ``spatial_scale`` and rounded (halves away from
zero): columns ``x1' ... x2'`` and rows ``y1' ... y2'`` inclusive, at least one cell each.
Its ``PH x PW`` bins split it evenly: bin ``(i, j)`` covers rows
``[y1' + floor(i * h / PH), y1' + ceil((i + 1) * h / PH))`` (``h = y2' - y1' + 1``) and the
matching columns, clipped to the map. Each output is the maximum of its bin; an empty bin
gives 0 and passes no gradient. On ties the first cell in row-major order takes the
gradient.
"""

import math

from ...core.xp import as_numpy, get_array_module
from ..registry import register


def _round(value):
    """C's ``round``: halves away from zero."""
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def _spans(start, end, pooled, limit):
    """``[(lo, hi), ...]`` for the ``pooled`` bins of cells ``start ... end`` (inclusive)."""
    size = max(end - start + 1, 1)
    step = size / pooled
    spans = []
    for i in range(pooled):
        lo = min(max(math.floor(i * step) + start, 0), limit)
        hi = min(max(math.ceil((i + 1) * step) + start, 0), limit)
        spans.append((lo, hi))
    return spans


def roi_bins(rois, pooled_hw, spatial_scale, input_shape):
    """Per box: ``(batch index, row spans, column spans)``; a bad batch index raises."""
    n, _, h, w = input_shape
    boxes = []
    for r, roi in enumerate(as_numpy(rois)):
        b = int(roi[0])
        if not 0 <= b < n:
            raise ValueError(f"roi_pool: box {r} names image {float(roi[0]):g}; the batch "
                             f"holds {n} images (expected an index in [0, {n}))")
        x1, y1, x2, y2 = (_round(float(v) * spatial_scale) for v in roi[1:5])
        boxes.append((b, _spans(y1, y2, pooled_hw[0], h), _spans(x1, x2, pooled_hw[1], w)))
    return boxes


@register("roi_pool_forward")
def roi_pool_forward(x, rois, pooled_hw, spatial_scale):
    """Max over each bin of each box: ``(N, C, H, W), (R, K)`` -> ``(R, C, PH, PW)``."""
    xp = get_array_module(x)
    y = xp.zeros((len(rois), x.shape[1]) + tuple(pooled_hw), dtype=x.dtype)
    for r, (b, rows, cols) in enumerate(roi_bins(rois, pooled_hw, spatial_scale, x.shape)):
        for i, (h0, h1) in enumerate(rows):
            for j, (w0, w1) in enumerate(cols):
                if h1 > h0 and w1 > w0:
                    y[r, :, i, j] = x[b, :, h0:h1, w0:w1].max(axis=(1, 2))
    return y


@register("roi_pool_backward")
def roi_pool_backward(x, rois, gy, pooled_hw, spatial_scale):
    """Each output's gradient to the cell of its bin holding the maximum.

    Notation: ``x: (N, C, H, W)``, ``gy: (R, C, PH, PW)`` -> ``(N, C, H, W)``.
    """
    xp = get_array_module(x, gy)
    gx = xp.zeros(x.shape, dtype=gy.dtype)
    channels = xp.arange(x.shape[1])
    for r, (b, rows, cols) in enumerate(roi_bins(rois, pooled_hw, spatial_scale, x.shape)):
        for i, (h0, h1) in enumerate(rows):
            for j, (w0, w1) in enumerate(cols):
                if h1 > h0 and w1 > w0:
                    cells = x[b, :, h0:h1, w0:w1].reshape(x.shape[1], -1)
                    where = cells.argmax(axis=1)        # one cell per channel: no repeats
                    gx[b, channels, h0 + where // (w1 - w0), w0 + where % (w1 - w0)] += \
                        gy[r, :, i, j]
    return gx
