"""Depthwise convolution with the batch innermost: the ``cpu`` kernels from batch 8 on.

Notation: ``x: (N, C, H, W)``, ``w: (C*M, 1, kh, kw)``, ``y, gy: (N, C*M, OH, OW)``;
output channel ``o = c*M + m`` reads input channel ``c``; taps ``t = i*kw + j``.

``depthwise.py`` lays a plane out one image at a time. A 7x7 output plane (MobileNet's last
layers) is then 49 values: each pass over it pays its loop setup and remainders, and the
copies into and out of the padded layout cost as much as the multiply-adds. But the images
of one channel share its filter, so here ``LANES`` of them sit side by side, one vector::

    frame[(a*WP + b)*LANES + n] = x_pad[first + n, c, a, b]       (zero padding, WP = W + 2px)

and every output pixel is one vector of ``LANES`` images, whatever the stride::

    y[first + n, o, r, q] = sum_t w[o, t] * frame[((r*sy + i)*WP + q*sx + j)*LANES + n]

The explicit vector intrinsics of ``simd.py`` compute four pixels at a time, each summed
over its taps in registers (:func:`simd.correlate_pixels`), and move images into and out
of the lanes as 8 x 8 blocks transposed in registers (:func:`simd.transpose8`). A short
last group of images fills the lanes it lacks with zeros. On MobileNet's layers at batch
8 this took 0.5-0.9x the time of ``depthwise.py`` (forward and both gradients), most on
the stride-2 and 7x7 layers. The forward keeps its working set in L2: rows of whole 8 x 8
blocks go from the planes straight into the frame, and the output is made a strip of rows
at a time (at 112x112, plane-sized buffers beside the frame took ~1.25x the time).

* input gradient, a gather: padded input cell ``(a, b)`` of phase ``(a % sy, b % sx)`` is
  read by the sub-filter of that phase (``depthwise._gather_weights``), from ``gy`` framed
  by zeros the same way, batch innermost;
* filter gradient: per tap, a dot product over pixels and images of ``gy`` with the frame
  (:func:`simd.tap_dots`: the taps' sums stay in registers over four pixels).

Index arithmetic is unsigned (``np.uint64``; see ``loops.py``).
"""

from functools import lru_cache

import numpy as np
from numba import njit, prange

from .loops import U, _0, _1, scale_shift, task_chunks
from .simd import correlate_pixels, tap_dots, transpose8

#: images per vector: eight float32 fill one AVX register (``simd.transpose8`` moves
#: blocks of 8 x 8)
LANES = U(8)


