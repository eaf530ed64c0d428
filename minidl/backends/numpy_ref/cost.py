"""Reference kernels of the per-sample costs (Paddle's ``CostLayer`` family).

Costs are per sample: ``(N,)``. The trainer sums them over the batch, so gradients are
sums over the batch, as in Paddle.
"""

from ...core.xp import get_array_module
from ..registry import register


def _floor(prob):
    """Smallest probability taken at face value: the dtype's smallest normal number.

    Paddle's ``-log(p)`` has no floor; its softmax never returns 0 (it clips at ``e^-64``),
    so a floor this small never changes a softmax input's cost. It keeps a 0 that reaches
    ``cross_entropy_cost`` from another activation finite instead of ``inf``.
    """
    return get_array_module(prob).finfo(prob.dtype).tiny


@register("cross_entropy_forward")
def cross_entropy_forward(prob, label):
    """Multi-class cross-entropy on probabilities.

    Notation: ``prob: (N, K)``, ``label: (N,)`` ints in ``[0, K)`` -> ``cost: (N,)``,
    ``cost[i] = -log(prob[i, label[i]])``.
    """
    xp = get_array_module(prob)
    picked = prob[xp.arange(prob.shape[0]), label]
    return -xp.log(xp.maximum(picked, _floor(prob)))


@register("cross_entropy_backward")
def cross_entropy_backward(prob, label, gcost):
    """``gprob: (N, K)``: ``-gcost[i] / prob[i, label[i]]`` at the label, 0 elsewhere.

    Where the probability was below the floor the cost did not depend on it: gradient 0.
    """
    xp = get_array_module(prob)
    rows = xp.arange(prob.shape[0])
    picked = prob[rows, label]
    safe = picked > _floor(prob)
    gprob = xp.zeros_like(prob)
    gprob[rows, label] = xp.where(safe, -gcost / xp.where(safe, picked, 1), 0)
    return gprob


@register("square_error_forward")
def square_error_forward(output, target):
    """Sum of squared errors per sample, no 1/2 (Paddle's ``square_error``).

    Notation: ``output, target: (N, D)`` -> ``cost: (N,)``.
    """
    diff = output - target
    return (diff * diff).sum(axis=1)


@register("square_error_backward")
def square_error_backward(output, target, gcost):
    """``goutput: (N, D) = 2 (output - target) gcost[:, None]``; ``gtarget = -goutput``."""
    return 2 * (output - target) * gcost.reshape(-1, 1)
