"""Input generators for the automatic kernel check (``test_kernel_registry.py``).

``CASES[op]`` is a hypothesis strategy drawing ``(args, kwargs)`` for the kernel of ``op``
as NumPy arrays / Python values. When a backend registers a kernel for ``op``, the
registry test draws inputs here, runs the backend's kernel and the ``numpy`` reference,
and compares them. Registering a kernel without a case here fails that test, on purpose:
every fast kernel must be checked against the definition.

``TOLERANCE[op]`` overrides the default float32 tolerance (rtol=1e-4, atol=1e-5).
"""

import numpy as np
from hypothesis import strategies as st

CASES = {}
TOLERANCE = {}


def arrays(shape, seed, low=-1.0, high=1.0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, size=shape).astype(dtype)


@st.composite
def _matmul(draw):
    """Small and big enough to be cut across threads, either operand a transposed view,
    float32 or float64."""
    sizes = st.integers(1, 17) | st.sampled_from([0, 64, 129])
    m, k, n = (draw(sizes) for _ in range(3))
    seed, dtype = draw(st.integers(0, 2**16)), draw(st.sampled_from([np.float32, np.float64]))
    a = arrays((k, m), seed, dtype=dtype).T if draw(st.booleans()) else arrays((m, k), seed,
                                                                                dtype=dtype)
    b = arrays((n, k), seed + 1, dtype=dtype).T if draw(st.booleans()) else arrays(
        (k, n), seed + 1, dtype=dtype)
    return (a, b), {}


CASES["matmul"] = _matmul()


# --- sparse inference kernels (cases drawn in sparse_cases.py) --------------------------
from sparse_cases import (conv_cases, csr_matmul_args, direct_sparse_conv2d_args,  # noqa: E402
                          fc_cases)

CASES["csr_matmul"] = fc_cases().map(csr_matmul_args)
CASES["direct_sparse_conv2d"] = conv_cases().map(direct_sparse_conv2d_args)
# sums of up to a few hundred products taken in another order than the reference's BLAS
TOLERANCE["csr_matmul"] = TOLERANCE["direct_sparse_conv2d"] = (1e-4, 1e-4)


# --- depthwise convolution (numpy_ref/depthwise.py, numba_cpu/depthwise.py) --------------
@st.composite
def depthwise_cases(draw, max_batch=3, dtype=np.float32, batches=None):
    """``(x, w, stride, padding)``: filters 1x1, 3x3, 5x5 and 3x5 / 5x3, depth multiplier
    1-3, stride 1-3, padding 0-2 (also wider than the filter reaches), batch from 1 (or
    drawn from the strategy ``batches``)."""
    kh = draw(st.sampled_from([1, 3, 3, 5]))
    kw = draw(st.sampled_from([kh, kh, 3]))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    h = draw(st.integers(max(1, kh - 2 * padding[0]), 11))
    w = draw(st.integers(max(1, kw - 2 * padding[1]), 11))
    if batches is None:
        batches = st.sampled_from([1, 1, 2]) | st.integers(1, max_batch)
    n = draw(batches)
    c, m = draw(st.integers(1, 4)), draw(st.sampled_from([1, 1, 2, 3]))
    seed = draw(st.integers(0, 2**16))
    return (arrays((n, c, h, w), seed, dtype=dtype), arrays((c * m, 1, kh, kw), seed + 1,
                                                              dtype=dtype), stride, padding)


def depthwise_output_shape(x, w, stride, padding):
    from minidl.core.geometry import conv_output_size
    return (x.shape[0], w.shape[0]) + tuple(
        conv_output_size(size, k, s, p)
        for size, k, s, p in zip(x.shape[2:], w.shape[2:], stride, padding))


def _depthwise_grad_input_args(case):
    x, w, stride, padding = case
    gy = arrays(depthwise_output_shape(*case), int(abs(x.sum()) * 1000) % 2**16, dtype=x.dtype)
    return (gy, w, x.shape, stride, padding), {}


def _depthwise_grad_filter_args(case):
    x, w, stride, padding = case
    gy = arrays(depthwise_output_shape(*case), int(abs(w.sum()) * 1000) % 2**16, dtype=x.dtype)
    return (x, gy, w.shape, stride, padding), {}


