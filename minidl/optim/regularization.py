"""L2 regularization settings, L1 shrinkage and element-wise gradient clipping.

Where each one enters, as in Paddle (``OptimizerWithRegularizer.cpp``,
``FirstOrderOptimizer.cpp``), for one parameter and one batch::

    1. clip      g = clip(g, -c, c)        if c > 0: every ELEMENT of the summed gradient
    2. rule      the update rule, with L2 decay d inside it (g + d*w, see rules.py)
    3. shrink    only if the parameter has an L1 rate l1 > 0; then step 2 ran with d = 0
                 and both penalties act on the updated value instead:
                     s = lr * r                 (r = the rule's adaptive rate, else 1)
                     w = sign(w) * max(|w| - s*l1, 0)
                     w = w / (1 + s*d)          if d > 0

``c`` is ``ParamAttr(gradient_clipping_threshold=...)`` if set, else the optimizer's
``gradient_clipping_threshold``; no clipping when both are 0 or None. ``d`` is
``ParamAttr(l2_rate=...)`` if set, else the rate of :class:`L2Regularization`. As in Paddle,
a per-parameter value of 0 counts as unset, so it cannot switch a global setting off.
``l1`` is ``ParamAttr(l1_rate=...)``. Paddle refused L1 on a parameter that also has
momentum; so does :meth:`Optimizer.create_updater`.
"""

from ..core.xp import get_array_module
from .checks import non_negative


class L2Regularization:
    """Weight decay for every parameter: adds ``rate * w`` to the (summed) gradient.

    Gradients are sums over the batch, so Paddle scripts scale the rate by the batch size:
    ``L2Regularization(0.0005 * 128)``.
    """

    def __init__(self, rate):
        self.rate = non_negative("L2Regularization", "rate", rate)

    def __repr__(self):
        return f"L2Regularization(rate={self.rate})"


def clip_gradient(grad, threshold):
    """``grad`` with every element clipped to ``[-threshold, threshold]`` (a new array).

    grad: any shape. ``threshold`` None or 0 returns ``grad`` itself.
    """
    if not threshold:
        return grad
    return get_array_module(grad).clip(grad, -threshold, threshold)


def shrink(value, lr, rate, l1, l2):
    """Paddle's L1/L2 regularizer applied after the update, in place on ``value``.

    value: any shape; rate: the rule's adaptive rate (same shape) or None.
    """
    xp = get_array_module(value)
    scale = lr if rate is None else lr * rate
    magnitude = xp.abs(value) - scale * l1
    value[...] = xp.sign(value) * xp.maximum(magnitude, 0.0)
    if l2:
        value /= 1.0 + scale * l2
