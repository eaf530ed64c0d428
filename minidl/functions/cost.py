"""Per-sample costs as autograd Functions (kernels in ``backends/numpy_ref/cost.py``).

Both follow Paddle's ``CostLayer``:

* output ``(N, 1)``: one cost per sample; with a per-sample ``weight: (N, 1)`` the cost
  is multiplied by it;
* ``coeff`` weights the *gradient* only ("the weight of the gradient in the back
  propagation"): Paddle multiplies the input gradient by ``coeff`` and reports the cost
  unscaled, so the trainer's reported cost does not change with ``coeff``.
"""

from ..backends import kernel
from ..core.tensor import Function


def _per_sample(column):
    """``(N, 1)`` -> ``(N,)``."""
    return column.reshape(-1)


class WeightedCost(Function):
    """A cost whose last input may be a ``weight: (N, 1)``, one per sample (or sequence):
    the cost is multiplied by it, and the weight's gradient is the unweighted cost. The
    subclass records ``coeff`` and keeps the unweighted cost when there is a weight."""

    def weighted(self, cost, weight):
        """The ``(N, 1)`` output: ``cost: (N,)``, times ``weight`` where one is given."""
        self.has_weight = weight is not None
        if weight is not None:
            cost = cost * _per_sample(weight)
        return cost.reshape(-1, 1)

    def cost_grad(self, gy, weight, cost):
        """``(g, gweight)``: ``g: (N,)`` the gradient for the unweighted costs (``gy`` times
        ``coeff``, times the weight), ``gweight`` the weight's (None unless asked for)."""
        g = _per_sample(gy) * self.coeff
        gweight = None
        if self.has_weight:
            if self.needs_input_grad[-1]:
                gweight = (g * cost).reshape(-1, 1)
            g = g * _per_sample(weight)
        return g, gweight


class MultiClassCrossEntropy(WeightedCost):
    """``cost[i] = -log(prob[i, label[i]]) (* weight[i])``.

    Notation: ``prob: (N, K)``, optional ``weight: (N, 1)`` -> ``(N, 1)``;
    ``label: (N,)`` ints, a constant of the function.
    """

    def __init__(self, label, coeff=1.0):
        self.label = label
        self.coeff = float(coeff)

    def forward(self, prob, weight=None):
        cost = kernel("cross_entropy_forward")(prob, self.label)
        # prob for d/dprob; weight scales it; the unweighted cost is d/dweight
        self.save_for_backward(prob, weight, cost if weight is not None else None)
        return self.weighted(cost, weight)

    def backward(self, gy):
        prob, weight, cost = self.saved
        g, gweight = self.cost_grad(gy, weight, cost)
        gprob = kernel("cross_entropy_backward")(prob, self.label, g) \
            if self.needs_input_grad[0] else None
        return (gprob, gweight) if self.has_weight else gprob


class SquareError(WeightedCost):
    """``cost[i] = sum_j (output[i, j] - target[i, j])^2 (* weight[i])``, no 1/2.

    Notation: ``output, target: (N, D)``, optional ``weight: (N, 1)`` -> ``(N, 1)``.
    """

    def __init__(self, coeff=1.0):
        self.coeff = float(coeff)

    def forward(self, output, target, weight=None):
        cost = kernel("square_error_forward")(output, target)
        self.save_for_backward(output, target, weight, cost if weight is not None else None)
        return self.weighted(cost, weight)

    def backward(self, gy):
        output, target, weight, cost = self.saved
        g, gweight = self.cost_grad(gy, weight, cost)
        goutput = kernel("square_error_backward")(output, target, g)
        gtarget = -goutput if self.needs_input_grad[1] else None
        if not self.needs_input_grad[0]:
            goutput = None
        return (goutput, gtarget, gweight) if self.has_weight else (goutput, gtarget)


def cross_entropy(prob, label, weight=None, coeff=1.0):
    function = MultiClassCrossEntropy(label, coeff)
    return function(prob) if weight is None else function(prob, weight)


def square_error(output, target, weight=None, coeff=1.0):
    function = SquareError(coeff)
    return function(output, target) if weight is None else function(output, target, weight)