CASES["depthwise_conv2d_forward"] = depthwise_cases().map(lambda case: (case, {}))
CASES["depthwise_conv2d_grad_input"] = depthwise_cases().map(_depthwise_grad_input_args)
CASES["depthwise_conv2d_grad_filter"] = depthwise_cases().map(_depthwise_grad_filter_args)
# sums of up to ~400 float32 products, taken in another order than the reference's einsum
TOLERANCE["depthwise_conv2d_grad_input"] = TOLERANCE["depthwise_conv2d_grad_filter"] = (
    1e-4, 1e-4)


# --- dense convolution (numpy_ref/conv.py, numba_cpu/conv.py) ----------------------------
@st.composite
def dense_conv_cases(draw, max_batch=4):
    """``(x, w, stride, padding, dilation, groups)``: groups 1-3, filters 1x1 to 5x5 (also
    non-square), stride 1-3, dilation 1-2, padding 0-2 (also wider than the filter reaches),
    batch from 1 (no layout change in the cpu kernel) -- and pointwise 1x1 convolutions at
    stride 1 without padding, the cpu kernel's plain-GEMM path, one case in four."""
    if draw(st.integers(0, 3)) == 0:
        groups, (kh, kw), stride, padding, dilation = 1, (1, 1), (1, 1), (0, 0), (1, 1)
    else:
        groups = draw(st.sampled_from([1, 1, 2, 3]))
        kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
        stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
        dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h = draw(st.integers(max(1, (kh - 1) * dilation[0] + 1 - 2 * padding[0]), 10))
    w = draw(st.integers(max(1, (kw - 1) * dilation[1] + 1 - 2 * padding[1]), 10))
    n = draw(st.sampled_from([1, 1, 2]) | st.integers(1, max_batch))
    cg, fg = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dtype = draw(st.sampled_from([np.float32, np.float32, np.float64]))
    seed = draw(st.integers(0, 2**16))
    return (arrays((n, cg * groups, h, w), seed, dtype=dtype),
            arrays((fg * groups, cg, kh, kw), seed + 1, dtype=dtype),
            stride, padding, dilation, groups)


def dense_conv_output_shape(x, w, stride, padding, dilation, groups):
    from minidl.core.geometry import conv_output_size
    return (x.shape[0], w.shape[0]) + tuple(
        conv_output_size(size, k, s, p, d)
        for size, k, s, p, d in zip(x.shape[2:], w.shape[2:], stride, padding, dilation))


def _dense_conv_grad_input_args(case):
    x, w, *geometry = case
    gy = arrays(dense_conv_output_shape(*case), int(abs(x.sum()) * 1000) % 2**16, dtype=x.dtype)
    return (gy, w, x.shape, *geometry), {}


def _dense_conv_grad_filter_args(case):
    x, w, *geometry = case
    gy = arrays(dense_conv_output_shape(*case), int(abs(w.sum()) * 1000) % 2**16, dtype=x.dtype)
    return (x, gy, w.shape, *geometry), {}


CASES["conv2d_forward"] = dense_conv_cases().map(lambda case: (case, {}))
CASES["conv2d_grad_input"] = dense_conv_cases().map(_dense_conv_grad_input_args)
CASES["conv2d_grad_filter"] = dense_conv_cases().map(_dense_conv_grad_filter_args)
# float32 sums of up to ~400 products (the filter gradient's: over images and output
# pixels), taken by BLAS in another order than the reference's
TOLERANCE["conv2d_forward"] = TOLERANCE["conv2d_grad_input"] = (1e-4, 1e-4)
TOLERANCE["conv2d_grad_filter"] = (1e-4, 1e-4)


# --- a convolution with the batch norm after it (numba_cpu/conv_batch_norm.py) -----------
@st.composite
def _conv2d_batch_norm_act(draw):
    """A dense case (its pointwise, batch-1 and general paths) or a depthwise one (batch up
    to 9: the eight-lane path from 8), with or without the convolution's bias and batch
    norm's shift, ReLU or none, float32 or float64."""
    if draw(st.booleans()):
        x, w, stride, padding, dilation, groups = draw(dense_conv_cases())
    else:
        dtype = draw(st.sampled_from([np.float32, np.float64]))
        x, w, stride, padding = draw(depthwise_cases(
            dtype=dtype, batches=st.sampled_from([1, 1, 2, 8, 9])))
        dilation, groups = (1, 1), x.shape[1]
    f, seed = w.shape[0], draw(st.integers(0, 2**16))
    gamma, beta, mean, bias = (arrays((f,), seed + k, dtype=x.dtype) for k in range(4))
    var = arrays((f,), seed + 4, -0.1, 2, dtype=x.dtype)   # a negative variance: clipped to 0
    return (x, w, bias if draw(st.booleans()) else None, gamma,
            beta if draw(st.booleans()) else None, mean, var, 1e-5, draw(st.booleans()),
            stride, padding, dilation, groups), {}


