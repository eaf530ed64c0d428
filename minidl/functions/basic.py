"""Arithmetic, matmul, reshape and reductions on Tensors (the chain rule in small pieces)."""

from ..backends import kernel
from ..core.tensor import Function, Tensor, as_tensor
from ..core.xp import get_array_module


def _unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched to reach ``shape``."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Add(Function):
    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)  # shapes only: addition needs no values back
        return a + b

    def backward(self, gy):
        return _unbroadcast(gy, self.shapes[0]), _unbroadcast(gy, self.shapes[1])


class Sub(Function):
    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a - b

    def backward(self, gy):
        return _unbroadcast(gy, self.shapes[0]), _unbroadcast(-gy, self.shapes[1])


class Mul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, gy):
        a, b = self.saved
        return _unbroadcast(gy * b, a.shape), _unbroadcast(gy * a, b.shape)


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, gy):
        return -gy


class MatMul(Function):
    """``a @ b`` for 2-D arrays through the backend's ``matmul`` kernel."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return kernel("matmul")(a, b)

    def backward(self, gy):
        a, b = self.saved
        ga = kernel("matmul")(gy, b.T) if self.needs_input_grad[0] else None
        gb = kernel("matmul")(a.T, gy) if self.needs_input_grad[1] else None
        return ga, gb


class Reshape(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.input_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return gy.reshape(self.input_shape)


class SumAll(Function):
    def forward(self, x):
        self.input_shape = x.shape
        return x.sum().reshape(())

    def backward(self, gy):
        xp = self._xp
        return xp.broadcast_to(gy, self.input_shape).copy()


def _operands(a, b):
    """Both operands as Tensors on one device: a Python number beside a CuPy Tensor must
    become a CuPy scalar, not a NumPy one (CuPy refuses to mix the two)."""
    xp = get_array_module(*(v.data if isinstance(v, Tensor) else v for v in (a, b)))
    return as_tensor(a, xp), as_tensor(b, xp)


def add(a, b):
    return Add()(*_operands(a, b))


def sub(a, b):
    return Sub()(*_operands(a, b))


def mul(a, b):
    return Mul()(*_operands(a, b))


def neg(a):
    return Neg()(a)


def matmul(a, b):
    return MatMul()(a, b)


def reshape(x, shape):
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if tuple(x.shape) == shape:
        return x
    return Reshape(shape)(x)


def sum_all(x):
    return SumAll()(x)
