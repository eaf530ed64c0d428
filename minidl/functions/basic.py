"""Arithmetic, matmul, reshape and reductions on Tensors.

The Functions themselves live beside :class:`~minidl.core.tensor.Tensor`, whose operators
use them; here ``matmul`` is bound to the current backend's ``matmul`` kernel.
"""

from ..backends import kernel
from ..core.tensor import (Add, MatMul, Mul, Neg, Reshape, Sub, SumAll, add, mul, neg, reshape,
                           sub, sum_all)


def matmul(a, b):
    """``a @ b`` for 2-D Tensors through the backend's ``matmul`` kernel."""
    return MatMul(kernel("matmul"))(a, b)


__all__ = ["Add", "MatMul", "Mul", "Neg", "Reshape", "Sub", "SumAll", "add", "matmul", "mul",
           "neg", "reshape", "sub", "sum_all"]
