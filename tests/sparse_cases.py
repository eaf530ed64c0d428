"""Pruned weights and inputs for the sparse kernels, drawn by hypothesis.

Used by ``kernel_cases.py`` (the automatic Numba-vs-reference check) and by
``test_sparse_kernels.py`` (both kernels against the dense definition).

Sparsities are the ones the issue names -- 0, 0.5, 0.9, 0.99 and 1 (all zero) -- and some
whole rows (fc output features, conv output channels) are zeroed, as structured pruning
leaves them; batches start at 1 and sizes are odd.
"""

import numpy as np
from hypothesis import strategies as st

from minidl.core.geometry import conv_output_size
from minidl.sparse_inference.layout import conv_layout, fc_layout

SPARSITIES = (0.0, 0.5, 0.9, 0.99, 1.0)


def pruned(rng, shape, sparsity, zero_rows):
    """float32 normal values with a ``sparsity`` fraction zeroed, and ``zero_rows`` rows of
    axis 0 all zero."""
    weight = rng.standard_normal(shape).astype(np.float32)
    weight *= rng.random(shape) >= sparsity
    weight[rng.permutation(shape[0])[:zero_rows]] = 0
    return weight


@st.composite
def fc_cases(draw, max_batch=9):
    """``(weight (K, F), x (N, K), bias (F,) or None, relu)``, weight in Paddle's layout."""
    k = draw(st.one_of(st.integers(1, 300), st.sampled_from([65536, 65537])))
    f = draw(st.integers(1, 40) if k < 1000 else st.integers(1, 3))
    n = draw(st.sampled_from([1, 1, 2, 3]) | st.integers(1, max_batch))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    # the wide layers exist to reach 32-bit indices: keep their rows short (<= ~650 terms)
    sparsity = draw(st.sampled_from(SPARSITIES if k < 1000 else SPARSITIES[3:]))
    weight = pruned(rng, (f, k), sparsity, draw(st.integers(0, f))).T.copy()
    x = rng.standard_normal((n, k)).astype(np.float32)
    bias = rng.standard_normal(f).astype(np.float32) if draw(st.booleans()) else None
    return weight, x, bias, draw(st.booleans())


@st.composite
def conv_cases(draw, max_batch=4):
    """``(x, weight, stride, padding, dilation, groups, bias or None, relu)``."""
    groups = draw(st.sampled_from([1, 1, 1, 2, 3]))
    cg, fg = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.sampled_from([1, 1, 2])), draw(st.sampled_from([1, 1, 2])))
    h = draw(st.integers(max(1, (kh - 1) * dilation[0] + 1 - 2 * padding[0]), 13))
    w = draw(st.integers(max(1, (kw - 1) * dilation[1] + 1 - 2 * padding[1]), 13))
    assert conv_output_size(h, kh, stride[0], padding[0], dilation[0]) >= 1
    n = draw(st.sampled_from([1, 1, 2]) | st.integers(1, max_batch))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    f = fg * groups
    weight = pruned(rng, (f, cg, kh, kw), draw(st.sampled_from(SPARSITIES)),
                    draw(st.integers(0, f)))
    x = rng.standard_normal((n, cg * groups, h, w)).astype(np.float32)
    bias = rng.standard_normal(f).astype(np.float32) if draw(st.booleans()) else None
    return x, weight, stride, padding, dilation, groups, bias, draw(st.booleans())


def csr_matmul_args(case):
    """``(args, kwargs)`` of ``csr_matmul`` for an :func:`fc_cases` draw."""
    weight, x, bias, relu = case
    csr = fc_layout(weight)
    return (csr.indptr, csr.indices, csr.values, x), {"bias": bias, "relu": relu}


def direct_sparse_conv2d_args(case):
    """``(args, kwargs)`` of ``direct_sparse_conv2d`` for a :func:`conv_cases` draw."""
    x, weight, stride, padding, dilation, groups, bias, relu = case
    csr = conv_layout(weight, x.shape[1:], stride, padding, dilation, groups)
    return ((x, csr.indptr, csr.indices, csr.values, weight.shape[2:], stride, padding,
             dilation), {"bias": bias, "relu": relu})
