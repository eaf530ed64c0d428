"""Row-by-row products of two inputs as autograd Functions (kernels in
``backends/numpy_ref/vector_products.py``): ``out_prod``, ``linear_comb`` and the bilinear
``tensor`` product.
"""

from ..backends.numpy_ref import vector_products as _reference  # noqa: F401  (registers kernels)
from .kernel_pair import KernelPair


class OutProd(KernelPair):
    """``y[i] = flatten(a[i]^T b[i])``: ``(N, M), (N, K) -> (N, M*K)``."""

    kernels = "out_prod"


class LinearComb(KernelPair):
    """``z[i] = w[i] V[i]`` with ``V[i] = v[i]`` as ``(M, D)``: ``(N, M), (N, M*D) -> (N, D)``."""

    kernels = "linear_comb"


class BilinearTensor(KernelPair):
    """``y[i, s] = a[i] W_s b[i]^T``: ``(N, M), (N, K), (S, M, K) -> (N, S)``."""

    kernels = "tensor"


def out_prod(a, b):
    return OutProd()(a, b)


def linear_comb(w, v):
    return LinearComb()(w, v)


def bilinear_tensor(a, b, w):
    return BilinearTensor()(a, b, w)
