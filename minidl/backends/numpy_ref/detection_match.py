"""Reference kernels of the SSD multibox loss: matching priors to ground-truth boxes, hard
negative mining, and the loss with its gradient.

Notation: ``N`` images, ``P`` priors, ``C`` classes, ``R`` ground-truth boxes in the batch.
``loc: (N, P, 4)`` predicted offsets and ``conf: (N, P, C)`` class scores (logits), both in
prior order; ``priors: (P, 8)`` (box, variances); ``labels: (R, 6)`` rows
``[class, xmin, ymin, xmax, ymax, difficult]``, image ``n`` owning rows
``starts[n]:starts[n + 1]``.

The matching is a function of the boxes and of ``conf`` (through the mining) but has no
gradient: the loss is differentiated with the matching held fixed.
"""

import numpy as np

from ..registry import register
from .detection_boxes import box_iou, encode_boxes

#: overlaps at or below this count as none (they take no part in matching)
MIN_OVERLAP = 1e-6


# --- matching ------------------------------------------------------------------------------

def match_priors(prior_boxes, gt_boxes, overlap_threshold):
    """Match priors to ground-truth boxes: ``(P, 4), (G, 4) -> (match (P,), overlap (P,))``.

    ``match[i]`` is the box prior ``i`` is matched to, or -1. Two rounds:

    1. bipartite: repeatedly the largest overlap between a free prior and a box not yet
       matched pairs them (ties: lowest prior, then lowest box), so every box that overlaps
       some prior gets at least one;
    2. per prediction: every prior still free takes the box it overlaps most (lowest on
       ties) when that overlap is at least ``overlap_threshold``.

    ``overlap[i]`` is the overlap with the matched box, or for a free prior the largest
    overlap with any box (0 for none); hard negative mining reads it.
    """
    iou = box_iou(prior_boxes, gt_boxes)
    iou = np.where(iou > MIN_OVERLAP, iou, 0.0)
    match = np.full(len(prior_boxes), -1, dtype=np.int64)
    overlap = iou.max(axis=1, initial=0.0)

    free = iou.copy()                     # pairs still available to the bipartite round
    for _ in range(len(gt_boxes)):
        prior, box = np.unravel_index(np.argmax(free), free.shape)
        if free[prior, box] <= 0:
            break
        match[prior], overlap[prior] = box, iou[prior, box]
        free[prior, :] = 0
        free[:, box] = 0

    for prior in np.flatnonzero(match == -1):
        if len(gt_boxes) == 0:
            break
        box = int(np.argmax(iou[prior]))
        best = iou[prior, box]
        if best > 0 and best >= overlap_threshold:
            match[prior] = box
    return match, overlap


@register("max_positive_scores")
def max_positive_scores(conf, background_id):
    """``(P, C) -> (P,)``: the softmax probability of each prior's best non-background class
    (how confidently it claims an object; the mining ranks negatives by it)."""
    shifted = np.exp(conf - conf.max(axis=1, keepdims=True))
    foreground = np.delete(shifted, background_id, axis=1)
    return foreground.max(axis=1) / shifted.sum(axis=1)


def mine_negatives(match, overlap, scores, num_negatives, neg_overlap):
    """Indices of the hard negatives: among the free priors (``match == -1``) whose largest
    overlap is below ``neg_overlap``, the ``num_negatives`` with the highest ``scores``
    (ties: lowest index first)."""
    candidates = np.flatnonzero((match == -1) & (overlap < neg_overlap))
    ranked = candidates[np.argsort(-scores[candidates], kind="stable")]
    return ranked[:num_negatives]


