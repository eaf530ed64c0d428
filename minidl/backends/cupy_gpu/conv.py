"""2-D convolution on the GPU: im2col from a strided view, then one cuBLAS GEMM per group.

Written against ``xp`` (it runs on NumPy arrays too, which is how the CPU-only tests check
it against the reference); the tap loop of the NumPy reference would launch ``kh * kw``
small products where this launches one large one.

Notation used throughout::

    x:    (N, C, H, W)            input images
    w:    (F, C/G, kh, kw)        filters; G = groups, filter f sees the channels of group
                                  f // (F/G)
    y:    (N, F, OH, OW)          OH = 1 + floor((H + 2 py - ((kh - 1) dy + 1)) / sy)
    cols: (G, C/G*kh*kw, OH*OW*N) the unrolled patches ("im2col")

stride, padding and dilation are ``(y, x)`` pairs (height first).

Layout, and why: the image is first copied into a zero frame laid out ``(C, Hp, Wp, N)``
(batch innermost), and ``cols`` is ``(c, i, j | oh, ow, n)``. Then

* every product is ONE large GEMM per group whatever the batch size:
  ``y = W @ cols``, ``gW = gy @ cols.T``, ``gcols = W.T @ gy``;
* the copies that unroll and fold back patches move runs of ``OW * N`` contiguous values
  (stride 1) instead of ``OW``: 4x4 images at batch 16 copy 64-value runs, not 4-value
  ones.

The price is transposing ``x``, ``y`` and ``gy`` between ``(N, ...)`` and ``(..., N)``:
copies the size of an image, ``kh * kw`` times smaller than ``cols``.
"""

from ...core.xp import get_array_module
from ...core.geometry import conv_geometry
from ..registry import register


def _offset_slices(i, j, stride, dilation, out_size):
    """Frame rows and columns that kernel offset ``(i, j)`` reads for every output pixel."""
    (sy, sx), (dy, dx), (oh, ow) = stride, dilation, out_size
    return (slice(i * dy, i * dy + sy * (oh - 1) + 1, sy),
            slice(j * dx, j * dx + sx * (ow - 1) + 1, sx))


