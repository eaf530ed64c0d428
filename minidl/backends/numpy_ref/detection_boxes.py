"""Reference kernels of SSD box geometry: prior boxes, overlap (IoU), box encoding and
decoding against a prior, and non-maximum suppression.

Boxes are ``[xmin, ymin, xmax, ymax]`` in coordinates normalised by the image size (0..1).
A prior is 8 numbers: its box, then the 4 variances that scale its encoded offsets.
Notation: ``P`` priors, ``boxes: (B, 4)``, ``priors: (P, 8)``.

These run on the host in NumPy: the work is small, branchy and sequential (as it was in
Paddle, which copied these inputs to the CPU too).
"""

import math

import numpy as np

from ..registry import register


# --- prior boxes ---------------------------------------------------------------------------

def prior_shapes(min_size, max_size, aspect_ratio):
    """``(K, 2)`` widths and heights, in pixels, of the priors at one feature-map cell.

    In order: the ``min_size`` square; with a ``max_size``, the square of side
    ``floor(sqrt(min_size * max_size))`` (Paddle kept that side in an integer); then for each
    ratio ``r`` of ``aspect_ratio`` followed by each ``1 / r``, the box
    ``min_size * sqrt(r)`` wide and ``min_size / sqrt(r)`` high.
    """
    shapes = [(min_size, min_size)]
    if max_size is not None:
        side = math.isqrt(min_size * max_size)
        shapes.append((side, side))
    ratios = list(aspect_ratio) + [1.0 / r for r in aspect_ratio]
    shapes += [(min_size * math.sqrt(r), min_size / math.sqrt(r)) for r in ratios]
    return np.array(shapes, dtype=np.float64)


@register("priorbox")
def priorbox(map_hw, image_hw, min_size, max_size, aspect_ratio, variance):
    """The priors of an ``H x W`` feature map over an ``image_h x image_w`` image.

    Cell ``(h, w)`` is centred at ``((w + 0.5) * step_x, (h + 0.5) * step_y)`` pixels, with
    ``step = image size / map size``; each of its :func:`prior_shapes` ``(bw, bh)`` around that
    centre, divided by the image size and clipped to ``[0, 1]``, followed by ``variance``.
    Returns ``(1, H * W * K * 8)``: cells row by row, the K priors of a cell together.
    """
    (height, width), (image_h, image_w) = map_hw, image_hw
    shapes = prior_shapes(min_size, max_size, aspect_ratio)               # (K, 2)
    center_x = (np.arange(width) + 0.5) * (image_w / width)               # (W,)
    center_y = (np.arange(height) + 0.5) * (image_h / height)             # (H,)
    cx = center_x[None, :, None]                                          # (1, W, 1)
    cy = center_y[:, None, None]                                          # (H, 1, 1)
    half_w, half_h = shapes[:, 0] / 2, shapes[:, 1] / 2                   # (K,)
    boxes = np.stack(np.broadcast_arrays((cx - half_w) / image_w, (cy - half_h) / image_h,
                                         (cx + half_w) / image_w, (cy + half_h) / image_h),
                     axis=-1)                                             # (H, W, K, 4)
    boxes = np.clip(boxes, 0.0, 1.0)
    variances = np.broadcast_to(np.asarray(variance, dtype=np.float64), boxes.shape)
    return np.concatenate([boxes, variances], axis=-1).reshape(1, -1)


# --- overlap, encoding ---------------------------------------------------------------------

def box_area(boxes):
    """``(B, 4) -> (B,)``: width times height."""
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


@register("box_iou")
def box_iou(a, b):
    """Jaccard overlap of every box of ``a`` with every box of ``b``: ``(A, 4), (B, 4) ->
    (A, B)``, ``|a & b| / |a | b|``; 0 for boxes that do not overlap (or have no area)."""
    inter_w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    inter_h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(inter_w, 0, None) * np.clip(inter_h, 0, None)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    safe = np.where(union > 0, union, 1.0)
    return np.where(union > 0, inter / safe, 0.0)


def _centre_size(boxes):
    """``(B, 4)`` corners -> centre x, centre y, width, height (each ``(B,)``)."""
    width, height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return boxes[:, 0] + width / 2, boxes[:, 1] + height / 2, width, height


@register("encode_boxes")
def encode_boxes(priors, boxes):
    """Each box as offsets from its prior: ``priors: (B, 8), boxes: (B, 4) -> (B, 4)``::

        [(cx - pcx) / pw / v0, (cy - pcy) / ph / v1, log(w / pw) / v2, log(h / ph) / v3]

    with ``(cx, cy, w, h)`` the box's centre and size, ``(pcx, pcy, pw, ph)`` the prior's and
    ``v`` the prior's variances.
    """
    pcx, pcy, pw, ph = _centre_size(priors[:, :4])
    cx, cy, w, h = _centre_size(boxes)
    var = priors[:, 4:]
    return np.stack([(cx - pcx) / pw / var[:, 0], (cy - pcy) / ph / var[:, 1],
                     np.log(np.abs(w / pw)) / var[:, 2], np.log(np.abs(h / ph)) / var[:, 3]],
                    axis=1)


@register("decode_boxes")
def decode_boxes(priors, offsets):
    """The inverse of :func:`encode_boxes`: ``priors: (B, 8), offsets: (B, 4) -> (B, 4)``
    corners of the box centred at ``(pcx + v0 pw o0, pcy + v1 ph o1)`` with size
    ``(pw exp(v2 o2), ph exp(v3 o3))``."""
    pcx, pcy, pw, ph = _centre_size(priors[:, :4])
    var = priors[:, 4:]
    cx = var[:, 0] * offsets[:, 0] * pw + pcx
    cy = var[:, 1] * offsets[:, 1] * ph + pcy
    w = np.exp(var[:, 2] * offsets[:, 2]) * pw
    h = np.exp(var[:, 3] * offsets[:, 3]) * ph
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


# --- non-maximum suppression ---------------------------------------------------------------

@register("nms")
def nms(boxes, scores, score_threshold, nms_threshold, top_k):
    """Greedy non-maximum suppression: ``boxes: (B, 4), scores: (B,) -> kept indices``.

    The candidates are the boxes scoring above ``score_threshold``, best first (ties keep
    index order), the first ``top_k`` of them when ``top_k > 0``. Each candidate in turn is
    kept unless it overlaps a box kept before it by more than ``nms_threshold`` (IoU).
    Returns int64 indices into ``boxes``, in the order kept (best first).
    """
    candidates = np.flatnonzero(scores > score_threshold)
    candidates = candidates[np.argsort(-scores[candidates], kind="stable")]
    if top_k > 0:
        candidates = candidates[:top_k]
    kept = []
    for index in candidates:
        if not kept or box_iou(boxes[[index]], boxes[kept]).max() <= nms_threshold:
            kept.append(index)
    return np.array(kept, dtype=np.int64)
