"""``multibox_loss``: the SSD training cost."""

import numpy as np

from ..core.xp import as_numpy
from ..functions.detection import batch_cost, multibox_loss as multibox_loss_fn, multibox_match
from .base import SEQUENCE_LEVELS, Layer, default_name
from .detection_inputs import (check_classes, check_real, prediction_maps, read_maps,
                               read_priors)
from .sequence import _layout_of

#: numbers per ground-truth box: class, xmin, ymin, xmax, ymax, difficult
LABEL_SIZE = 6


class MultiBoxLossLayer(Layer):
    """Paddle's ``multibox_loss``: matches the priors to each image's ground-truth boxes,
    mines hard negatives, and scores the predictions against them.

    Inputs, in v2's order: ``[priorbox, label, *input_loc, *input_conf]``. ``label`` is a
    ``dense_vector_sequence(6)``: one sequence per image, one row ``[class, xmin, ymin, xmax,
    ymax, difficult]`` per box (coordinates normalised to the image).

    Matching (``numpy_ref.detection_match``): bipartite, then every prior overlapping a box
    by at least ``overlap_threshold``. Negatives: the free priors overlapping no box by
    ``neg_overlap`` or more that most confidently claim an object, ``floor(neg_pos_ratio)``
    per match. The cost ``L`` is smooth-L1 on the matches' encoded boxes plus softmax
    cross-entropy on matches and negatives, over the number of matches in the batch.

    Output ``(N, 1)``: every image reports ``L``; the gradient flows to the loc and conf
    inputs with the matching held fixed, and is the gradient of ``L`` itself (see
    ``minidl.functions.detection.BatchCost``), as in Paddle.
    """

    type = "multibox_loss"
    per_timestep = False

    def __init__(self, input_loc, input_conf, priorbox, label, num_classes,
                 overlap_threshold=0.5, neg_pos_ratio=3.0, neg_overlap=0.5, background_id=0,
                 name=None):
        name = name or default_name("multibox_loss")
        num_classes, background_id = check_classes(num_classes, background_id, name)
        self.overlap_threshold = check_real(overlap_threshold, "overlap_threshold", name, 0, 1)
        self.neg_overlap = check_real(neg_overlap, "neg_overlap", name, 0, 1)
        self.neg_pos_ratio = check_real(neg_pos_ratio, "neg_pos_ratio", name, 0)
        locs, confs, num_priors = prediction_maps(input_loc, input_conf, priorbox, num_classes,
                                                  name, self.type)
        if not isinstance(label, Layer):
            raise ValueError(f"layer {name}: label must be a layer, got {label!r}")
        if label.size != LABEL_SIZE or label.seq_level != 1:
            raise ValueError(f"layer {name}: label {label.name} must be a sequence of boxes of "
                             f"size {LABEL_SIZE} (dense_vector_sequence({LABEL_SIZE}): class, "
                             "xmin, ymin, xmax, ymax, difficult); got a "
                             f"{SEQUENCE_LEVELS[label.seq_level]} of size {label.size}")
        super().__init__(name, [priorbox, label, *locs, *confs], 1)
        self.seq_level = 0      # one cost per image
        self.num_classes, self.background_id = num_classes, background_id
        self.locs, self.confs, self.num_priors = locs, confs, num_priors
        self.evaluators = []

    def _labels(self, x, images):
        """The label rows ``(R, 6)`` and their sequence starts, checked against the batch."""
        layout = _layout_of(x, self.inputs[1], self)
        if layout.num_sequences != images:
            raise ValueError(f"layer {self.name}: label {self.inputs[1].name} holds "
                             f"{layout.num_sequences} sequences for {images} images; expected "
                             "one sequence of boxes per image")
        labels = x.data.reshape(-1, LABEL_SIZE)
        classes = as_numpy(labels[:, 0])
        if classes.size and ((classes != np.round(classes)).any() or classes.min() < 0 or
                             classes.max() >= self.num_classes):
            raise ValueError(f"layer {self.name}: label classes must be integers in "
                             f"[0, {self.num_classes}), got {sorted(set(classes.tolist()))}")
        return labels, layout.starts

    def forward(self, ctx, xs):
        priors = read_priors(xs[0], self)
        loc, conf = read_maps(xs[2:], self)
        labels, starts = self._labels(xs[1], loc.shape[0])
        match, negative = multibox_match(conf.data, priors, labels, starts, self.num_classes,
                                         self.overlap_threshold, self.neg_pos_ratio,
                                         self.neg_overlap, self.background_id)
        loss = multibox_loss_fn(loc, conf, priors, labels, match, negative, self.num_classes,
                                self.background_id)
        return batch_cost(loss, loc.shape[0])


def multibox_loss(input_loc, input_conf, priorbox, label, num_classes, overlap_threshold=0.5,
                  neg_pos_ratio=3.0, neg_overlap=0.5, background_id=0, name=None):
    """v2's ``paddle.layer.multibox_loss`` (``multibox_loss_layer``)."""
    return MultiBoxLossLayer(input_loc, input_conf, priorbox, label, num_classes,
                             overlap_threshold, neg_pos_ratio, neg_overlap, background_id, name)
