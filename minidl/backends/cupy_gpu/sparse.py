"""Sparse fc inference on the GPU: ``csr_matmul`` through ``cupyx.scipy.sparse`` (cuSPARSE).

Registering the kernel on the ``gpu`` backend is what lets ``paddle.infer(sparse=...)``
choose the CSR path there (the plan only goes sparse where the backend has its own
``csr_matmul``). Direct sparse convolution has no GPU kernel: pruned conv layers stay dense
(cuDNN-class GEMMs) on the device.

The CPU layouts store narrow unsigned indices (uint16/uint32); cuSPARSE wants int32, so the
converted matrix is cached per layout (keyed by the identity of its arrays, which the
layout cache keeps alive until the parameter changes).
"""

from collections import OrderedDict

from ..registry import register

_MATRICES = OrderedDict()   # (id(indptr), id(indices), id(values)) -> (sources, csr_matrix)
_CACHE_SIZE = 256


def _device_csr(indptr, indices, values, columns):
    import cupy
    from cupyx.scipy import sparse

    key = (id(indptr), id(indices), id(values))
    hit = _MATRICES.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], (indptr, indices, values))):
        _MATRICES.move_to_end(key)
        return hit[1]
    matrix = sparse.csr_matrix(
        (cupy.asarray(values, dtype=cupy.float32), cupy.asarray(indices, dtype=cupy.int32),
         cupy.asarray(indptr, dtype=cupy.int32)), shape=(len(indptr) - 1, columns))
    _MATRICES[key] = ((indptr, indices, values), matrix)
    if len(_MATRICES) > _CACHE_SIZE:
        _MATRICES.popitem(last=False)
    return matrix


@register("csr_matmul", backend="gpu")
def csr_matmul(indptr, indices, values, x, bias=None, relu=False, check=True):
    """``y = x @ W.T (+ bias) (then ReLU)``, W as CSR rows; the reference's signature.

    Notation: ``indptr (F + 1,)``, ``indices``/``values (nnz,)``, ``x: (N, K)``,
    ``bias: (F,)`` or None -> ``(N, F)``. (``check``: cuSPARSE's matrix is built, and
    checked, once per layout, so there is nothing to skip.)
    """
    import cupy

    x = cupy.asarray(x)
    matrix = _device_csr(indptr, indices, values, x.shape[1])
    y = (matrix @ x.T).T                      # cuSPARSE SpMM: (F, K) @ (K, N)
    y = cupy.ascontiguousarray(y, dtype=x.dtype)
    if bias is not None:
        y += cupy.asarray(bias).reshape(1, -1)
    if relu:
        cupy.maximum(y, 0, out=y)
    return y
