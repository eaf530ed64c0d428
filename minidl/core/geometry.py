"""Shapes and layouts every backend, function and layer agrees on.

Output sizes of convolution and pooling, the shape checks of each op, and the padded,
phase-split input frame of direct sparse convolution. They live here, below the backends,
so that the NumPy reference, the Numba and CuPy kernels, the functions and the layers all
compute one geometry from one definition.

Pairs such as ``stride``, ``padding`` and ``dilation`` are ``(y, x)``: height first.
"""

from functools import lru_cache

from .xp import get_array_module


def conv_output_size(size, kernel, stride, padding, dilation=1):
    """Output length along one axis (Paddle's ``cnn_output_size`` in caffe mode: floor)."""
    extent = (kernel - 1) * dilation + 1
    return 1 + (size + 2 * padding - extent) // stride


def transposed_conv_output_size(size, kernel, stride, padding, dilation=1):
    """Output length along one axis of a transposed convolution: the input length of the
    convolution it is the transpose of (Paddle's ``imageSize`` in caffe mode)."""
    return (size - 1) * stride - 2 * padding + (kernel - 1) * dilation + 1


def pool_output_size(size, window, stride, padding, ceil_mode=True):
    """Output length along one axis (Paddle's ``cnn_output_size``; ceil unless told)."""
    span = size + 2 * padding - window
    steps = -(-span // stride) if ceil_mode else span // stride
    return 1 + steps


def conv_geometry(input_shape, filter_shape, stride, padding, dilation, groups):
    """Check shapes; return ``((kh, kw), (OH, OW))``.

    Notation: ``input_shape (N, C, H, W)``, ``filter_shape (F, C/G, kh, kw)``.
    """
    n, c, h, w = input_shape
    f, cg, kh, kw = filter_shape
    if c != cg * groups or f % groups:
        raise ValueError(f"conv2d: input of {c} channels, filters {tuple(filter_shape)} and "
                         f"groups={groups}; expected C == groups * filter_shape[1] and "
                         "F % groups == 0")
    oh = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
    ow = conv_output_size(w, kw, stride[1], padding[1], dilation[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"conv2d: output size {oh}x{ow} < 1 for input {h}x{w}, kernel "
                         f"{kh}x{kw}, stride {stride}, padding {padding}, dilation {dilation}")
    return (kh, kw), (oh, ow)


def pool_output_shape(input_shape, window, stride, padding, ceil_mode):
    """``(OH, OW)`` of pooling ``input_shape (N, C, H, W)``; raise if either is < 1."""
    n, c, h, w = input_shape
    oh = pool_output_size(h, window[0], stride[0], padding[0], ceil_mode)
    ow = pool_output_size(w, window[1], stride[1], padding[1], ceil_mode)
    if oh < 1 or ow < 1:
        raise ValueError(f"pool2d: output size {oh}x{ow} < 1 for input {h}x{w}, window "
                         f"{window}, stride {stride}, padding {padding}")
    return oh, ow


def is_depthwise(input_shape, filter_shape, dilation, groups):
    """Whether a grouped convolution is a depthwise one: one input channel per group
    (``groups == C``, filters ``(C*M, 1, kh, kw)``) and no dilation."""
    channels, filters = input_shape[1], filter_shape[0]
    return (groups > 1 and groups == channels and filter_shape[1] == 1
            and filters % channels == 0 and tuple(dilation) == (1, 1))


def depthwise_geometry(input_shape, filter_shape, stride, padding):
    """Check shapes; return ``(M, (kh, kw), (OH, OW))``.

    Notation: ``input_shape (N, C, H, W)``, ``filter_shape (C*M, 1, kh, kw)``.
    """
    n, c, h, w = input_shape
    f, one, kh, kw = filter_shape
    if one != 1 or c < 1 or f % c:
        raise ValueError(f"depthwise_conv2d: filters {tuple(filter_shape)} for {c} input "
                         "channels; expected (C*M, 1, kh, kw) with C*M a multiple of C")
    if min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"depthwise_conv2d: stride {tuple(stride)} must be >= 1 and padding "
                         f"{tuple(padding)} >= 0")
    oh = conv_output_size(h, kh, stride[0], padding[0])
    ow = conv_output_size(w, kw, stride[1], padding[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"depthwise_conv2d: output size {oh}x{ow} < 1 for input {h}x{w}, "
                         f"kernel {kh}x{kw}, stride {tuple(stride)}, padding {tuple(padding)}")
    return f // c, (kh, kw), (oh, ow)


def conv_frame_geometry(input_hw, filter_size, stride, padding, dilation):
    """``(OH, OW, Hq, Wq)``: the output size and the size of one phase plane of the frame."""
    pairs = (input_hw, filter_size, stride, padding, dilation)
    try:
        return _frame_geometry(*pairs)
    except TypeError:  # a list among the pairs: not hashable
        return _frame_geometry(*(tuple(pair) for pair in pairs))


@lru_cache(maxsize=1024)  # asked on every sparse conv call, for a handful of geometries
def _frame_geometry(input_hw, filter_size, stride, padding, dilation):
    (h, w), (kh, kw), (sy, sx), (py, px), (dy, dx) = (input_hw, filter_size, stride, padding,
                                                      dilation)
    oh = conv_output_size(h, kh, sy, py, dy)
    ow = conv_output_size(w, kw, sx, px, dx)
    if oh < 1 or ow < 1:
        raise ValueError(f"direct_sparse_conv2d: output size {oh}x{ow} < 1 for input {h}x{w}, "
                         f"filter {kh}x{kw}, stride {stride}, padding {padding}, "
                         f"dilation {dilation}")
    if sx == 1 and px <= (kw - 1) * dx < w + px:
        # rows share their padding: a read past a row's end lands on the next row's left
        # padding (see backends/numpy_ref/sparse.py); a row still longer than the filter's
        # reach, so that distinct taps keep distinct offsets
        return oh, ow, -(-(h + 2 * py) // sy), w + px
    return oh, ow, -(-(h + 2 * py) // sy), -(-(w + 2 * px) // sx)


def conv_offsets(channel, tap_row, tap_col, channels, plane_hw, stride, dilation):
    """Column indices of filter taps ``(channel, tap_row, tap_col)`` (arrays or ints)."""
    (hq, wq), (sy, sx), (dy, dx) = plane_hw, stride, dilation
    r, s = tap_row * dy, tap_col * dx
    phase = (r % sy) * sx + s % sx
    return ((phase * channels + channel) * hq + r // sy) * wq + s // sx


def conv_frame(x, stride, padding, plane_hw, slack):
    """The padded, phase-split, batch-innermost copy of ``x``, flat, with ``slack`` zero pixels.

    Notation: ``x: (N, C, H, W)`` -> ``((sy * sx * C * Hq * Wq + slack) * N,)``.
    """
    xp = get_array_module(x)
    n, c, h, w = x.shape
    (sy, sx), (py, px), (hq, wq) = stride, padding, plane_hw
    size = sy * sx * c * hq * wq * n
    frame = xp.zeros(size + slack * n, dtype=x.dtype)
    planes = frame[:size].reshape(sy, sx, c, hq, wq, n)
    image = x.transpose(1, 2, 3, 0)  # (C, H, W, N)
    for a in range(sy):
        for b in range(sx):
            # input row h lands on padded row h + py: phase (h + py) % sy, plane row // sy
            h0, w0 = (a - py) % sy, (b - px) % sx
            rows = image[:, h0::sy, w0::sx, :]
            u0, v0 = (h0 + py) // sy, (w0 + px) // sx
            planes[a, b, :, u0:u0 + rows.shape[1], v0:v0 + rows.shape[2], :] = rows
    return frame


def check_csr(indptr, indices, values, bias, what):
    """Raise ValueError unless the CSR arrays (and the bias, if any) agree in size."""
    nnz = int(indptr[-1]) if len(indptr) else -1
    if nnz < 0 or len(indices) != nnz or len(values) != nnz:
        raise ValueError(f"{what}: CSR arrays disagree: indptr ends at {nnz}, "
                         f"{len(indices)} indices and {len(values)} values")
    if bias is not None and bias.size != len(indptr) - 1:
        raise ValueError(f"{what}: bias has {bias.size} values, expected one per row "
                         f"({len(indptr) - 1})")
