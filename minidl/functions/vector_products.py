"""Row-by-row products of two inputs as autograd Functions (kernels in
``backends/numpy_ref/vector_products.py``): ``out_prod``, ``linear_comb`` and the bilinear
``tensor`` product.
"""

from ..backends import kernel
from ..backends.numpy_ref import vector_products as _reference  # noqa: F401  (registers kernels)
from ..core.tensor import Function


def _wanted(grads, needs):
    """Drop the gradients nobody asked for."""
    return tuple(g if need else None for g, need in zip(grads, needs))


class _TwoInputProduct(Function):
    """``<kernels>_forward(*inputs) -> y`` and ``<kernels>_backward(*inputs, gy)`` -> one
    gradient per input; every input is kept for backward (each gradient reads the others)."""

    #: the kernel family
    kernels = None

    def forward(self, *inputs):
        self.save_for_backward(*inputs)
        return kernel(f"{self.kernels}_forward")(*inputs)

    def backward(self, gy):
        grads = kernel(f"{self.kernels}_backward")(*self.saved, gy)
        return _wanted(grads, self.needs_input_grad)


class OutProd(_TwoInputProduct):
    """``y[i] = flatten(a[i]^T b[i])``: ``(N, M), (N, K) -> (N, M*K)``."""

    kernels = "out_prod"


class LinearComb(_TwoInputProduct):
    """``z[i] = w[i] V[i]`` with ``V[i] = v[i]`` as ``(M, D)``: ``(N, M), (N, M*D) -> (N, D)``."""

    kernels = "linear_comb"


class BilinearTensor(_TwoInputProduct):
    """``y[i, s] = a[i] W_s b[i]^T``: ``(N, M), (N, K), (S, M, K) -> (N, S)``."""

    kernels = "tensor"


def out_prod(a, b):
    return OutProd()(a, b)


def linear_comb(w, v):
    return LinearComb()(w, v)


def bilinear_tensor(a, b, w):
    return BilinearTensor()(a, b, w)
