"""Reference 2-D convolution, written as its definition: a sum over the kernel taps.

Notation used throughout::

    x:  (N, C, H, W)        input images
    w:  (F, C/G, kh, kw)    filters; G = groups: filter f of group g sees the C/G input
                            channels of group g
    y:  (N, F, OH, OW)      OH = 1 + floor((H + 2 py - ((kh - 1) dy + 1)) / sy)

stride, padding and dilation are ``(y, x)`` pairs (height first). With ``x_pad`` the input
framed by ``py`` rows and ``px`` columns of zeros, the op is the cross-correlation::

    y[n, g, f, oh, ow] = sum_{c, i, j} w[g, f, c, i, j]
                                       * x_pad[n, g, c, oh*sy + i*dy, ow*sx + j*dx]

(channels split as ``(g, c)`` and filters as ``(g, f)``). For one tap ``(i, j)`` the input
cells read by all output pixels form one strided slice of ``x_pad``, so the sum is a loop
over the ``kh * kw`` taps, each a product of a slice with the tap's ``(F/G, C/G)`` weights.
The gradients are the same sum read backwards: each tap adds its share to a slice of the
padded input gradient, or contracts a slice with ``gy`` into one tap of the filter gradient.

This is the definition the fast kernels are checked against, not a fast kernel itself: the
``cpu`` backend has its own (``numba_cpu/conv.py``). Written against ``xp``, it also runs on
CuPy arrays, where the ``gpu`` backend falls back to it.
"""

from ...core.geometry import conv_geometry
from ...core.xp import get_array_module
from ..registry import register


def _tap_slices(i, j, stride, dilation, out_size):
    """Rows and columns of ``x_pad`` that tap ``(i, j)`` reads: ``oh*sy + i*dy`` for every
    ``oh`` and ``ow*sx + j*dx`` for every ``ow``."""
    (sy, sx), (dy, dx), (oh, ow) = stride, dilation, out_size
    return (slice(i * dy, i * dy + sy * (oh - 1) + 1, sy),
            slice(j * dx, j * dx + sx * (ow - 1) + 1, sx))


def _taps(kernel, stride, dilation, out_size):
    """Yield ``(i, j, rows, columns)`` for every tap of the kernel."""
    kh, kw = kernel
    for i in range(kh):
        for j in range(kw):
            yield (i, j) + _tap_slices(i, j, stride, dilation, out_size)


def _by_group(a, groups):
    """Split axis 1 into ``(G, axis / G)``: ``(N, C, H, W)`` -> ``(N, G, C/G, H, W)``."""
    return a.reshape(a.shape[0], groups, a.shape[1] // groups, *a.shape[2:])


def _pad(x, padding):
    """``x_pad``: ``x`` framed by ``py`` rows and ``px`` columns of zeros."""
    xp = get_array_module(x)
    (py, px) = padding
    return xp.pad(x, ((0, 0), (0, 0), (py, py), (px, px)))


@register("conv2d_forward")
def conv2d_forward(x, w, stride, padding, dilation, groups):
    """Cross-correlation of ``x`` with ``w`` (what deep learning calls convolution).

    Notation: ``x: (N, C, H, W)``, ``w: (F, C/G, kh, kw)`` -> ``(N, F, OH, OW)``.
    """
    xp = get_array_module(x, w)
    kernel, out_size = conv_geometry(x.shape, w.shape, stride, padding, dilation, groups)
    x_pad = _by_group(_pad(x, padding), groups)               # (N, G, C/G, Hp, Wp)
    w_g = w.reshape(groups, w.shape[0] // groups, *w.shape[1:])  # (G, F/G, C/G, kh, kw)
    y = 0
    for i, j, rows, columns in _taps(kernel, stride, dilation, out_size):
        # y[n, g, f] += sum_c w[g, f, c, i, j] * x_pad[n, g, c, rows, columns]
        y = y + xp.einsum("gfc,ngchw->ngfhw", w_g[..., i, j], x_pad[..., rows, columns],
                          optimize=True)
    return y.reshape(x.shape[0], w.shape[0], *out_size)


@register("conv2d_grad_input")
def conv2d_grad_input(gy, w, input_shape, stride, padding, dilation, groups):
    """Gradient with respect to the input: each tap sends ``w_tap.T @ gy`` back to the
    cells it read.

    Notation: ``gy: (N, F, OH, OW)``, ``w: (F, C/G, kh, kw)`` -> ``input_shape (N, C, H, W)``.
    """
    xp = get_array_module(gy, w)
    kernel, out_size = conv_geometry(input_shape, w.shape, stride, padding, dilation, groups)
    n, c, h, wd = input_shape
    (py, px) = padding
    gy_g = _by_group(gy, groups)                              # (N, G, F/G, OH, OW)
    w_g = w.reshape(groups, w.shape[0] // groups, *w.shape[1:])
    gx_pad = xp.zeros((n, groups, c // groups, h + 2 * py, wd + 2 * px),
                      dtype=xp.result_type(gy.dtype, w.dtype))
    for i, j, rows, columns in _taps(kernel, stride, dilation, out_size):
        # gx_pad[n, g, c, rows, columns] += sum_f w[g, f, c, i, j] * gy[n, g, f]
        gx_pad[..., rows, columns] += xp.einsum("gfc,ngfhw->ngchw", w_g[..., i, j], gy_g,
                                                optimize=True)
    gx_pad = gx_pad.reshape(n, c, h + 2 * py, wd + 2 * px)
    return xp.ascontiguousarray(gx_pad[:, :, py:py + h, px:px + wd])  # the frame dropped


@register("conv2d_grad_filter")
def conv2d_grad_filter(x, gy, filter_shape, stride, padding, dilation, groups):
    """Gradient with respect to the filters: tap ``(i, j)`` is ``gy`` contracted with the
    slice of ``x_pad`` that the tap read, over images and output pixels.

    Notation: ``x: (N, C, H, W)``, ``gy: (N, F, OH, OW)`` -> ``filter_shape (F, C/G, kh, kw)``.
    """
    xp = get_array_module(x, gy)
    kernel, out_size = conv_geometry(x.shape, filter_shape, stride, padding, dilation, groups)
    x_pad = _by_group(_pad(x, padding), groups)
    gy_g = _by_group(gy, groups)
    gw = xp.zeros((groups, filter_shape[0] // groups) + tuple(filter_shape[1:]),
                  dtype=xp.result_type(x.dtype, gy.dtype))
    for i, j, rows, columns in _taps(kernel, stride, dilation, out_size):
        # gw[g, f, c, i, j] = sum_{n, oh, ow} gy[n, g, f] * x_pad[n, g, c, rows, columns]
        gw[..., i, j] = xp.einsum("ngfhw,ngchw->gfc", gy_g, x_pad[..., rows, columns],
                                  optimize=True)
    return gw.reshape(filter_shape)
