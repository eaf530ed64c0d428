"""``detection_output``: the SSD detections of a batch."""

from ..core.tensor import Tensor
from ..functions.detection import detection_output as detection_output_fn
from .base import Layer, default_name
from .detection_inputs import (check_classes, check_int, check_real, prediction_maps,
                               read_maps, read_priors)


class DetectionOutputLayer(Layer):
    """Paddle's ``detection_output``: decode every prior's predicted box, run non-maximum
    suppression class by class, keep each image's best boxes.

    Inputs, in v2's order: ``[priorbox, *input_loc, *input_conf]``. Per image and
    non-background class, the boxes scoring (softmax of the conf maps) above
    ``confidence_threshold`` go through NMS: the ``nms_top_k`` best (0: all) are visited best
    first and a box overlapping a kept one by more than ``nms_threshold`` is dropped. Of
    what survives in all classes, an image keeps its ``keep_top_k`` best.

    Output: ``(K, 7)`` rows ``[image_id, label, score, xmin, ymin, xmax, ymax]`` (boxes
    clipped to [0, 1]), images in order, then classes in order, best first -- K varies with
    the batch and may be 0. ``size`` is ``keep_top_k * 7``, as v2 declares it. Not
    differentiable.
    """

    type = "detection_output"
    accepts_sequences = False
    per_timestep = False

    def __init__(self, input_loc, input_conf, priorbox, num_classes, nms_threshold=0.45,
                 nms_top_k=400, keep_top_k=200, confidence_threshold=0.01, background_id=0,
                 name=None):
        name = name or default_name("detection_output")
        num_classes, background_id = check_classes(num_classes, background_id, name)
        self.nms_threshold = check_real(nms_threshold, "nms_threshold", name, 0, 1)
        self.confidence_threshold = check_real(confidence_threshold, "confidence_threshold",
                                               name, 0, 1)
        self.nms_top_k = check_int(nms_top_k, "nms_top_k", name, 0)
        self.keep_top_k = check_int(keep_top_k, "keep_top_k", name, 1)
        locs, confs, num_priors = prediction_maps(input_loc, input_conf, priorbox, num_classes,
                                                  name, self.type)
        super().__init__(name, [priorbox, *locs, *confs], self.keep_top_k * 7)
        self.num_classes, self.background_id = num_classes, background_id
        self.locs, self.confs, self.num_priors = locs, confs, num_priors

    def forward(self, ctx, xs):
        priors = read_priors(xs[0], self)
        loc, conf = read_maps(xs[1:], self)
        return Tensor(detection_output_fn(loc.data, conf.data, priors, self.num_classes,
                                          self.background_id, self.confidence_threshold,
                                          self.nms_threshold, self.nms_top_k, self.keep_top_k))


def detection_output(input_loc, input_conf, priorbox, num_classes, nms_threshold=0.45,
                     nms_top_k=400, keep_top_k=200, confidence_threshold=0.01, background_id=0,
                     name=None):
    """v2's ``paddle.layer.detection_output`` (``detection_output_layer``)."""
    return DetectionOutputLayer(input_loc, input_conf, priorbox, num_classes, nms_threshold,
                                nms_top_k, keep_top_k, confidence_threshold, background_id, name)
