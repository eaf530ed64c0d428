"""SSD detection as Functions (kernels in ``backends/numpy_ref/detection_*.py``).

* :func:`prior_major` -- the loc/conf prediction maps of an image, from channel-major
  ``(C, H, W)`` rows to one row per image listing each prior's numbers together;
* :func:`multibox_loss` -- the SSD loss for a fixed matching, and :func:`batch_cost`,
  which hands the batch's loss to every image;
* :func:`priorbox`, :func:`multibox_match`, :func:`detection_output` -- no gradient: arrays
  in, arrays out.

The matching and detection kernels run on the host; these functions move arrays there and
back.
"""

import numpy as np

from ..backends import kernel
# importing the kernel modules registers their kernels
from ..backends.numpy_ref import detection_boxes as _boxes  # noqa: F401
from ..backends.numpy_ref import detection_match as _match  # noqa: F401
from ..backends.numpy_ref import detection_output as _output  # noqa: F401
from ..core import config
from ..core.tensor import Function
from ..core.xp import as_numpy, get_array_module


class PriorMajor(Function):
    """Prediction maps side by side, each prior's numbers together.

    Notation: ``x_k: (N, C_k * H_k * W_k)`` channel-major images, ``C_k = A_k * D`` (``A_k``
    priors per cell, ``D`` numbers per prior) -> ``(N, sum_k H_k W_k C_k)``: for each map
    in turn, cell by cell, the ``C_k`` channels of the cell -- so prior ``i`` (numbered map
    by map, cell by cell) owns columns ``i*D : (i+1)*D``. Pure data movement.
    """

    def __init__(self, channels):
        #: ``C_k`` of each input
        self.channels = list(channels)

    def forward(self, *xs):
        xp = get_array_module(xs[0])
        self.shapes = [x.shape for x in xs]
        n = xs[0].shape[0]
        parts = [x.reshape(n, c, -1).transpose(0, 2, 1).reshape(n, -1)
                 for x, c in zip(xs, self.channels)]
        return xp.concatenate(parts, axis=1)

    def backward(self, gy):
        n, grads, start = gy.shape[0], [], 0
        for wanted, shape, c in zip(self.needs_input_grad, self.shapes, self.channels):
            width = int(np.prod(shape[1:]))
            part = gy[:, start:start + width]
            start += width
            grads.append(part.reshape(n, -1, c).transpose(0, 2, 1).reshape(shape)
                         if wanted else None)
        return tuple(grads)


class MultiBoxLoss(Function):
    """The SSD loss of a batch for a fixed matching (see
    ``numpy_ref.detection_match.multibox_loss_forward``).

    Notation: ``loc: (N, P*4)``, ``conf: (N, P*C)`` in prior-major order -> ``(1, 1)``.
    ``priors: (P, 8)``, ``labels: (R, 6)``, ``match``/``negative: (N, P)`` are constants.
    """

    def __init__(self, priors, labels, match, negative, num_classes, background_id):
        self.priors, self.labels = as_numpy(priors), as_numpy(labels)
        self.match, self.negative = match, negative
        self.num_classes, self.background_id = num_classes, background_id

    def _host(self, loc, conf):
        n = loc.shape[0]
        return (as_numpy(loc).reshape(n, -1, 4),
                as_numpy(conf).reshape(n, -1, self.num_classes))

    def _constants(self):
        return self.priors, self.labels, self.match, self.negative, self.background_id

    def forward(self, loc, conf):
        xp = get_array_module(loc)
        self.save_for_backward(loc, conf)
        value = kernel("multibox_loss_forward")(*self._host(loc, conf), *self._constants())
        return xp.asarray(value, dtype=loc.dtype).reshape(1, 1)

    def backward(self, gy):
        loc, conf = self.saved
        xp = get_array_module(loc)
        gloc, gconf = kernel("multibox_loss_backward")(
            *self._host(loc, conf), *self._constants(), float(as_numpy(gy).reshape(())))
        grads = (xp.asarray(gloc.reshape(loc.shape)), xp.asarray(gconf.reshape(conf.shape)))
        return tuple(g if wanted else None for g, wanted in zip(grads, self.needs_input_grad))


class BatchCost(Function):
    """``(1, 1) -> (N, 1)``: every image reports the batch's loss ``L``.

    Its gradient is the *mean* of the rows' gradients, not their sum: the trainer sums the
    N rows, and the parameters then get the gradient of ``L`` itself -- as in Paddle, whose
    multibox layer reported ``L`` for each image and back-propagated ``dL`` once.
    """

    def __init__(self, rows):
        self.rows = int(rows)

    def forward(self, loss):
        return get_array_module(loss).repeat(loss.reshape(1, 1), self.rows, axis=0)

    def backward(self, gy):
        return gy.mean(axis=0, keepdims=True)


def prior_major(xs, channels):
    return PriorMajor(channels)(*xs)


def multibox_loss(loc, conf, priors, labels, match, negative, num_classes, background_id):
    return MultiBoxLoss(priors, labels, match, negative, num_classes, background_id)(loc, conf)


def batch_cost(loss, rows):
    return BatchCost(rows)(loss)


def priorbox(map_hw, image_hw, min_size, max_size, aspect_ratio, variance, xp=np):
    """``(1, H*W*K*8)`` priors in the default dtype, on ``xp``'s device."""
    priors = kernel("priorbox")(map_hw, image_hw, min_size, max_size, aspect_ratio, variance)
    return xp.asarray(priors, dtype=config.default_dtype)


def multibox_match(conf, priors, labels, starts, num_classes, overlap_threshold, neg_pos_ratio,
                   neg_overlap, background_id):
    """``(match, negative)``, both ``(N, P)`` host arrays, of prior-major ``conf: (N, P*C)``."""
    conf = as_numpy(conf)
    return kernel("multibox_match")(conf.reshape(conf.shape[0], -1, num_classes),
                                    as_numpy(priors), as_numpy(labels), starts,
                                    overlap_threshold, neg_pos_ratio, neg_overlap, background_id)


def detection_output(loc, conf, priors, num_classes, background_id, confidence_threshold,
                     nms_threshold, nms_top_k, keep_top_k):
    """``(K, 7)`` detections of prior-major ``loc: (N, P*4)``, ``conf: (N, P*C)``, on
    ``loc``'s device."""
    xp = get_array_module(loc)
    n = loc.shape[0]
    rows = kernel("detection_output")(as_numpy(loc).reshape(n, -1, 4),
                                      as_numpy(conf).reshape(n, -1, num_classes),
                                      as_numpy(priors), background_id, confidence_threshold,
                                      nms_threshold, nms_top_k, keep_top_k)
    return xp.asarray(rows, dtype=loc.dtype)
