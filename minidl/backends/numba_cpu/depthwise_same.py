"""Depthwise convolution at stride 1 with "same" padding (``2p = k - 1``, output size = input
size): MobileNet's stride-1 layers, without the phase grid of ``depthwise.py``.

Notation: a plane ``(H, W)`` is flat with pitch ``W``; ``o = c*M + m``; taps ``t = i*kw + j``.

At pitch ``W`` output pixel ``p = r*W + q`` reads tap ``(i, j)`` at
``p + (i - py)*W + (j - px)``: one fixed offset per tap, as in the phase grid, except where
the tap's column falls off the row -- the index then lands on the neighbouring row's first
or last columns. So tap column ``j`` reads its own copy of the plane in which exactly those
columns are 0 (``j < px``: the last ``px - j``; ``j > px``: the first ``j - px``), framed by
zero rows above and below::

    copies[j*TOTAL + py*W + px + e] = plane[e]     (masked columns 0, frame 0)
    y[p] = sum_t w[o, t] * copies[p + j*TOTAL + i*W + j]

Filling is ``kw`` block copies (vectorised, unlike row-by-row copies of short rows) and the
output is written straight into ``y``, with no copy back. The input gradient is the same sum
with the filter flipped (the taps of a stride-1 "same" convolution mirror each other), and
the filter gradient a dot product per tap between ``gy`` and the copies.
"""

import functools

import numpy as np
from numba import njit, prange

from .loops import U, _0, _1, as_taps, copy, correlate, dots, scale_shift, task_chunks


#: images stacked per filter-gradient task: as many as keep the copies within ~128 KB
STACK_VALUES = 32768


def is_same(filter_shape, stride, padding):
    kh, kw = filter_shape[2:]
    return tuple(stride) == (1, 1) and (2 * padding[0], 2 * padding[1]) == (kh - 1, kw - 1)


@functools.lru_cache(maxsize=64)
def plan(h, w, kh, kw):
    """``(total, base, taps, keep)``: length of one copy, where the plane starts in it, the
    offset of every tap ``t = i*kw + j`` in the flat copies, and per tap column ``j`` which
    plane cells its copy keeps (``keep: (kw, H*W)`` uint8, 0 on the hidden columns)."""
    py, px = (kh - 1) // 2, (kw - 1) // 2
    total = (h + kh - 1) * w + kw - 1
    taps = [j * total + i * w + j for i in range(kh) for j in range(kw)]
    column = np.arange(w)
    keep = np.stack([np.tile((column >= j - px) & (column < w + j - px), h)
                     for j in range(kw)]).astype(np.uint8)
    return U(total), U(py * w + px), as_taps(taps), keep


@njit(cache=True)
def _fill(plane, copies, total, base, px, keep):
    """Copy ``plane`` (flat) into each tap column's copy, 0 where that column is hidden
    (a select, not a multiplication: an inf in a hidden cell must still give 0)."""
    size, zero = U(plane.size), plane.dtype.type(0)
    for j in range(U(keep.shape[0])):
        start = j * total + base
        if j == px:
            copy(plane, copies, start, size)
        else:
            kept = keep[j]
            for e in range(size):
                copies[start + e] = plane[e] if kept[e] else zero


