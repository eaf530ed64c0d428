"""The linear-chain CRF cost as an autograd Function (kernels in ``backends/numpy_ref/crf.py``).

As Paddle's ``CRFLayer``: one cost per sequence, ``(S, 1)``; with a per-sequence ``weight``
``(S, 1)`` the cost is multiplied by it; ``coeff`` scales the gradients only (the reported
cost is unscaled), like every cost (``minidl.functions.cost``). Decoding is not
differentiable and has no Function: ``crf_decoding`` calls its kernel directly.
"""

from ..backends import kernel
from .cost import WeightedCost


class CRFCost(WeightedCost):
    """``cost[i] = -log p(labels of sequence i | x) (* weight[i])``.

    Notation: ``x: (R, K)`` tag scores, ``w: (K + 2, K)`` (start, end, transitions), optional
    ``weight: (S, 1)`` -> ``(S, 1)``; ``labels: (R,)`` ints and ``starts: (S + 1,)`` are
    constants of the function.
    """

    def __init__(self, labels, starts, coeff=1.0):
        self.labels = labels
        self.starts = starts
        self.coeff = float(coeff)

    def forward(self, x, w, weight=None):
        cost, alpha, log_z = kernel("crf_forward")(x, w, self.labels, self.starts)
        self.save_for_backward(x, w, alpha, log_z, weight,
                               cost if weight is not None else None)
        return self.weighted(cost, weight)

    def backward(self, gy):
        x, w, alpha, log_z, weight, cost = self.saved
        g, gweight = self.cost_grad(gy, weight, cost)
        gx = gw = None
        if self.needs_input_grad[0] or self.needs_input_grad[1]:
            gx, gw = kernel("crf_backward")(x, w, self.labels, self.starts, alpha, log_z, g)
        gx = gx if self.needs_input_grad[0] else None
        gw = gw if self.needs_input_grad[1] else None
        return (gx, gw, gweight) if self.has_weight else (gx, gw)


def crf_cost(x, w, labels, starts, weight=None, coeff=1.0):
    """``(S, 1)`` costs of the sequences of ``x`` (see :class:`CRFCost`)."""
    function = CRFCost(labels, starts, coeff)
    return function(x, w) if weight is None else function(x, w, weight)
