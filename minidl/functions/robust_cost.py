"""Huber regression, modified-Huber classification and smooth-L1 costs as autograd Functions
(kernels in ``backends/numpy_ref/robust_cost.py``).

As in ``minidl.functions.cost``: output ``(N, 1)``, one cost per row; ``coeff`` scales the
gradient only (Paddle's ``CostLayer`` multiplied the input gradient by it and reported the
cost unscaled).
"""

from ..backends import kernel
from ..core.tensor import Function


class HuberRegression(Function):
    """``cost[i] = sum_j huber_delta(target[i, j] - output[i, j])``: ``output, target: (N, D)``."""

    def __init__(self, delta=1.0, coeff=1.0):
        self.delta = float(delta)
        self.coeff = float(coeff)

    def forward(self, output, target):
        self.save_for_backward(output, target)
        return kernel("huber_regression_forward")(output, target, self.delta).reshape(-1, 1)

    def backward(self, gy):
        output, target = self.saved
        goutput = kernel("huber_regression_backward")(output, target, self.delta,
                                                      gy.reshape(-1) * self.coeff)
        return (goutput if self.needs_input_grad[0] else None,
                -goutput if self.needs_input_grad[1] else None)


class HuberClassification(Function):
    """Modified Huber loss of a score ``output: (N, 1)`` against 0/1 labels, a constant
    ``label: (N,)`` int64 of the function."""

    def __init__(self, label, coeff=1.0):
        self.label = label
        self.coeff = float(coeff)

    def forward(self, output):
        self.save_for_backward(output)
        return kernel("huber_classification_forward")(output, self.label).reshape(-1, 1)

    def backward(self, gy):
        (output,) = self.saved
        return kernel("huber_classification_backward")(output, self.label,
                                                       gy.reshape(-1) * self.coeff)


class SmoothL1(Function):
    """``cost[i] = sum_j smooth_l1(output[i, j] - target[i, j])``: ``output, target: (N, D)``."""

    def __init__(self, coeff=1.0):
        self.coeff = float(coeff)

    def forward(self, output, target):
        self.save_for_backward(output, target)
        return kernel("smooth_l1_forward")(output, target).reshape(-1, 1)

    def backward(self, gy):
        output, target = self.saved
        goutput = kernel("smooth_l1_backward")(output, target, gy.reshape(-1) * self.coeff)
        return (goutput if self.needs_input_grad[0] else None,
                -goutput if self.needs_input_grad[1] else None)


def huber_regression(output, target, delta=1.0, coeff=1.0):
    return HuberRegression(delta, coeff)(output, target)


def huber_classification(output, label, coeff=1.0):
    return HuberClassification(label, coeff)(output)


def smooth_l1(output, target, coeff=1.0):
    return SmoothL1(coeff)(output, target)
