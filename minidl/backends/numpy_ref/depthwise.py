"""Reference depthwise 2-D convolution: every channel convolved with its own filters.

Notation used throughout::

    x:  (N, C, H, W)          input images
    w:  (C*M, 1, kh, kw)      filters; M = depth multiplier, output channel o reads
                              input channel o // M
    y:  (N, C*M, OH, OW)      OH = (H + 2 py - kh) // sy + 1  (no dilation)

    y[n, o, oh, ow] = sum_{i, j} w[o, 0, i, j] * x_pad[n, o // M, oh*sy + i, ow*sx + j]

stride and padding are ``(y, x)`` pairs. This is grouped convolution with
``groups = C`` (``conv2d_forward(x, w, stride, padding, (1, 1), C)`` computes the same),
but without im2col: each of the ``kh * kw`` kernel offsets is one strided slice of the
zero-padded input, multiplied by one weight per channel and summed -- the Python loop runs
``kh * kw`` times, never per pixel. Viewing channel ``o`` as ``(c, m)`` with
``o = c * M + m`` turns "reads input channel o // M" into plain broadcasting.
"""

from ...core.xp import get_array_module
from ...core.geometry import depthwise_geometry
from ..registry import register


def _zero_frame(x, padding):
    """``x`` inside a zero border: ``(N, C, H, W)`` -> ``(N, C, H + 2py, W + 2px)``."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    py, px = padding
    frame = xp.zeros((n, c, h + 2 * py, w + 2 * px), dtype=x.dtype)
    frame[:, :, py:py + h, px:px + w] = x
    return frame


def _tap(i, j, stride, out_size):
    """Frame rows and columns that kernel offset ``(i, j)`` reads for every output pixel."""
    (sy, sx), (oh, ow) = stride, out_size
    return (slice(i, i + sy * (oh - 1) + 1, sy), slice(j, j + sx * (ow - 1) + 1, sx))


@register("depthwise_conv2d_forward")
def depthwise_conv2d_forward(x, w, stride, padding):
    """Depthwise cross-correlation.

    Notation: ``x: (N, C, H, W)``, ``w: (C*M, 1, kh, kw)`` -> ``(N, C*M, OH, OW)``.
    """
    xp = get_array_module(x, w)
    m, (kh, kw), (oh, ow) = depthwise_geometry(x.shape, w.shape, stride, padding)
    n, c = x.shape[:2]
    frame = _zero_frame(x, padding)
    filters = w.reshape(c, m, kh, kw)
    y = xp.zeros((n, c, m, oh, ow), dtype=xp.result_type(x, w))
    for i in range(kh):
        for j in range(kw):
            rows, cols = _tap(i, j, stride, (oh, ow))
            y += frame[:, :, None, rows, cols] * filters[:, :, i, j, None, None]
    return y.reshape(n, c * m, oh, ow)


@register("depthwise_conv2d_grad_input")
def depthwise_conv2d_grad_input(gy, w, input_shape, stride, padding):
    """Gradient with respect to the input: each tap's slice receives ``sum_m w * gy``.

    Notation: ``gy: (N, C*M, OH, OW)``, ``w: (C*M, 1, kh, kw)`` -> ``input_shape (N, C, H, W)``.
    """
    xp = get_array_module(gy, w)
    m, (kh, kw), (oh, ow) = depthwise_geometry(input_shape, w.shape, stride, padding)
    n, c, h, wd = input_shape
    (py, px) = padding
    grads = gy.reshape(n, c, m, oh, ow)
    filters = w.reshape(c, m, kh, kw)
    frame = xp.zeros((n, c, h + 2 * py, wd + 2 * px), dtype=xp.result_type(gy, w))
    for i in range(kh):
        for j in range(kw):
            rows, cols = _tap(i, j, stride, (oh, ow))
            frame[:, :, rows, cols] += (grads * filters[:, :, i, j, None, None]).sum(axis=2)
    return xp.ascontiguousarray(frame[:, :, py:py + h, px:px + wd])


@register("depthwise_conv2d_grad_filter")
def depthwise_conv2d_grad_filter(x, gy, filter_shape, stride, padding):
    """Gradient with respect to the filters: per tap, ``sum over n, oh, ow of gy * slice``.

    Notation: ``x: (N, C, H, W)``, ``gy: (N, C*M, OH, OW)`` -> ``filter_shape (C*M, 1, kh, kw)``.
    """
    xp = get_array_module(x, gy)
    m, (kh, kw), (oh, ow) = depthwise_geometry(x.shape, filter_shape, stride, padding)
    n, c = x.shape[:2]
    frame = _zero_frame(x, padding)
    grads = gy.reshape(n, c, m, oh, ow)
    gw = xp.zeros((c, m, kh, kw), dtype=xp.result_type(x, gy))
    for i in range(kh):
        for j in range(kw):
            rows, cols = _tap(i, j, stride, (oh, ow))
            gw[:, :, i, j] = xp.einsum("ncmhw,nchw->cm", grads, frame[:, :, rows, cols])
    return gw.reshape(filter_shape)