def im2col(x, kernel, out_size, stride, padding, dilation, groups):
    """Unroll every receptive field of ``x`` into a column.

    Notation: ``x: (N, C, H, W)`` -> ``cols: (G, C/G * kh * kw, OH * OW * N)`` with
    ``cols[g, (c, i, j), (oh, ow, n)] = x_padded[n, g*C/G + c, oh*sy + i*dy, ow*sx + j*dx]``.
    """
    xp = get_array_module(x)
    n, c, h, w = x.shape
    (kh, kw), (oh, ow), (py, px) = kernel, out_size, padding
    frame = xp.zeros((c, h + 2 * py, w + 2 * px, n), dtype=x.dtype)
    frame[:, py:py + h, px:px + w, :] = x.transpose(1, 2, 3, 0)
    s_c, s_h, s_w, s_n = frame.strides
    # A view with one axis per index of the formula above; the reshape copies it.
    view = xp.lib.stride_tricks.as_strided(
        frame, shape=(c, kh, kw, oh, ow, n),
        strides=(s_c, dilation[0] * s_h, dilation[1] * s_w, stride[0] * s_h, stride[1] * s_w,
                 s_n))
    return view.reshape(groups, (c // groups) * kh * kw, oh * ow * n)


def col2im(cols, input_shape, kernel, out_size, stride, padding, dilation):
    """Fold columns back into images, summing overlaps (the adjoint of :func:`im2col`).

    Notation: ``cols: (..., OH * OW * N)`` holding ``C * kh * kw`` rows -> ``(N, C, H, W)``.
    One strided add per kernel offset ``(i, j)``, each over a whole ``(C, OH, OW, N)`` block:
    the Python loop runs ``kh * kw`` times, never per pixel.
    """
    xp = get_array_module(cols)
    n, c, h, w = input_shape
    (kh, kw), (oh, ow), (py, px) = kernel, out_size, padding
    blocks = cols.reshape(c, kh, kw, oh, ow, n)
    frame = xp.zeros((c, h + 2 * py, w + 2 * px, n), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            rows, columns = _offset_slices(i, j, stride, dilation, out_size)
            frame[:, rows, columns, :] += blocks[:, i, j]
    return xp.ascontiguousarray(frame[:, py:py + h, px:px + w, :].transpose(3, 0, 1, 2))


def _is_pointwise(filter_shape, stride, padding, groups):
    """1x1 filters, stride 1, no padding, one group: the convolution is a matrix product over
    channels per image, ``y[n] = W @ x[n]``, computed without im2col or transposes (MobileNet's
    pointwise convolutions; dilation does not matter for a 1x1 filter)."""
    return (tuple(filter_shape[2:]) == (1, 1) and tuple(stride) == (1, 1)
            and tuple(padding) == (0, 0) and groups == 1)


def _filters_by_group(w, groups):
    """``(F, C/G, kh, kw)`` -> ``(G, F/G, C/G * kh * kw)`` (a view)."""
    return w.reshape(groups, w.shape[0] // groups, -1)


def _grad_by_group(gy, groups):
    """``(N, F, OH, OW)`` -> ``(G, F/G, OH * OW * N)``, the column order of ``cols``."""
    xp = get_array_module(gy)
    n, f, oh, ow = gy.shape
    return xp.ascontiguousarray(gy.transpose(1, 2, 3, 0)).reshape(groups, f // groups,
                                                                   oh * ow * n)


@register("conv2d_forward", backend="gpu")
def conv2d_forward(x, w, stride, padding, dilation, groups):
    """Cross-correlation of ``x`` with ``w`` (what deep learning calls convolution).

    Notation: ``x: (N, C, H, W)``, ``w: (F, C/G, kh, kw)`` -> ``(N, F, OH, OW)``.
    """
    xp = get_array_module(x, w)
    kernel, (oh, ow) = conv_geometry(x.shape, w.shape, stride, padding, dilation, groups)
    if x.shape[0] == 0:         # (the layouts below reshape with -1)
        return xp.empty((0, w.shape[0], oh, ow), dtype=xp.result_type(x, w))
    if _is_pointwise(w.shape, stride, padding, groups):
        n, c = x.shape[:2]
        return xp.matmul(w.reshape(-1, c), x.reshape(n, c, oh * ow)).reshape(n, -1, oh, ow)
    cols = im2col(x, kernel, (oh, ow), stride, padding, dilation, groups)
    y = xp.matmul(_filters_by_group(w, groups), cols)            # (G, F/G, OH*OW*N)
    return xp.ascontiguousarray(y.reshape(w.shape[0], oh, ow, x.shape[0]).transpose(3, 0, 1, 2))


@register("conv2d_grad_input", backend="gpu")
def conv2d_grad_input(gy, w, input_shape, stride, padding, dilation, groups):
    """Gradient with respect to the input: ``col2im(W.T @ gy)``.

    Notation: ``gy: (N, F, OH, OW)``, ``w: (F, C/G, kh, kw)`` -> ``input_shape (N, C, H, W)``.
    """
    xp = get_array_module(gy, w)
    kernel, out_size = conv_geometry(input_shape, w.shape, stride, padding, dilation, groups)
    if input_shape[0] == 0:
        return xp.zeros(input_shape, dtype=xp.result_type(gy, w))
    if _is_pointwise(w.shape, stride, padding, groups):
        n, c, h, wd = input_shape
        return xp.matmul(w.reshape(-1, c).T, gy.reshape(n, -1, h * wd)).reshape(input_shape)
    gcols = xp.matmul(_filters_by_group(w, groups).transpose(0, 2, 1), _grad_by_group(gy, groups))
    return col2im(gcols, input_shape, kernel, out_size, stride, padding, dilation)


@register("conv2d_grad_filter", backend="gpu")
def conv2d_grad_filter(x, gy, filter_shape, stride, padding, dilation, groups):
    """Gradient with respect to the filters: ``gy @ cols.T`` (im2col recomputed, not kept).

    Notation: ``x: (N, C, H, W)``, ``gy: (N, F, OH, OW)`` -> ``filter_shape (F, C/G, kh, kw)``.
    """
    xp = get_array_module(x, gy)
    kernel, out_size = conv_geometry(x.shape, filter_shape, stride, padding, dilation, groups)
    if x.shape[0] == 0:         # nothing to sum
        return xp.zeros(filter_shape, dtype=xp.result_type(x, gy))
    if _is_pointwise(filter_shape, stride, padding, groups):
        n, c, h, wd = x.shape
        per_image = xp.matmul(gy.reshape(n, -1, h * wd), x.reshape(n, c, h * wd).transpose(0, 2, 1))
        return per_image.sum(axis=0).reshape(filter_shape)
    cols = im2col(x, kernel, out_size, stride, padding, dilation, groups)
    gw = xp.matmul(_grad_by_group(gy, groups), cols.transpose(0, 2, 1))
    return gw.reshape(filter_shape)
