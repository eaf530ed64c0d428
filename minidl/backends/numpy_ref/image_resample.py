"""Reference kernels that move image cells without weighing them against each other:
``pad`` (a frame of zeros), ``rotate`` (a quarter turn) and ``bilinear_interp`` (resizing).

Notation: ``x: (N, C, H, W)``. Each op is linear in ``x``, so each backward is the
transposed map applied to ``gy`` and needs only the input's shape.
"""

import numpy as np

from ...core.xp import get_array_module
from ..registry import register


# --- pad ----------------------------------------------------------------------------------

@register("image_pad_forward")
def image_pad_forward(x, pad_c, pad_h, pad_w):
    """Zeros before and after each of the channel, row and column axes.

    Notation: ``x: (N, C, H, W)`` -> ``(N, C + c0 + c1, H + h0 + h1, W + w0 + w1)`` with
    ``pad_c = (c0, c1)``, ``pad_h = (h0, h1)``, ``pad_w = (w0, w1)``;
    ``y[n, c0 + c, h0 + h, w0 + w] = x[n, c, h, w]``, every other cell 0.
    """
    xp = get_array_module(x)
    return xp.pad(x, ((0, 0), tuple(pad_c), tuple(pad_h), tuple(pad_w)))


@register("image_pad_backward")
def image_pad_backward(gy, input_shape, pad_c, pad_h, pad_w):
    """The cells of ``gy`` that came from ``x``: ``(N, C', H', W')`` -> ``input_shape``."""
    xp = get_array_module(gy)
    _, c, h, w = input_shape
    (c0, _), (h0, _), (w0, _) = pad_c, pad_h, pad_w
    return xp.ascontiguousarray(gy[:, c0:c0 + c, h0:h0 + h, w0:w0 + w])


# --- rotate -------------------------------------------------------------------------------

@register("image_rotate_forward")
def image_rotate_forward(x):
    """Each channel turned 90 degrees clockwise.

    Notation: ``x: (N, C, H, W)`` -> ``(N, C, W, H)``, ``y[n, c, j, i] = x[n, c, H-1-i, j]``
    (the bottom row of ``x`` becomes the first column of ``y``).
    """
    xp = get_array_module(x)
    return xp.ascontiguousarray(x[:, :, ::-1, :].transpose(0, 1, 3, 2))


@register("image_rotate_backward")
def image_rotate_backward(gy):
    """The turn undone (counter-clockwise): ``(N, C, W, H)`` -> ``(N, C, H, W)``."""
    xp = get_array_module(gy)
    return xp.ascontiguousarray(gy.transpose(0, 1, 3, 2)[:, :, ::-1, :])


# --- bilinear_interp ------------------------------------------------------------------------

def interp_matrix(in_size, out_size):
    """``A: (out_size, in_size)``, the weights of linear interpolation along one axis.

    Corners align: output ``i`` sits at input position ``p = i * (in - 1) / (out - 1)``
    (0 when ``out == 1``) and reads ``floor(p)`` with weight ``1 - frac(p)`` and the next
    cell with weight ``frac(p)`` (the same cell again at the last one).
    """
    ratio = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    a = np.zeros((out_size, in_size))
    for i in range(out_size):
        position = ratio * i
        low = min(int(position), in_size - 1)
        high = low + 1 if low < in_size - 1 else low
        frac = position - low
        a[i, low] += 1.0 - frac
        a[i, high] += frac
    return a


def _matrices(xp, in_hw, out_hw, dtype):
    return tuple(xp.asarray(interp_matrix(i, o), dtype=dtype) for i, o in zip(in_hw, out_hw))


@register("bilinear_interp_forward")
def bilinear_interp_forward(x, out_hw):
    """Bilinear resize of every channel to ``out_hw = (OH, OW)``.

    Notation: ``x: (N, C, H, W)`` -> ``(N, C, OH, OW)``; with ``A_h = interp_matrix(H, OH)``
    and ``A_w = interp_matrix(W, OW)``, each channel is ``A_h @ x[n, c] @ A_w.T``.
    """
    xp = get_array_module(x)
    a_h, a_w = _matrices(xp, x.shape[2:], out_hw, x.dtype)
    return xp.einsum("ih,nchw,jw->ncij", a_h, x, a_w, optimize=True)


@register("bilinear_interp_backward")
def bilinear_interp_backward(gy, input_shape):
    """Each channel ``A_h.T @ gy[n, c] @ A_w``: ``(N, C, OH, OW)`` -> ``input_shape``."""
    xp = get_array_module(gy)
    a_h, a_w = _matrices(xp, input_shape[2:], gy.shape[2:], gy.dtype)
    return xp.einsum("ih,ncij,jw->nchw", a_h, gy, a_w, optimize=True)