CASES["conv2d_batch_norm_act"] = _conv2d_batch_norm_act()
# a sum of up to ~400 products scaled by up to 1/sqrt(eps) ~ 316, folded in another order
TOLERANCE["conv2d_batch_norm_act"] = (1e-4, 1e-3)


# --- batch norm with fixed statistics (numba_cpu/norm.py) ---------------------------------
@st.composite
def _batch_norm_infer(draw):
    n, c, length = draw(st.integers(1, 4)), draw(st.integers(1, 6)), draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**16))
    x = arrays((n, c, length), seed, -3, 3)
    gamma, beta, mean = (arrays((c,), seed + k) for k in (1, 2, 3))
    var = arrays((c,), seed + 4, -0.1, 2)           # a negative variance is clipped to 0
    return (x, gamma, beta if draw(st.booleans()) else None, mean, var, 1e-5), {}


CASES["batch_norm_forward_infer"] = _batch_norm_infer()
TOLERANCE["batch_norm_forward_infer"] = (1e-4, 1e-4)   # 1/sqrt(eps) ~ 316 scales rounding


@st.composite
def _batch_norm_act_infer(draw):
    args, _ = draw(_batch_norm_infer())
    return args + (draw(st.booleans()),), {}


CASES["batch_norm_act_infer"] = _batch_norm_act_infer()
TOLERANCE["batch_norm_act_infer"] = TOLERANCE["batch_norm_forward_infer"]


