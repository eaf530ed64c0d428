"""The self-normalised and multi-label cross-entropies, the rank cost, LambdaRank and the sum
cost as autograd Functions (kernels in ``backends/numpy_ref/cost_extra.py``).

As every cost (``minidl.functions.cost``): output ``(N, 1)``, one cost per row; ``coeff``
scales the gradient only, the reported cost is unscaled.
"""

from ..backends import kernel
from ..backends.numpy_ref import cost_extra as _kernels  # noqa: F401  (registers the ops)
from ..core.tensor import Function
from .cost import WeightedCost


class SelfNormCrossEntropy(Function):
    """``cost[i] = -log(out[i, label[i]] / Z[i]) + alpha log(Z[i])^2``, ``Z`` the row sum.

    Notation: ``out: (N, K)`` positive -> ``(N, 1)``; ``label: (N,)`` ints, a constant.
    """

    def __init__(self, label, alpha, coeff=1.0):
        self.label, self.alpha, self.coeff = label, float(alpha), float(coeff)

    def forward(self, out):
        self.save_for_backward(out)
        return kernel("selfnorm_cross_entropy_forward")(out, self.label,
                                                        self.alpha).reshape(-1, 1)

    def backward(self, gy):
        (out,) = self.saved
        return kernel("selfnorm_cross_entropy_backward")(out, self.label, self.alpha,
                                                         gy.reshape(-1) * self.coeff)


class MultiBinaryCrossEntropy(Function):
    """``cost[i] = -sum_j (t_ij log p_ij + (1 - t_ij) log(1 - p_ij))``.

    Notation: ``prob: (N, K)`` -> ``(N, 1)``; ``target: (N, K)`` 0/1, a constant.
    """

    def __init__(self, target, coeff=1.0):
        self.target, self.coeff = target, float(coeff)

    def forward(self, prob):
        self.save_for_backward(prob)
        return kernel("multi_binary_cross_entropy_forward")(prob, self.target).reshape(-1, 1)

    def backward(self, gy):
        (prob,) = self.saved
        return kernel("multi_binary_cross_entropy_backward")(prob, self.target,
                                                             gy.reshape(-1) * self.coeff)


class RankCost(WeightedCost):
    """``cost[i] = (log(1 + exp(o_i)) - label_i o_i) (* weight[i])``, ``o = left - right``.

    Notation: ``left, right: (N, 1)``, optional ``weight: (N, 1)`` -> ``(N, 1)``;
    ``label: (N,)`` floats in [0, 1], a constant.
    """

    def __init__(self, label, coeff=1.0):
        self.label, self.coeff = label, float(coeff)

    def forward(self, left, right, weight=None):
        left, right = left.reshape(-1), right.reshape(-1)
        cost = kernel("rank_cost_forward")(left, right, self.label)
        self.save_for_backward(left, right, weight, cost if weight is not None else None)
        return self.weighted(cost, weight)

    def backward(self, gy):
        left, right, weight, cost = self.saved
        g, gweight = self.cost_grad(gy, weight, cost)
        gleft = kernel("rank_cost_backward")(left, right, self.label, g).reshape(-1, 1)
        grads = (gleft if self.needs_input_grad[0] else None,
                 -gleft if self.needs_input_grad[1] else None)
        return grads + (gweight,) if self.has_weight else grads


class LambdaCost(Function):
    """LambdaRank: the output is NDCG@k of each list on each of its rows; the gradient is
    LambdaRank's lambda of each row (not a derivative of NDCG, which is a step function of
    the outputs), scaled by the row's output gradient (1 from the trainer, as v2 assumed).

    Notation: ``output: (R, 1)`` -> ``(R, 1)``; ``score: (R,)`` true relevance and
    ``starts: (S + 1,)`` are constants.
    """

    def __init__(self, score, starts, ndcg_num, max_sort_size):
        self.score, self.starts = score, starts
        self.ndcg_num, self.max_sort_size = int(ndcg_num), int(max_sort_size)

    def forward(self, output):
        output = output.reshape(-1)
        self.save_for_backward(output)
        return kernel("lambda_ndcg")(output, self.score, self.starts,
                                     self.ndcg_num).reshape(-1, 1)

    def backward(self, gy):
        (output,) = self.saved
        lambdas = kernel("lambda_gradient")(output, self.score, self.starts, self.ndcg_num,
                                            self.max_sort_size)
        return (lambdas * gy.reshape(-1)).reshape(-1, 1)


class SumCost(Function):
    """``cost[i] = sum_j x[i, j]``: ``x: (N, D)`` -> ``(N, 1)``."""

    def forward(self, x):
        self.width = x.shape[1]      # all backward needs
        return kernel("sum_cost_forward")(x).reshape(-1, 1)

    def backward(self, gy):
        return kernel("sum_cost_backward")(self.width, gy.reshape(-1))


def selfnorm_cross_entropy(out, label, alpha, coeff=1.0):
    return SelfNormCrossEntropy(label, alpha, coeff)(out)


def multi_binary_cross_entropy(prob, target, coeff=1.0):
    return MultiBinaryCrossEntropy(target, coeff)(prob)


def rank_cost(left, right, label, weight=None, coeff=1.0):
    function = RankCost(label, coeff)
    return function(left, right) if weight is None else function(left, right, weight)


def lambda_cost(output, score, starts, ndcg_num, max_sort_size=-1):
    return LambdaCost(score, starts, ndcg_num, max_sort_size)(output)


def sum_cost(x):
    return SumCost()(x)
