"""Reference kernels of the robust costs: Huber regression, modified-Huber two-class
classification and smooth L1 (Paddle's ``HuberRegressionLoss``, ``HuberTwoClassification``
and ``SmoothL1CostLayer``).

One cost per row: ``(N,)``, summed over the row's values. The trainer sums the rows.
"""

from ...core.xp import get_array_module
from ..registry import register


# --- huber_regression_cost ------------------------------------------------------------------

@register("huber_regression_forward")
def huber_regression_forward(output, target, delta):
    """Notation: ``output, target: (N, D)`` -> ``cost: (N,)``; ``a = |target - output|``::

        cost[i] = sum_j  a^2 / 2                 if a <= delta
                         delta * (a - delta / 2)  otherwise
    """
    xp = get_array_module(output)
    a = xp.abs(target - output)
    return xp.where(a <= delta, a * a / 2, delta * (a - delta / 2)).sum(axis=1)


@register("huber_regression_backward")
def huber_regression_backward(output, target, delta, gcost):
    """``goutput[i, j] = gcost[i] * (output - target)`` where ``|target - output| <= delta``,
    else ``gcost[i] * delta * sign(output - target)``."""
    xp = get_array_module(output)
    diff = output - target
    slope = xp.where(xp.abs(diff) <= delta, diff, delta * xp.sign(diff))
    return slope * gcost.reshape(-1, 1)


# --- huber_classification_cost --------------------------------------------------------------

@register("huber_classification_forward")
def huber_classification_forward(output, label):
    """Modified Huber loss of a score against a 0/1 label.

    Notation: ``output: (N, 1)`` scores, ``label: (N,)`` ints in {0, 1} -> ``cost: (N,)``;
    ``y = 2 label - 1`` in {-1, +1} and ``a = y * output``::

        cost[i] = -4 a          if a < -1
                  (1 - a)^2     if -1 <= a < 1
                  0             if a >= 1
    """
    xp = get_array_module(output)
    y = (2 * label - 1).astype(output.dtype)
    a = output[:, 0] * y
    return xp.where(a < -1, -4 * a, xp.where(a < 1, (1 - a) ** 2, 0))


@register("huber_classification_backward")
def huber_classification_backward(output, label, gcost):
    """``goutput[i] = gcost[i] * (-4 y)`` where ``a < -1``, ``gcost[i] * (-2 (1 - a) y)`` where
    ``-1 <= a < 1``, else 0."""
    xp = get_array_module(output)
    y = (2 * label - 1).astype(output.dtype)
    a = output[:, 0] * y
    slope = xp.where(a < -1, -4 * y, xp.where(a < 1, -2 * (1 - a) * y, 0))
    return (slope * gcost).reshape(-1, 1)


# --- smooth_l1_cost -------------------------------------------------------------------------

@register("smooth_l1_forward")
def smooth_l1_forward(output, target):
    """Notation: ``output, target: (N, D)`` -> ``cost: (N,)``; ``x = output - target``::

        cost[i] = sum_j  x^2 / 2     if |x| < 1
                         |x| - 1/2   otherwise
    """
    xp = get_array_module(output)
    a = xp.abs(output - target)
    return xp.where(a < 1, a * a / 2, a - 0.5).sum(axis=1)


@register("smooth_l1_backward")
def smooth_l1_backward(output, target, gcost):
    """``goutput[i, j] = gcost[i] * x`` where ``|x| < 1``, else ``gcost[i] * sign(x)``."""
    xp = get_array_module(output)
    x = output - target
    return xp.where(xp.abs(x) < 1, x, xp.sign(x)) * gcost.reshape(-1, 1)