@register("multibox_match")
def multibox_match(conf, priors, labels, starts, overlap_threshold, neg_pos_ratio,
                   neg_overlap, background_id):
    """Match and mine every image: ``-> (match (N, P) int64, negative (N, P) bool)``.

    ``match[n, i]`` is the row of ``labels`` prior ``i`` of image ``n`` is matched to (-1:
    none); ``negative[n, i]`` marks the mined negatives. An image with ``m`` matches gets
    ``min(m * floor(neg_pos_ratio), candidates)`` negatives -- Paddle passed the ratio on
    as a whole number.
    """
    num_images, num_priors = conf.shape[0], priors.shape[0]
    match = np.full((num_images, num_priors), -1, dtype=np.int64)
    negative = np.zeros((num_images, num_priors), dtype=bool)
    for n in range(num_images):
        first, last = int(starts[n]), int(starts[n + 1])
        if last == first:
            continue
        found, overlap = match_priors(priors[:, :4], labels[first:last, 1:5], overlap_threshold)
        num_positive = int((found >= 0).sum())
        scores = max_positive_scores(conf[n], background_id)
        mined = mine_negatives(found, overlap, scores, num_positive * int(neg_pos_ratio),
                               neg_overlap)
        match[n] = np.where(found >= 0, found + first, -1)
        negative[n, mined] = True
    return match, negative


# --- the loss ------------------------------------------------------------------------------

def _targets(priors, labels, match, negative, background_id):
    """What the loss compares against, for a fixed matching.

    Returns ``positive (N, P) bool``, the encoded boxes of the matches ``(M, 4)`` (in
    ``positive``'s row-major order), ``scored (N, P) bool`` (positives and negatives) and the
    class each scored prior should predict ``(S,)``.
    """
    positive = match >= 0
    prior_index = np.nonzero(positive)[1]
    encoded = encode_boxes(priors[prior_index], labels[match[positive], 1:5])
    scored = positive | negative
    classes = np.full(match.shape, background_id, dtype=np.int64)
    classes[positive] = labels[match[positive], 0]
    return positive, encoded, scored, classes[scored]


def _log_softmax(x):
    shifted = x - x.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@register("multibox_loss_forward")
def multibox_loss_forward(loc, conf, priors, labels, match, negative, background_id):
    """The SSD loss of a batch for a fixed matching, a scalar::

        L = (sum over matched priors of smooth_l1(loc - encode(prior, box))
             + sum over matched and mined priors of -log softmax(conf)[class]) / M

    ``smooth_l1(d) = sum_k (0.5 d_k^2 if |d_k| < 1 else |d_k| - 0.5)``, ``M`` the number of
    matched priors in the batch (L = 0 when M = 0); a mined negative's class is
    ``background_id``.
    """
    positive, encoded, scored, classes = _targets(priors, labels, match, negative,
                                                  background_id)
    num_matched = int(positive.sum())
    if num_matched == 0:
        return np.zeros((), dtype=loc.dtype)
    diff = np.abs(loc[positive] - encoded)
    loc_loss = np.where(diff < 1, 0.5 * diff * diff, diff - 0.5).sum()
    log_prob = _log_softmax(conf[scored])
    conf_loss = -log_prob[np.arange(len(classes)), classes].sum()
    return np.asarray((loc_loss + conf_loss) / num_matched, dtype=loc.dtype)


@register("multibox_loss_backward")
def multibox_loss_backward(loc, conf, priors, labels, match, negative, background_id, gy):
    """``(gloc, gconf)`` of :func:`multibox_loss_forward` times the scalar ``gy``::

        gloc[matched]  = gy / M * (d if |d| < 1 else sign(d)),   d = loc - encode(prior, box)
        gconf[scored]  = gy / M * (softmax(conf) - onehot(class))

    and zero elsewhere.
    """
    positive, encoded, scored, classes = _targets(priors, labels, match, negative,
                                                  background_id)
    gloc, gconf = np.zeros_like(loc), np.zeros_like(conf)
    num_matched = int(positive.sum())
    if num_matched == 0:
        return gloc, gconf
    scale = float(gy) / num_matched
    diff = loc[positive] - encoded
    gloc[positive] = scale * np.where(np.abs(diff) < 1, diff, np.sign(diff))
    prob = np.exp(_log_softmax(conf[scored]))
    prob[np.arange(len(classes)), classes] -= 1
    gconf[scored] = scale * prob
    return gloc, gconf