def applies(n, dtype):
    """Whether a batch of ``n`` images of ``dtype`` runs here: float32 or float64 (the
    vector intrinsics' types), at least one whole vector of images, and lanes left empty by
    a short last group at most a quarter of the images (a batch of 9 would compute 16
    lanes; there the image-at-a-time kernels are faster). Measured faster than
    ``depthwise.py`` at batch 8, 16 and 32 on every MobileNet layer (7x7 to 112x112)."""
    lanes = -(-n // int(LANES)) * int(LANES)
    return dtype in (np.float32, np.float64) and n >= LANES and 4 * lanes <= 5 * n


# --- copies between planes and frames, LANES images at a time --------------------------

@njit(cache=True)
def _to_lanes(planes, channels, size, first, count, channel, lanes):
    """``lanes[e*LANES + n] = planes[((first + n)*channels + channel)*size + e]`` for ``e <
    size``, ``n < count`` (``planes`` flat); lanes ``count..LANES`` are zeroed (a short
    group: its missing images read as zeros). Blocks of 8 x 8 are transposed in
    registers."""
    head = (first * channels + channel) * size
    if count < LANES:
        lanes[:size * LANES] = 0
        for e in range(size):
            for n in range(count):
                lanes[e * LANES + n] = planes[head + n * channels * size + e]
        return
    blocks = size // LANES * LANES
    for e in range(_0, blocks, LANES):
        transpose8(planes, head + e, channels * size, lanes, e * LANES, LANES)
    for e in range(blocks, size):
        for n in range(LANES):
            lanes[e * LANES + n] = planes[head + n * channels * size + e]


@njit(cache=True)
def _from_lanes(lanes, channels, size, first, count, channel, planes, accumulate,
                start=_0, length=_0):
    """``planes[((first + n)*channels + channel)*size + start + e] (+)= lanes[e*LANES + n]``
    for ``e < length`` (0: the whole plane, ``size``)."""
    head = (first * channels + channel) * size + start
    length = size if length == _0 else length
    blocks = length // LANES * LANES if count == LANES and not accumulate else _0
    for e in range(_0, blocks, LANES):
        transpose8(lanes, e * LANES, LANES, planes, head + e, channels * size)
    for e in range(blocks, length):
        for n in range(count):
            at = head + n * channels * size + e
            if accumulate:
                planes[at] += lanes[e * LANES + n]
            else:
                planes[at] = lanes[e * LANES + n]


@njit(cache=True)
def _frame(lanes, width, rows, frame, pitch, top, left):
    """Place ``rows`` rows of ``width`` pixels (``lanes``, LANES values a pixel) at row
    ``top``, column ``left`` of ``frame`` (``pitch`` pixels a row); the rest stays as is."""
    run = width * LANES
    for row in range(rows):
        at, source = ((top + row) * pitch + left) * LANES, row * run
        for t in range(run):
            frame[at + t] = lanes[source + t]


@njit(cache=True)
def _planes_to_frame(planes, channels, width, rows, first, count, channel, frame, pitch,
                     top, left):
    """:func:`_to_lanes` and :func:`_frame` in one pass: each image row of channel
    ``channel`` goes transposed straight to its row of ``frame`` (no plane-sized buffer
    between them, which at 112x112 pushed the working set out of L2). For rows of whole
    8 x 8 blocks: other columns go a value at a time."""
    size = rows * width
    head = (first * channels + channel) * size
    apart = channels * size                       # from one image's plane to the next's
    blocks = width // LANES * LANES if count == LANES else _0
    for row in range(rows):
        at, source = ((top + row) * pitch + left) * LANES, head + row * width
        for e in range(_0, blocks, LANES):
            transpose8(planes, source + e, apart, frame, at + e * LANES, LANES)
        for e in range(blocks, width):
            for n in range(LANES):
                if n < count:
                    frame[at + e * LANES + n] = planes[source + n * apart + e]
                else:       # a short group's missing images read as zeros
                    frame[at + e * LANES + n] = 0


#: pixels per call of the vector kernels: four pixels' sums (two registers each) share
#: each weight's broadcast
BLOCK = U(4)


@njit(cache=True)
def _correlate_row(out, at, out_step, frame, base, step, weights, taps, count):
    """``out[at + p*out_step + n] = sum_t weights[t] * frame[base + taps[t] + p*step + n]``
    for ``p < count`` pixels, ``n < LANES`` images -- and up to ``BLOCK - 1`` pixels more.

    Blocks of ``BLOCK`` pixels need ``step`` as a constant of
    :func:`simd.correlate_pixels`: the branches give it for strides 1 and 2 (``step``
    LANES or 2*LANES), and the row is rounded up to whole blocks (a 7-pixel row as two
    blocks, not one and three single pixels): the pixels past ``count`` read on into the
    next row of ``frame`` or its :func:`_slack`, and write into the next row of ``out``
    -- rows must be written in order, the next one overwriting them -- or its slack.
    Other strides go a pixel at a time."""
    p = _0
    if step == LANES:
        while p < count:
            correlate_pixels(out, at + p * out_step, out_step, frame, base + p * step, weights,
                             taps, 8, 4)
            p += BLOCK
    elif step == U(2) * LANES:
        while p < count:
            correlate_pixels(out, at + p * out_step, out_step, frame, base + p * step, weights,
                             taps, 16, 4)
            p += BLOCK
    else:
        while p < count:
            correlate_pixels(out, at + p * out_step, out_step, frame, base + p * step,
                             weights, taps, 0, 1)
            p += _1


@njit(cache=True)
def _slack(sx):
    """Values after a buffer that the pixels of :func:`_correlate_row` past a row may
    read or write: ``BLOCK - 1`` pixels of ``sx * LANES`` values (``sx``: the stride, or
    the output step in pixels)."""
    return BLOCK * max(sx, U(2)) * LANES


# --- forward ------------------------------------------------------------------------------

#: values of output computed before they are moved to ``y``: 32 KB of float32, so that
#: the frame (416 KB at 112x112) and they stay in L2 together
STRIP_VALUES = U(8192)


@njit(parallel=True, cache=True)
def _forward(x, w, y, dims, geometry, taps, chunks, scale, shift, relu):
    """``x``, ``y``: flat ``(N, C, H*W)``, ``(N, C*M, OH*OW)``; ``w: (C*M, kh*kw)``;
    integers unsigned; ``scale``, ``shift``, ``relu``: each output channel's batch norm, as
    in ``depthwise._forward`` (the strip holds one channel of eight images)."""
    n, c, m = dims
    h, width, pitch, rows, py, px, sy, sx, oh, ow = geometry
    groups = (n + LANES - _1) // LANES
    tasks = c * groups
    strip = max(_1, min(oh, STRIP_VALUES // (ow * LANES)))     # output rows at a time
    # rows of whole 8 x 8 blocks go straight to the frame; others (MobileNet's 28, 14, 7)
    # would be mostly remainders, faster transposed a plane at a time
    whole_blocks = width % LANES == _0
    for chunk in prange(chunks):
        frame = np.zeros(rows * pitch * LANES + _slack(sx), dtype=x.dtype)   # padding: 0
        # the output strip; without whole blocks first the input plane's lanes
        out = np.empty(max(strip * ow, _0 if whole_blocks else h * width) * LANES + _slack(sx),
                       dtype=x.dtype)
        for task in range(chunk * tasks // chunks, (chunk + _1) * tasks // chunks):
            ci, g = divmod(task, groups)
            first = g * LANES
            count = min(LANES, n - first)
            if whole_blocks:
                _planes_to_frame(x, c, width, h, first, count, ci, frame, pitch, py, px)
            else:
                _to_lanes(x, c, h * width, first, count, ci, out)
                _frame(out, width, h, frame, pitch, py, px)
            for mm in range(m):
                o = ci * m + mm
                for top in range(_0, oh, strip):
                    below = min(strip, oh - top)
                    for r in range(below):
                        _correlate_row(out, r * ow * LANES, LANES, frame,
                                       (top + r) * sy * pitch * LANES, sx * LANES, w[o],
                                       taps, ow)
                    if scale.size:
                        scale_shift(out, below * ow * LANES, scale[o], shift[o], relu)
                    _from_lanes(out, c * m, oh * ow, first, count, o, y, False, top * ow,
                                below * ow)


def _padded(x_shape, filter_shape, stride, padding, oh, ow):
    """``(geometry, taps)`` of the zero-padded input frame: ``geometry`` the unsigned
    ``(H, W, pitch, rows, py, px, sy, sx, OH, OW)`` of :func:`_forward` and
    :func:`_grad_filter`, ``taps`` where each filter tap reads from a pixel's top-left."""
    return _padded_of(tuple(x_shape), tuple(filter_shape), tuple(stride), tuple(padding),
                      int(oh), int(ow))


@lru_cache(maxsize=256)
def _padded_of(x_shape, filter_shape, stride, padding, oh, ow):
    """:func:`_padded`, kept per geometry: making the unsigned integers costs ~9 us a call,
    which at batch 8 is a few per cent of a 14x14 layer."""
    _, _, h, wd = x_shape
    kh, kw = filter_shape[2:]
    (sy, sx), (py, px) = stride, padding
    pitch, rows = wd + 2 * px, h + 2 * py
    taps = tuple(U((i * pitch + j) * int(LANES)) for i in range(kh) for j in range(kw))
    return tuple(U(v) for v in (h, wd, pitch, rows, py, px, sy, sx, oh, ow)), taps


def forward_call(x_shape, w_shape, stride, padding, m, oh, ow):
    """``(kernel, x view, w view, y view, arguments)`` of the forward of one geometry
    (``depthwise.depthwise_conv2d_forward`` makes the call)."""
    n, c = x_shape[:2]
    f, _, kh, kw = w_shape
    geometry, taps = _padded(x_shape, w_shape, stride, padding, oh, ow)
    return (_forward, (-1,), (f, kh * kw), (-1,),
            ((U(n), U(c), U(m)), geometry, taps, task_chunks(c * -(-n // int(LANES)))))


# --- input gradient: a gather per input phase --------------------------------------------

@njit(parallel=True, cache=True)
def _grad_input(gy, w, gx, dims, geometry, taps, chunks):
    """``gy``, ``gx``: flat ``(N, C*M, OH*OW)``, ``(N, C, H*W)``; ``w``: per phase
    sub-filters ``(C*M, sy*sx, T)`` (``depthwise._gather_weights``); integers unsigned."""
    n, c, m = dims
    h, wd, oh, ow, pitch, rows, top, left, py, px, sy, sx = geometry
    groups = (n + LANES - _1) // LANES
    tasks = c * groups
    for chunk in prange(chunks):
        framed = np.zeros(rows * pitch * LANES + _slack(sx), dtype=gy.dtype)   # gy, 0s
        lanes = np.empty(max(h * wd, oh * ow) * LANES + _slack(sx), dtype=gx.dtype)
        for task in range(chunk * tasks // chunks, (chunk + _1) * tasks // chunks):
            ci, g = divmod(task, groups)
            first = g * LANES
            count = min(LANES, n - first)
            for mm in range(m):      # gx[c] gathers from the M output channels it feeds
                o = ci * m + mm
                _to_lanes(gy, c * m, oh * ow, first, count, o, lanes)
                _frame(lanes, ow, oh, framed, pitch, top, left)
                # input pixel (hh, ww) is padded cell (a*sy + ry, b*sx + rx): its phase's
                # sub-filter, from framed cell (a, b) up and left
                for hh in range(h):
                    a, ry = divmod(hh + py, sy)
                    for rx in range(sx):          # the columns of one phase in turn
                        ww = (rx + sx - px % sx) % sx
                        if ww < wd:
                            _correlate_row(lanes, (hh * wd + ww) * LANES, sx * LANES, framed,
                                           (a * pitch + (ww + px) // sx) * LANES, LANES,
                                           w[o, ry * sx + rx], taps, (wd - ww + sx - _1) // sx)
                _from_lanes(lanes, c, h * wd, first, count, ci, gx, mm > _0)


def grad_input(gy, sub_filters, filter_shape, input_shape, stride, padding, m, oh, ow):
    """``sub_filters``: ``depthwise._gather_weights`` of the filters, as ``gy``'s dtype."""
    n, c, h, wd = input_shape
    kh, kw = filter_shape[2:]
    (sy, sx), (py, px) = stride, padding
    ky0, kx0 = (kh - 1) // sy, (kw - 1) // sx     # how many outputs back a cell is read
    # gy at (ky0, kx0) of a zero frame that reaches every phase cell of the image
    rows = ky0 + max(oh, (h - 1 + py) // sy + 1)
    pitch = kx0 + max(ow, (wd - 1 + px) // sx + 1)
    # sub-filter tap (k, l) reads framed gy (k, l) cells up and left of the phase cell
    taps = tuple(U(((ky0 - k) * pitch + kx0 - l) * int(LANES))
                 for k in range(ky0 + 1) for l in range(kx0 + 1))
    gx = np.empty(input_shape, dtype=gy.dtype)
    geometry = tuple(U(v) for v in (h, wd, oh, ow, pitch, rows, ky0, kx0, py, px, sy, sx))
    _grad_input(np.ascontiguousarray(gy).reshape(-1), sub_filters, gx.reshape(-1),
                (U(n), U(c), U(m)), geometry, taps,
                task_chunks(c * -(-n // int(LANES))))
    return gx


# --- filter gradient: per input channel, a dot product per tap ---------------------------

@njit(cache=True)
def _tap_sums(lanes, frame, geometry, taps, sums, partial):
    """``sums[t] += sum_{r, q, n} lanes[(r*OW + q)*LANES + n] *
    frame[(r*sy*pitch + q*sx)*LANES + taps[t] + n]``, in vectors of LANES images
    (``partial``: LANES values per tap, scratch)."""
    pitch, sy, sx, oh, ow = geometry
    partial[:] = 0
    for r in range(oh):
        at, base = r * ow * LANES, r * sy * pitch * LANES
        q = _0
        while q + BLOCK <= ow:
            tap_dots(partial, lanes, at + q * LANES, frame, base + q * sx * LANES, sx * LANES,
                     taps, 4)
            q += BLOCK
        # the rest of the row in one call (not rounded up as in the forward: pixels past
        # the row would multiply gy's zeros into whatever the frame holds there, an inf
        # into a NaN)
        rest, at, base = ow - q, at + q * LANES, base + q * sx * LANES
        if rest == U(3):
            tap_dots(partial, lanes, at, frame, base, sx * LANES, taps, 3)
        elif rest == U(2):
            tap_dots(partial, lanes, at, frame, base, sx * LANES, taps, 2)
        elif rest == _1:
            tap_dots(partial, lanes, at, frame, base, sx * LANES, taps, 1)
    for t in range(len(taps)):
        total = 0.0
        for n in range(LANES):
            total += partial[t * LANES + n]
        sums[t] += total


@njit(parallel=True, cache=True)
def _grad_filter(x, gy, gw, dims, geometry, taps):
    """``x``, ``gy``: flat ``(N, C, H*W)``, ``(N, C*M, OH*OW)``; ``gw: (C*M, kh*kw)``;
    integers unsigned."""
    n, c, m = dims
    h, width, pitch, rows, py, px, sy, sx, oh, ow = geometry
    ntaps = U(gw.shape[1])
    for ci in prange(c):
        frame = np.zeros(rows * pitch * LANES, dtype=x.dtype)
        lanes = np.empty(max(h * width, oh * ow) * LANES, dtype=x.dtype)
        partial = np.empty(ntaps * LANES, dtype=x.dtype)
        sums = np.zeros((m, ntaps))                     # float64: N*OH*OW terms
        for first in range(_0, n, LANES):
            count = min(LANES, n - first)
            _to_lanes(x, c, h * width, first, count, ci, lanes)
            _frame(lanes, width, h, frame, pitch, py, px)
            for mm in range(m):
                _to_lanes(gy, c * m, oh * ow, first, count, ci * m + mm, lanes)
                _tap_sums(lanes, frame, (pitch, sy, sx, oh, ow), taps, sums[mm], partial)
        for mm in range(m):
            for t in range(ntaps):
                gw[ci * m + mm, t] = sums[mm, t]


def grad_filter(x, gy, filter_shape, stride, padding, m, oh, ow):
    n, c = x.shape[:2]
    f, _, kh, kw = filter_shape
    gw = np.empty((f, kh * kw), dtype=x.dtype)
    geometry, taps = _padded(x.shape, filter_shape, stride, padding, oh, ow)
    _grad_filter(np.ascontiguousarray(x).reshape(-1),
                 np.ascontiguousarray(gy, dtype=x.dtype).reshape(-1), gw,
                 (U(n), U(c), U(m)), geometry, taps)
    return gw.reshape(filter_shape)
