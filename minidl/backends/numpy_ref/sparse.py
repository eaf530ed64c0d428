"""Reference sparse inference kernels: CSR weight x dense input, and direct sparse convolution.

Both ops take a weight as CSR rows -- ``indptr`` (rows + 1,), ``indices`` (nnz,),
``values`` (nnz,) float32, the column indices of each row distinct -- and a dense input.
``minidl.sparse_inference.layout`` builds these arrays from dense weights; the reference
kernels below *define* what the ops compute, and the Numba kernels of the ``cpu`` backend
(``backends/numba_cpu/sparse.py``) must agree with them.

Notation::

    csr_matmul:            W: (F, K) as CSR,  x: (N, K)          -> (N, F)
    direct_sparse_conv2d:  W: (F, P*C*Hq*Wq) as CSR of offsets,  x: (N, C, H, W)
                                                                  -> (N, F, OH, OW)

Direct sparse convolution (Park et al., ICLR 2017). The input is copied once into a zero
frame: padded, and for a stride ``(sy, sx)`` split into ``P = sy * sx`` phase planes, plane
``(a, b)`` holding the padded pixels whose row is ``a`` mod ``sy`` and column ``b`` mod
``sx``, each plane ``Hq x Wq`` (``Hq = ceil(Hp / sy)``); the batch is the innermost axis::

    frame[a, b, c, u, v, n] = x_padded[n, c, u * sy + a, v * sx + b]

At column stride 1, with padding ``px`` at most the filter's reach ``(kw - 1) * dx`` and
that reach shorter than ``W + px``, a frame row is ``Wq = W + px`` pixels, not ``W + 2 px``:
its left padding only, the right padding being the next row's left padding (or the
slack's zeros), which every read past a row's end lands on -- ``px`` fewer values computed
and dropped per output row.

A filter tap ``(c, i, j)`` becomes the column index (an *offset* into the frame, in pixels)::

    r, s = i * dy, j * dx
    offset = (((r % sy) * sx + s % sx) * C + c) * Hq + r // sy) * Wq + s // sx

For stride 1 that is Park's ``(c * Hp + r) * Wp + s``, with ``Wq`` for ``Wp``. Then every
output row ``y`` reads a contiguous run of the frame, whatever the stride::

    out[n, f, y, x] = sum_j values[j] * frame[(indices[j] + y * Wq + x) * N + n]

-- a sparse matrix times a "virtual" dense matrix whose columns are shifted views of one
vector. Computing ``x`` up to ``Wq`` (not ``OW``) makes the run of one output plane a
single contiguous ``OH * Wq * N`` values; the columns ``x >= OW`` are dropped at the end.
"""


from ...core.xp import get_array_module
from ...core.geometry import check_csr, conv_frame, conv_frame_geometry
from ..registry import register


def csr_to_dense(indptr, indices, values, shape):
    """The dense ``(rows, cols)`` matrix of CSR arrays (column indices distinct per row)."""
    xp = get_array_module(values)
    rows = xp.repeat(xp.arange(shape[0]), xp.diff(xp.asarray(indptr).astype(xp.int64)))
    dense = xp.zeros(shape, dtype=values.dtype)
    dense[rows, xp.asarray(indices).astype(xp.int64)] = values
    return dense


def _finish(y, bias, relu, axis):
    """Add the per-row bias along ``axis`` of ``y`` and apply ReLU, as the kernels fuse them."""
    xp = get_array_module(y)
    if bias is not None:
        shape = [1] * y.ndim
        shape[axis] = -1
        y = y + bias.reshape(shape)
    return xp.maximum(y, 0) if relu else y


@register("csr_matmul")
def csr_matmul(indptr, indices, values, x, bias=None, relu=False, check=True):
    """``y = x @ W.T (+ bias) (then ReLU)`` with ``W`` given as CSR rows.

    Notation: ``W: (F, K)`` as ``indptr (F + 1,)``, ``indices``/``values (nnz,)``;
    ``x: (N, K)``; ``bias: (F,)`` or None -> ``(N, F)``. ``check=False`` lets a fast
    kernel skip its checks for arrays the caller vouches for; the reference always checks.
    """
    check_csr(indptr, indices, values, bias, "csr_matmul")
    w = csr_to_dense(indptr, indices, values, (len(indptr) - 1, x.shape[1]))
    return _finish(x @ w.T, bias, relu, axis=1)


@register("direct_sparse_conv2d")
def direct_sparse_conv2d(x, indptr, indices, values, filter_size, stride, padding, dilation,
                         bias=None, relu=False):
    """Convolution with a CSR filter bank whose column indices are frame offsets.

    Notation: ``x: (N, C, H, W)``; CSR rows ``F`` with offsets as in the module docstring;
    ``filter_size``, ``stride``, ``padding``, ``dilation``: ``(y, x)`` pairs; ``bias: (F,)``
    or None -> ``(N, F, OH, OW)``.

    Computed literally as Park et al. describe it: the CSR rows as a dense ``(F, P*C*Hq*Wq)``
    matrix times the virtual matrix ``V[k, t] = frame[k * N + t]`` of shifted views.
    """
    check_csr(indptr, indices, values, bias, "direct_sparse_conv2d")
    xp = get_array_module(x)
    n, c = x.shape[:2]
    oh, ow, hq, wq = conv_frame_geometry(x.shape[2:], filter_size, stride, padding, dilation)
    columns = stride[0] * stride[1] * c * hq * wq
    run = oh * wq * n
    frame = conv_frame(x, stride, padding, (hq, wq), slack=oh * wq)  # V reads up to here
    view = xp.lib.stride_tricks.as_strided(frame, shape=(columns, run),
                                           strides=(n * frame.itemsize, frame.itemsize))
    f = len(indptr) - 1
    y = csr_to_dense(indptr, indices, values, (f, columns)) @ view          # (F, OH*Wq*N)
    y = y.reshape(f, oh, wq, n)[:, :, :ow, :].transpose(3, 0, 1, 2)
    return xp.ascontiguousarray(_finish(y, bias, relu, axis=1))
