"""Reference kernel of SSD detection output: decode every prediction, suppress overlaps
class by class, keep the best boxes of each image.

Notation: ``N`` images, ``P`` priors, ``C`` classes; ``loc: (N, P, 4)`` predicted offsets,
``conf: (N, P, C)`` class scores (logits), ``priors: (P, 8)``.
"""

import numpy as np

from ..registry import register
from .detection_boxes import decode_boxes, nms


def _softmax(x):
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def detect_image(boxes, prob, background_id, confidence_threshold, nms_threshold, nms_top_k,
                 keep_top_k):
    """The detections of one image: ``boxes: (P, 4), prob: (P, C) -> [(class, prior), ...]``.

    Every class but the background runs :func:`~.detection_boxes.nms` on its own scores;
    when more than ``keep_top_k`` boxes survive (``keep_top_k > 0``), only the
    ``keep_top_k`` best scores of all classes stay. Ordered by class, then as NMS kept them
    (best first).
    """
    kept = {c: nms(boxes, prob[:, c], confidence_threshold, nms_threshold, nms_top_k)
            for c in range(prob.shape[1]) if c != background_id}
    found = [(c, int(i)) for c in sorted(kept) for i in kept[c]]
    if 0 < keep_top_k < len(found):
        scores = np.array([prob[i, c] for c, i in found])
        best = np.argsort(-scores, kind="stable")[:keep_top_k]
        # back in class order, each class's boxes best first
        found = sorted((found[j] for j in best), key=lambda ci: (ci[0], -prob[ci[1], ci[0]]))
    return found


@register("detection_output")
def detection_output(loc, conf, priors, background_id, confidence_threshold, nms_threshold,
                     nms_top_k, keep_top_k):
    """All detections of the batch: ``(K, 7)`` rows
    ``[image, class, score, xmin, ymin, xmax, ymax]``.

    Scores are the softmax of ``conf`` over the classes; boxes are the priors moved by
    ``loc`` (:func:`~.detection_boxes.decode_boxes`), clipped to ``[0, 1]`` in the output
    (NMS compares them unclipped). Images in order, each as :func:`detect_image` lists it;
    ``K`` may be 0.
    """
    prob = _softmax(conf)
    rows = []
    for n in range(loc.shape[0]):
        boxes = decode_boxes(priors, loc[n])
        for c, i in detect_image(boxes, prob[n], background_id, confidence_threshold,
                                 nms_threshold, nms_top_k, keep_top_k):
            rows.append([n, c, prob[n, i, c], *np.clip(boxes[i], 0.0, 1.0)])
    return np.array(rows, dtype=loc.dtype).reshape(len(rows), 7)
