"""Reference kernels of noise-contrastive estimation (``paddle.layer.nce``).

Each row ``i`` of the batch comes with *samples*: its true class (or classes, for a
multi-label row) and ``k`` noise classes drawn from a distribution ``q``. Sample ``m`` names
its row ``rows[m]``, its class ``classes[m]`` and whether it is a true one. Its score is
``o_m = sigmoid(z_m)``, ``z_m = w[classes[m]] . x[rows[m]] + b[classes[m]]`` (summed over the
layer's inputs), and with the noise level ``n_m = k q(classes[m])``::

    true sample:   cost_m = -log(o_m / (o_m + n_m))
    noise sample:  cost_m = -log(n_m / (o_m + n_m))
    cost[i]        = sum of cost_m over the samples of row i

which is the logistic loss of telling data from noise, ``P(data) = o / (o + n)``.
"""

from ...core.xp import get_array_module
from ..registry import register


@register("sampled_scores")
def sampled_scores(x, w, rows, classes):
    """``z[m] = w[classes[m]] . x[rows[m]]``: ``x: (N, F)``, ``w: (K, F)``,
    ``rows, classes: (M,)`` -> ``(M,)``."""
    return (x[rows] * w[classes]).sum(axis=1)


@register("sampled_scores_grad")
def sampled_scores_grad(x, w, rows, classes, gz):
    """``(gx: (N, F), gw: (K, F))``: sample ``m`` adds ``gz[m] w[classes[m]]`` to row
    ``rows[m]`` of ``gx`` and ``gz[m] x[rows[m]]`` to row ``classes[m]`` of ``gw``."""
    xp = get_array_module(x)
    gx, gw = xp.zeros_like(x), xp.zeros_like(w)
    xp.add.at(gx, rows, gz[:, None] * w[classes])
    xp.add.at(gw, classes, gz[:, None] * x[rows])
    return gx, gw


def _sigmoid(z):
    xp = get_array_module(z)
    return 1 / (1 + xp.exp(-z))


@register("nce_forward")
def nce_forward(z, is_true, noise, rows, num_rows):
    """``cost: (num_rows,)`` from the samples' scores ``z: (M,)``, ``is_true: (M,)`` bools,
    ``noise: (M,)`` the ``k q(class)`` of each, ``rows: (M,)`` (see the module docstring)."""
    xp = get_array_module(z)
    o = _sigmoid(z)
    per_sample = xp.where(is_true, -xp.log(o / (o + noise)), -xp.log(noise / (o + noise)))
    cost = xp.zeros(num_rows, dtype=z.dtype)
    xp.add.at(cost, rows, per_sample)
    return cost


@register("nce_backward")
def nce_backward(z, is_true, noise, rows, gcost):
    """``gz: (M,)``: ``gcost[rows[m]]`` times ``d cost_m / d z_m``, which is
    ``-n (1 - o) / (o + n)`` for a true sample and ``o (1 - o) / (o + n)`` for noise."""
    xp = get_array_module(z)
    o = _sigmoid(z)
    slope = xp.where(is_true, -noise * (1 - o), o * (1 - o)) / (o + noise)
    return gcost[rows] * slope
