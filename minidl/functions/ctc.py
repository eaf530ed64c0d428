"""CTC costs as autograd Functions (kernels in ``backends/numpy_ref/ctc.py``).

One cost per sequence, ``(S, 1)``. ``norm_by_times`` divides each sequence's gradient by its
number of timesteps (v2 left the reported cost unscaled).
"""

import numpy as np

from ..backends import kernel
from ..backends.numpy_ref import ctc as _kernels  # noqa: F401  (registers the ops)
from ..core.tensor import Function
from ..core.xp import get_array_module


class _CTCBase(Function):
    """What both CTC costs share: the labels and layouts (constants) and the per-sequence
    scale of the gradient."""

    def __init__(self, labels, starts, label_starts, blank, norm_by_times):
        self.labels, self.blank = labels, int(blank)
        self.starts, self.label_starts = starts, label_starts
        self.norm_by_times = bool(norm_by_times)

    def _cost(self, log_probs):
        return kernel("ctc_forward")(log_probs, self.labels, self.starts, self.label_starts,
                                     self.blank).reshape(-1, 1)

    def _grad_log_probs(self, log_probs, gy):
        g = gy.reshape(-1)
        if self.norm_by_times:
            steps = np.maximum(np.diff(self.starts), 1).astype(g.dtype)
            g = g / get_array_module(g).asarray(steps)
        return kernel("ctc_backward")(log_probs, self.labels, self.starts, self.label_starts,
                                      self.blank, g)


class CTCCost(_CTCBase):
    """``cost[i] = -log p(labels_i | probs of sequence i)``.

    Notation: ``probs: (R, C)`` class probabilities (a softmax output) -> ``(S, 1)``;
    ``labels: (M,)`` ints, ``starts``, ``label_starts: (S + 1,)`` are constants.
    """

    def forward(self, probs):
        xp = get_array_module(probs)
        tiny = xp.finfo(probs.dtype).tiny
        # below the smallest normal number a probability is taken as that number, as in
        # cross_entropy; it then gets no gradient
        safe = probs > tiny
        log_probs = xp.log(xp.where(safe, probs, tiny))
        self.save_for_backward(probs, log_probs, safe)
        return self._cost(log_probs)

    def backward(self, gy):
        probs, log_probs, safe = self.saved
        glog = self._grad_log_probs(log_probs, gy)
        xp = get_array_module(probs)
        return xp.where(safe, glog / xp.where(safe, probs, 1), 0)


class WarpCTCCost(_CTCBase):
    """``cost[i] = -log p(labels_i | softmax of the scores of sequence i)``.

    Notation: ``x: (R, C)`` unnormalised scores -> ``(S, 1)``; constants as :class:`CTCCost`.
    """

    def forward(self, x):
        log_probs = kernel("log_softmax_rows")(x)
        self.save_for_backward(log_probs)
        return self._cost(log_probs)

    def backward(self, gy):
        (log_probs,) = self.saved
        glog = self._grad_log_probs(log_probs, gy)
        # through the log-softmax: gx = glog - softmax * (sum of glog over the classes)
        xp = get_array_module(log_probs)
        return glog - xp.exp(log_probs) * glog.sum(axis=1, keepdims=True)


def ctc_cost(probs, labels, starts, label_starts, blank, norm_by_times=False):
    return CTCCost(labels, starts, label_starts, blank, norm_by_times)(probs)


def warp_ctc_cost(x, labels, starts, label_starts, blank=0, norm_by_times=False):
    return WarpCTCCost(labels, starts, label_starts, blank, norm_by_times)(x)