# --- batch norm with the batch's statistics (numba_cpu/norm_train.py) --------------------
@st.composite
def _batch_norm_train(draw):
    """Channels of 1 to 300 values (a single value: zero variance), float32 or float64."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 6))
    length = draw(st.integers(1, 40) | st.sampled_from([75]))
    seed, dtype = draw(st.integers(0, 2**16)), draw(st.sampled_from([np.float32, np.float64]))
    x = arrays((n, c, length), seed, -3, 3, dtype) + arrays((1, c, 1), seed + 1, -5, 5, dtype)
    gamma, beta = arrays((c,), seed + 2, dtype=dtype), arrays((c,), seed + 3, dtype=dtype)
    return x, gamma, beta if draw(st.booleans()) else None, draw(st.sampled_from([1e-5, 1e-3]))


CASES["batch_norm_forward_train"] = _batch_norm_train().map(lambda case: (case, {}))
# 1/sqrt(var + eps) scales the rounding of the statistics (float32 pairwise in the
# reference, float64 here)
TOLERANCE["batch_norm_forward_train"] = (1e-4, 1e-4)


@st.composite
def _batch_norm_backward(draw):
    from minidl.backends import get_kernel
    x, gamma, beta, eps = draw(_batch_norm_train())
    _, x_hat, _, _, inv_std = get_kernel("batch_norm_forward_train", "numpy")(x, gamma, beta,
                                                                               eps)
    gy = arrays(x.shape, draw(st.integers(0, 2**16)), dtype=x.dtype)
    return (gy, x_hat, gamma, inv_std, draw(st.booleans())), {}


CASES["batch_norm_backward"] = _batch_norm_backward()
TOLERANCE["batch_norm_backward"] = (1e-4, 1e-4)


# --- ReLU (numba_cpu/relu.py) -------------------------------------------------------------
@st.composite
def _relu_input(draw):
    """Any shape, float32 or float64, with zeros, a NaN and infinities mixed in."""
    shape = tuple(draw(st.lists(st.integers(1, 7), min_size=1, max_size=4)))
    seed, dtype = draw(st.integers(0, 2**16)), draw(st.sampled_from([np.float32, np.float64]))
    x = arrays(shape, seed, -2, 2, dtype)
    flat = x.reshape(-1)
    special = draw(st.lists(st.sampled_from([0.0, -0.0, np.nan, np.inf, -np.inf]),
                            max_size=min(3, flat.size)))
    flat[:len(special)] = special
    return x


CASES["act_relu"] = _relu_input().map(lambda x: ((x,), {}))


@st.composite
def _relu_grad_args(draw):
    x = draw(_relu_input())
    y = np.maximum(x, 0)
    return (None, y, arrays(x.shape, draw(st.integers(0, 2**16)), dtype=x.dtype)), {}


CASES["act_relu_grad"] = _relu_grad_args()


# --- pooling (numba_cpu/pool.py) ----------------------------------------------------------
@st.composite
def _pool2d_forward(draw):
    window = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, window[0])), draw(st.integers(0, window[1])))
    ceil_mode = draw(st.booleans())
    h = draw(st.integers(max(1, window[0] - 2 * padding[0]), 12))
    w = draw(st.integers(max(1, window[1] - 2 * padding[1]), 12))
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    x = arrays((n, c, h, w), draw(st.integers(0, 2**16)), -3, 3,
               draw(st.sampled_from([np.float32, np.float64])))
    # padding as large as the window and ceil mode give windows with no image cell (0)
    return (x, draw(st.sampled_from(["max", "avg"])), window, stride, padding), \
        {"exclude_mode": draw(st.booleans()), "ceil_mode": ceil_mode}


CASES["pool2d_forward"] = _pool2d_forward()


def _pool_gy(x, window, stride, padding, ceil_mode):
    from minidl.core.geometry import pool_output_shape
    shape = x.shape[:2] + tuple(pool_output_shape(x.shape, window, stride, padding, ceil_mode))
    return arrays(shape, int(abs(x.sum()) * 1000) % 2**16, dtype=x.dtype)


def _max_pool2d_grad_input_args(case):
    (x, _, window, stride, padding), options = case
    gy = _pool_gy(x, window, stride, padding, options["ceil_mode"])
    return (x, gy, window, stride, padding), {"ceil_mode": options["ceil_mode"]}


def _avg_pool2d_grad_input_args(case):
    (x, _, window, stride, padding), options = case
    gy = _pool_gy(x, window, stride, padding, options["ceil_mode"])
    return (gy, x.shape, window, stride, padding), options


# (numba_cpu/pool_grad.py)
CASES["max_pool2d_grad_input"] = _pool2d_forward().map(_max_pool2d_grad_input_args)
CASES["avg_pool2d_grad_input"] = _pool2d_forward().map(_avg_pool2d_grad_input_args)


# --- fused recurrent layers (numpy_ref/recurrent.py, numba_cpu/lstm.py and gru.py) -------
RECURRENT_ACTS = ["tanh", "sigmoid", "relu", "linear"]


@st.composite
def recurrent_cases(draw, gates, activations):
    """``(x, w, bias, starts, reverse, *activations)`` of a ragged batch: 1-5 sequences of
    0-6 rows in any order (ties, a batch of one, an empty sequence now and then), hidden 1-6,
    float32 or float64. With relu or linear activations (gates included) the values can grow
    like ``v -> v^2`` per step, so the inputs are scaled down to stay far from overflow."""
    acts = tuple(draw(st.sampled_from(RECURRENT_ACTS)) for _ in range(activations))
    scale = 1.0 if set(acts) <= {"tanh", "sigmoid"} else 0.3
    lengths = draw(st.lists(st.integers(0, 6), min_size=1, max_size=5))
    if sum(lengths) == 0:
        lengths[0] = 1
    hidden = draw(st.integers(1, 6))
    dtype = draw(st.sampled_from([np.float32, np.float32, np.float64]))
    seed = draw(st.integers(0, 2**16))
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    x = arrays((int(starts[-1]), gates * hidden), seed, -1.5 * scale, 1.5 * scale, dtype)
    w = arrays((hidden, gates * hidden), seed + 1, -0.4 * scale, 0.4 * scale, dtype)
    bias = arrays(((7 if gates == 4 else 3) * hidden,), seed + 2, -0.5 * scale, 0.5 * scale,
                  dtype)
    return (x, w, bias, starts, draw(st.booleans())) + acts


@st.composite
def _lstm_forward(draw):
    return draw(recurrent_cases(4, 3)), {}


@st.composite
def _lstm_backward(draw):
    from minidl.backends import get_kernel
    args, _ = draw(_lstm_forward())
    x, w, bias, starts, reverse, *acts = args
    saved = get_kernel("lstm_forward", "numpy")(*args)
    gh = arrays(saved[0].shape, draw(st.integers(0, 2**16)), dtype=x.dtype)
    return (gh, w, bias, starts, reverse, *acts, *saved), {}


@st.composite
def _gru_forward(draw):
    return draw(recurrent_cases(3, 2)), {}


@st.composite
def _gru_backward(draw):
    from minidl.backends import get_kernel
    args, _ = draw(_gru_forward())
    x, w, bias, starts, reverse, *acts = args
    saved = get_kernel("gru_forward", "numpy")(*args)
    gh = arrays(saved[0].shape, draw(st.integers(0, 2**16)), dtype=x.dtype)
    return (gh, w, starts, reverse, *acts, *saved), {}


CASES["lstm_forward"] = _lstm_forward()
CASES["lstm_backward"] = _lstm_backward()
CASES["gru_forward"] = _gru_forward()
CASES["gru_backward"] = _gru_backward()
# float32: the cpu kernels' tanh and sigmoid are rational approximations (3.4e-7 relative)
# and their products sum in another order, carried through up to six recurrent steps (with
# relu or linear activations the values can grow tenfold)
for _op in ("lstm_forward", "lstm_backward", "gru_forward", "gru_backward"):
    TOLERANCE[_op] = (2e-4, 1e-4)


@st.composite
def _recurrent_csr(draw, gates, activations):
    """A recurrent case as sparse inference runs it: float32, the weight pruned (none, a
    half, most or all of it zero) and given as the CSR rows of ``w.T``, one layout per
    product of a step (``layout.recurrent_layout``: the GRU has two)."""
    from minidl.sparse_inference.layout import recurrent_layout
    x, w, bias, starts, reverse, *acts = draw(recurrent_cases(gates, activations))
    kept = draw(st.sampled_from([1.0, 0.5, 0.1, 0.0]))
    w = np.where(arrays(w.shape, draw(st.integers(0, 2**16)), 0, 1) < kept, w, 0)
    layouts = recurrent_layout(w, gates)
    csr = [a for layout in layouts for a in (layout.indptr, layout.indices, layout.values)]
    return (x.astype(np.float32), *csr, bias.astype(np.float32), starts, reverse, *acts), {}


CASES["lstm_forward_csr"] = _recurrent_csr(4, 3)
CASES["gru_forward_csr"] = _recurrent_csr(3, 2)
TOLERANCE["lstm_forward_csr"] = TOLERANCE["gru_forward_csr"] = TOLERANCE["lstm_forward"]


@st.composite
def _softmax_rows(draw):
    """Samples of 1-300 features, or (N, C, L), at scales where the shift clips at -64."""
    shape = draw(st.tuples(st.integers(1, 9), st.integers(1, 300))
                 | st.tuples(st.integers(1, 4), st.integers(1, 5), st.integers(1, 6)))
    seed, scale = draw(st.integers(0, 2**16)), draw(st.sampled_from([1.0, 100.0]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return arrays(shape, seed, -scale, scale, dtype=dtype), seed


def _softmax_grad_args(case):
    from minidl.backends.numpy_ref.activation import act_softmax
    x, seed = case
    return (None, act_softmax(x), arrays(x.shape, seed + 1, dtype=x.dtype)), {}


CASES["act_softmax"] = _softmax_rows().map(lambda case: ((case[0],), {}))
CASES["act_softmax_grad"] = _softmax_rows().map(_softmax_grad_args)


@st.composite
def _table_lookup_grad(draw):
    """Repeated ids (their gradients add up), rows of any width, float32 or float64."""
    num_rows, count = draw(st.integers(1, 40)), draw(st.integers(0, 120))
    seed = draw(st.integers(0, 2**16))
    ids = np.random.default_rng(seed).integers(0, num_rows, count)
    width = draw(st.sampled_from([(1,), (32,), (3, 4)]))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return (ids, arrays((count,) + width, seed + 1, dtype=dtype), num_rows), {}


CASES["table_lookup_grad"] = _table_lookup_grad()