@njit(parallel=True, cache=True)
def _forward(x, w, y, m, px, kw, total, base, taps, keep, chunks, scale, shift, relu):
    """``x: (N, C, H*W)``, ``w: (C*M, kh*kw)``, ``y: (N, C*M, H*W)``; integers unsigned;
    ``scale``, ``shift``, ``relu``: each plane's batch norm, as in ``depthwise._forward``."""
    n, c, size = U(x.shape[0]), U(x.shape[1]), U(x.shape[2])
    tasks = n * c
    for chunk in prange(chunks):
        copies = np.zeros(kw * total, dtype=x.dtype)   # frames stay 0 from task to task
        for task in range(chunk * tasks // chunks, (chunk + _1) * tasks // chunks):
            b, ci = divmod(task, c)
            _fill(x[b, ci], copies, total, base, px, keep)
            for mm in range(m):
                o = ci * m + mm
                correlate(y[b, o], copies, w[o], taps, size, False)
                if scale.size:
                    scale_shift(y[b, o], size, scale[o], shift[o], relu)


def forward_call(x_shape, w_shape, m):
    """``(kernel, x view, w view, y view, arguments)`` of the forward of one geometry
    (``depthwise.depthwise_conv2d_forward`` makes the call)."""
    n, c, h, wd = x_shape
    f, _, kh, kw = w_shape
    total, base, taps, keep = plan(h, wd, kh, kw)
    return (_forward, (n, c, h * wd), (f, kh * kw), (n, f, h * wd),
            (U(m), U((kw - 1) // 2), U(kw), total, base, taps, keep, task_chunks(n * c)))


@njit(parallel=True, cache=True)
def _grad_input(gy, w, gx, m, px, kw, total, base, taps, keep, chunks):
    """``gy: (N, C*M, H*W)``, ``w``: flipped filters ``(C*M, kh*kw)``, ``gx: (N, C, H*W)``."""
    n, c, size = U(gx.shape[0]), U(gx.shape[1]), U(gx.shape[2])
    tasks = n * c
    for chunk in prange(chunks):
        copies = np.zeros(kw * total, dtype=gy.dtype)
        for task in range(chunk * tasks // chunks, (chunk + _1) * tasks // chunks):
            b, ci = divmod(task, c)
            for mm in range(m):          # gx[c] gathers from the M output channels it feeds
                _fill(gy[b, ci * m + mm], copies, total, base, px, keep)
                correlate(gx[b, ci], copies, w[ci * m + mm], taps, size, mm > _0)


def grad_input(gy, w, input_shape, m):
    n, c, h, wd = input_shape
    f, _, kh, kw = w.shape
    total, base, taps, keep = plan(h, wd, kh, kw)
    flipped = np.ascontiguousarray(np.asarray(w, dtype=gy.dtype)[:, 0, ::-1, ::-1])
    gx = np.empty(input_shape, dtype=gy.dtype)
    _grad_input(np.ascontiguousarray(gy).reshape(n, f, h * wd), flipped.reshape(f, kh * kw),
                gx.reshape(n, c, h * wd), U(m), U((kw - 1) // 2), U(kw), total, base, taps,
                keep, task_chunks(n * c))
    return gx


@njit(parallel=True, cache=True)
def _grad_filter(x, gy, gw, m, px, kw, total, base, taps, keep, group):
    """``x: (N, C, H*W)``, ``gy: (N, C*M, H*W)``, ``gw: (C*M, kh*kw)``; integers unsigned.

    ``group`` images are stacked, one block of ``total`` values each, in the copies and in
    a frame of gy (gy at the block's ``base``, zeros around), so each tap is one dot
    product over the whole group: the zeros of gy skip the gaps between images.
    """
    n, c, size = U(x.shape[0]), U(x.shape[1]), U(x.shape[2])
    ntaps = U(gw.shape[1])
    span = group * total                            # one tap column's copies
    for ci in prange(c):
        copies = np.zeros(kw * span, dtype=x.dtype)
        framed = np.zeros((m, span), dtype=gy.dtype)
        sums = np.zeros((m, ntaps))                   # float64: N*H*W terms
        for first in range(_0, n, group):
            count = min(group, n - first)
            for k in range(count):
                _fill(x[first + k, ci], copies[k * total:], span, base, px, keep)
                for mm in range(m):
                    copy(gy[first + k, ci * m + mm], framed[mm], k * total + base, size)
            length = (count - _1) * total + size
            for mm in range(m):
                dots(framed[mm, base:], copies, taps, length, sums[mm])
        for mm in range(m):
            for t in range(ntaps):
                gw[ci * m + mm, t] = sums[mm, t]


def grad_filter(x, gy, filter_shape, m):
    n, c, h, wd = x.shape
    f, _, kh, kw = filter_shape
    total, base, _, keep = plan(h, wd, kh, kw)
    group = max(1, min(n, STACK_VALUES // (kw * int(total))))
    # tap (i, j) of the stacked copies: column j's block, shifted as in plan()
    taps = np.array([j * group * total + i * wd + j for i in range(kh) for j in range(kw)],
                    dtype=U)
    gw = np.empty((f, kh * kw), dtype=x.dtype)
    _grad_filter(np.ascontiguousarray(x).reshape(n, c, h * wd),
                 np.ascontiguousarray(gy, dtype=x.dtype).reshape(n, f, h * wd), gw, U(m),
                 U((kw - 1) // 2), U(kw), total, base, taps, keep, U(group))
    return gw.reshape(filter_shape)
