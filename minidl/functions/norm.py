"""Batch normalisation and cross-channel (LRN) normalisation as autograd Functions.

Kernels: ``batch_norm_forward_train`` / ``_forward_infer`` / ``_backward`` and
``cross_map_norm_forward`` / ``_backward`` (``backends/numpy_ref/norm.py``).
"""

from ..backends import kernel
from ..core.tensor import Function


class _BatchNorm(Function):
    """What both batch norms keep and how their gradients flow back.

    Notation: ``x: (N, C, L)``, ``gamma: (C,)``, optional ``beta: (C,)`` -> ``(N, C, L)``.
    """

    #: whether ``mean`` and ``var`` are this batch's (then the gradient flows through them)
    batch_statistics = None

    def _output(self, y, x_hat, gamma, inv_std, beta):
        # x_hat (not x) is what every gradient reads; gamma for the input gradient
        self.save_for_backward(x_hat, gamma, inv_std)
        self.has_beta = beta is not None
        return y

    def backward(self, gy):
        x_hat, gamma, inv_std = self.saved
        gx, ggamma, gbeta = kernel("batch_norm_backward")(gy, x_hat, gamma, inv_std,
                                                          self.batch_statistics)
        return (gx, ggamma, gbeta) if self.has_beta else (gx, ggamma)


class BatchNormTrain(_BatchNorm):
    """Batch norm with this batch's statistics (the training pass).

    After the call ``batch_mean`` and ``batch_var`` (``(C,)``, biased) hold the statistics,
    for the layer's moving averages; they are not outputs of the graph.
    """

    batch_statistics = True

    def __init__(self, eps):
        self.eps = eps

    def forward(self, x, gamma, beta=None):
        y, x_hat, mean, var, inv_std = kernel("batch_norm_forward_train")(x, gamma, beta,
                                                                          self.eps)
        self.batch_mean, self.batch_var = mean, var
        return self._output(y, x_hat, gamma, inv_std, beta)


class BatchNormInfer(_BatchNorm):
    """Batch norm with fixed statistics ``mean, var: (C,)`` (the moving averages at test).

    The statistics are constants of this function, not inputs: nothing flows back to them.
    """

    batch_statistics = False

    def __init__(self, mean, var, eps):
        self.mean, self.var, self.eps = mean, var, eps

    def forward(self, x, gamma, beta=None):
        y, x_hat, inv_std = kernel("batch_norm_forward_infer")(x, gamma, beta, self.mean,
                                                               self.var, self.eps)
        return self._output(y, x_hat, gamma, inv_std, beta)


class CrossMapNorm(Function):
    """LRN across channels: ``y = x (1 + alpha * window_sum(x^2))^(-power)``.

    Notation: ``x: (N, C, H, W)`` -> same shape. ``alpha`` is Paddle's stored ``scale/size``.
    """

    def __init__(self, size, alpha, power):
        self.size, self.alpha, self.power = size, alpha, power

    def forward(self, x):
        y, denom = kernel("cross_map_norm_forward")(x, self.size, self.alpha, self.power)
        # x and denom suffice: y = x * denom^-power is recomputed cheaply in backward
        self.save_for_backward(x, denom)
        return y

    def backward(self, gy):
        x, denom = self.saved
        return kernel("cross_map_norm_backward")(x, denom, gy, self.size, self.alpha,
                                                 self.power)


def batch_norm_train(x, gamma, beta=None, eps=1e-5):
    """Returns ``(y, function)``; ``function.batch_mean/batch_var`` hold the statistics."""
    function = BatchNormTrain(eps)
    y = function(x, gamma) if beta is None else function(x, gamma, beta)
    return y, function


def batch_norm_infer(x, gamma, beta, mean, var, eps=1e-5):
    function = BatchNormInfer(mean, var, eps)
    return function(x, gamma) if beta is None else function(x, gamma, beta)


def batch_norm_act_inference(x, gamma, beta, mean, var, eps, relu):
    """Inference-only batch norm (+ ReLU) as one kernel pass on plain arrays: no graph, so
    call it only where nothing will be differentiated (the layer checks)."""
    return kernel("batch_norm_act_infer")(x, gamma, beta, mean, var, eps, relu)


def cross_map_norm(x, size, alpha, power):
    return CrossMapNorm(size, alpha, power)(x)
