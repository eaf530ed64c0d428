"""Costs that score a few classes per row instead of all of them: the hierarchical sigmoid
(the classes on a label's tree path) and NCE (the true class and sampled noise classes), as
autograd Functions (kernels in ``backends/numpy_ref/hsigmoid.py`` and ``nce.py``).

Each cost is assembled from two kinds of pieces: *scores* of chosen weight rows
(:class:`PickedRowScores`, one per input, plus :class:`PickedBias`) added together, and the
cost of those scores (:class:`HSigmoidCost`, :class:`NCECost`).
"""

from ..backends import kernel
from ..backends.numpy_ref import hsigmoid as _hsigmoid_kernels  # noqa: F401  (registers)
from ..backends.numpy_ref import nce as _nce_kernels  # noqa: F401  (registers)
from ..core.tensor import Function
from ..core.xp import get_array_module
from .cost import WeightedCost


class PickedRowScores(Function):
    """Scores of chosen rows of a weight against chosen rows of the input.

    Tree paths (``mask`` given): ``z[i, j] = w[index[i, j]] . x[i]`` where ``mask[i, j]``,
    ``x: (N, F)``, ``w: (K', F)`` -> ``(N, D)``. Samples (``mask`` None): ``z[m] =
    w[index[m]] . x[rows[m]]`` -> ``(M,)``. ``index``, ``rows``, ``mask`` are constants.
    """

    def __init__(self, index, rows=None, mask=None):
        self.index, self.rows, self.mask = index, rows, mask

    def forward(self, x, w):
        self.save_for_backward(x, w)
        if self.mask is not None:
            return kernel("bitcode_scores")(x, w, self.index, self.mask)
        return kernel("sampled_scores")(x, w, self.rows, self.index)

    def backward(self, gz):
        x, w = self.saved
        if self.mask is not None:
            gx, gw = kernel("bitcode_scores_grad")(x, w, self.index, self.mask, gz)
        else:
            gx, gw = kernel("sampled_scores_grad")(x, w, self.rows, self.index, gz)
        return (gx if self.needs_input_grad[0] else None,
                gw if self.needs_input_grad[1] else None)


class PickedBias(Function):
    """``z = bias[0, index]`` (0 where ``mask`` is False): ``bias: (1, K')`` -> the shape
    of ``index``."""

    def __init__(self, index, mask=None):
        self.index, self.mask = index, mask

    def forward(self, bias):
        self.num = bias.shape[1]
        z = bias[0, self.index]
        return z if self.mask is None else z * self.mask

    def backward(self, gz):
        xp = get_array_module(gz)
        g = gz if self.mask is None else gz * self.mask
        gbias = xp.zeros((1, self.num), dtype=gz.dtype)
        xp.add.at(gbias[0], self.index.reshape(-1), g.reshape(-1))
        return gbias


class HSigmoidCost(Function):
    """``cost[i]``: minus the log-probability of the tree path scored ``z[i]`` (see
    ``backends/numpy_ref/hsigmoid.py``). ``z: (N, D)`` -> ``(N, 1)``; ``bits``, ``mask``
    constants."""

    def __init__(self, bits, mask):
        self.bits, self.mask = bits, mask

    def forward(self, z):
        self.save_for_backward(z)
        bits = self.bits.astype(z.dtype)
        return kernel("hsigmoid_forward")(z, bits, self.mask).reshape(-1, 1)

    def backward(self, gy):
        (z,) = self.saved
        return kernel("hsigmoid_backward")(z, self.bits.astype(z.dtype), self.mask,
                                           gy.reshape(-1))


class NCECost(WeightedCost):
    """``cost[i]`` (``* weight[i]``): NCE's logistic loss over the samples of row ``i`` (see
    ``backends/numpy_ref/nce.py``). ``z: (M,)``, optional ``weight: (N, 1)`` -> ``(N, 1)``;
    ``is_true``, ``noise``, ``rows`` (``(M,)``) and ``num_rows`` are constants."""

    coeff = 1.0

    def __init__(self, is_true, noise, rows, num_rows):
        self.is_true, self.noise, self.rows, self.num_rows = is_true, noise, rows, num_rows

    def forward(self, z, weight=None):
        noise = self.noise.astype(z.dtype)
        cost = kernel("nce_forward")(z, self.is_true, noise, self.rows, self.num_rows)
        self.save_for_backward(z, weight, cost if weight is not None else None)
        return self.weighted(cost, weight)

    def backward(self, gy):
        z, weight, cost = self.saved
        g, gweight = self.cost_grad(gy, weight, cost)
        gz = kernel("nce_backward")(z, self.is_true, self.noise.astype(z.dtype), self.rows, g)
        return (gz, gweight) if self.has_weight else gz


def picked_row_scores(x, w, index, rows=None, mask=None):
    return PickedRowScores(index, rows, mask)(x, w)


def picked_bias(bias, index, mask=None):
    return PickedBias(index, mask)(bias)


def hsigmoid_cost(z, bits, mask):
    return HSigmoidCost(bits, mask)(z)


def nce_cost(z, is_true, noise, rows, num_rows, weight=None):
    function = NCECost(is_true, noise, rows, num_rows)
    return function(z) if weight is None else function(z, weight)
