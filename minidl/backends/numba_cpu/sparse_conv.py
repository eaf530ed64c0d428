"""Numba direct sparse convolution (Park et al., ICLR 2017): ``direct_sparse_conv2d``.

Same signature as the reference in ``backends/numpy_ref/sparse.py``, which defines the
frame (the input padded, phase-split, batch-innermost) and the CSR rows of frame offsets.
Every nonzero of filter row ``f`` multiply-adds a contiguous run of the frame into the
output row, ``out[f, t] += values[j] * frame[indices[j] * N + t]``; the run is an output
plane, ``OH * Wq * N`` values. :func:`_blocks` pads the run to register blocks (8 to 256
values, :func:`register_block`) and every nonzero multiply-adds into a block held in
vector registers, through the explicit vector intrinsics of ``simd.py``: one broadcast,
and one vector load and one multiply-add per 16 values. On
AlexNet's and VGG-CIFAR's layers that is 1.2-2.8x faster than a chunked loop over the run
(which loads and stores the output once per four nonzeros and leaves a scalar remainder).
Long runs are cut into spans that keep their part of the frame in L2.

The copies into and out of the frame run on Numba's threads too (``sparse_frames.py``).
Index arithmetic is unsigned (see ``sparse.py``); Numba does not check bounds: the
offsets must lie inside the frame, as ``minidl.sparse_inference.layout`` builds them, and
the frame carries ``LONGEST_BLOCK`` values of slack for the padded runs.
"""

from functools import lru_cache

import llvmlite.binding as llvm
import numpy as np
from numba import literally, njit, prange

from ...core.geometry import conv_frame_geometry
from ..registry import register
from .simd import multiply_add1, multiply_add4
from .sparse import SERIAL_BELOW, _checked
from .sparse_frames import conv_frame, unframe
from .threads import one_thread_below


def _has_avx512():
    try:
        return bool(llvm.get_host_cpu_features().get("avx512f"))
    except RuntimeError:            # features unknown: assume the narrower registers
        return False


def register_blocks(avx512):
    """The register blocks as ``(lanes, vectors)``: ``lanes * vectors`` output values held
    in vector registers while a row's nonzeros stream through them.

    With AVX-512, up to 16 vectors (of its 32 registers): a whole 13x13 plane at batch 1
    (a run of 195) in one block of 13 ran 1.5x faster than in blocks of 3 or 4 vectors,
    which stream every nonzero 4-5 times. Without it a vector of 16 is two of AVX's 16
    registers and four more hold the broadcast values: blocks stop at 5 vectors. On a Zen 3
    CPU, 5 were the fastest block for most AlexNet and VGG-CIFAR layers (0.85-0.95x the
    time of 4 on the 13x13 planes); 6 ran up to 1.3x slower than 5.
    """
    blocks = ((8, 1), (16, 1), (16, 2), (16, 3), (16, 4))
    if avx512:
        return blocks + ((16, 6), (16, 8), (16, 10), (16, 13), (16, 16))
    return blocks + ((16, 5),)


WIDE_BLOCKS = _has_avx512()
BLOCKS = register_blocks(WIDE_BLOCKS)
#: the longest block, in values: how far a padded run may read past its end
LONGEST_BLOCK = max(lanes * vectors for lanes, vectors in BLOCKS)
#: runs of at least this many values are cut into spans of ``SPAN`` values, in parallel
#: over the spans (every row of one span in turn) rather than over the rows
SPANS_FROM = 4096
SPAN = 256


def tail_block(remainder):
    """The block that ends a run: the smallest of :data:`BLOCKS` holding ``remainder``
    values (``BLOCKS`` is in increasing size), None for none left."""
    if remainder <= 0:
        return None
    return next(b for b in BLOCKS if b[0] * b[1] >= remainder)


def _split(run, block):
    """``(whole blocks, tail block or None)`` of a run cut into ``block``s."""
    size = block[0] * block[1]
    return run // size, tail_block(run % size)


def padded_run(run, block):
    """The values a run is computed over: whole ``block``s, then the tail block for what
    is left (the caller drops the padding)."""
    whole, tail = _split(run, block)
    return whole * block[0] * block[1] + (tail[0] * tail[1] if tail else 0)


@lru_cache(maxsize=1024)
def register_block(run):
    """The register block for a run: fewest vectors streamed, then least padding, then the
    longer block. The run is whole blocks and a tail block for the rest (a 13x13 plane, a
    run of 195 values: 80 + 80 + 48 without AVX-512, 208 values computed instead of 240).

    Each block streams all the row's nonzeros once, at about one vector's cost per
    nonzero for the index, value and broadcast, plus one per vector of the block.

    >>> [register_block(r) for r in (8, 16, 24, 80, 195, 384, 837, 1088)]  # AVX-512
    [(8, 1), (16, 1), (16, 2), (16, 4), (16, 13), (16, 16), (16, 13), (16, 16)]
    """
    def cost(block):
        whole, tail = _split(run, block)
        streamed = whole * (block[1] + 1) + (tail[1] + 1 if tail else 0)
        return streamed, padded_run(run, block), -block[1]
    best = min(BLOCKS, key=cost)
    # a run shorter than the block is its tail alone: name the block that computes it
    return best if run >= best[0] * best[1] else tail_block(max(run, 1))


@njit(fastmath=True, cache=True)
def _block_of_row(o, c0, lo, hi, indices, values, frame, step, vectors, lanes):
    """``o[c0 + t] += sum_j values[j] * frame[indices[j] * step + c0 + t]`` over nonzeros
    ``lo <= j < hi``, for ``t < lanes * vectors``: one register block.

    ``vectors`` and ``lanes`` are made compile-time constants (one specialisation per
    block), so the loop has a single shape and LLVM keeps the block in registers
    throughout it.
    """
    one, four = np.uint64(1), np.uint64(4)
    j = lo
    while j + four <= hi:
        b0 = indices[j] * step + c0
        b1 = indices[j + one] * step + c0
        b2 = indices[j + np.uint64(2)] * step + c0
        b3 = indices[j + np.uint64(3)] * step + c0
        v0, v1 = values[j], values[j + one]
        v2, v3 = values[j + np.uint64(2)], values[j + np.uint64(3)]
        multiply_add4(o, c0, frame, b0, b1, b2, b3, v0, v1, v2, v3, literally(vectors),
                      literally(lanes))
        j += four
    while j < hi:
        multiply_add1(o, c0, frame, indices[j] * step + c0, values[j], literally(vectors),
                      literally(lanes))
        j += one


@njit(fastmath=True, cache=True)
def _block(o, c0, lo, hi, indices, values, frame, step, lanes, vectors):
    """One register block of a row at ``c0``: the branches give each block its own
    specialisation of :func:`_block_of_row`."""
    if lanes == 8:
        _block_of_row(o, c0, lo, hi, indices, values, frame, step, 1, 8)
    elif vectors == 1:
        _block_of_row(o, c0, lo, hi, indices, values, frame, step, 1, 16)
    elif vectors == 2:
        _block_of_row(o, c0, lo, hi, indices, values, frame, step, 2, 16)
    elif vectors == 3:
        _block_of_row(o, c0, lo, hi, indices, values, frame, step, 3, 16)
    elif vectors == 4:
        _block_of_row(o, c0, lo, hi, indices, values, frame, step, 4, 16)
    elif not WIDE_BLOCKS:   # a constant: only one of the two sets is compiled
        _block_of_row(o, c0, lo, hi, indices, values, frame, step, 5, 16)
    else:
        if vectors == 6:
            _block_of_row(o, c0, lo, hi, indices, values, frame, step, 6, 16)
        elif vectors == 8:
            _block_of_row(o, c0, lo, hi, indices, values, frame, step, 8, 16)
        elif vectors == 10:
            _block_of_row(o, c0, lo, hi, indices, values, frame, step, 10, 16)
        elif vectors == 13:
            _block_of_row(o, c0, lo, hi, indices, values, frame, step, 13, 16)
        else:
            _block_of_row(o, c0, lo, hi, indices, values, frame, step, 16, 16)


@njit(fastmath=True, cache=True)
def _span_of_row(o, first, stop, lo, hi, indices, values, frame, step, start, relu, lanes,
                 vectors):
    """``o[first:stop] = relu(start + the row's nonzeros' runs there)``: whole blocks of
    ``lanes * vectors``, then the smallest block of :data:`BLOCKS` holding the rest
    (``stop - first`` as :func:`padded_run` pads it)."""
    for t in range(first, stop):
        o[t] = start
    block = np.uint64(lanes * vectors)
    c0 = first
    while c0 + block <= stop:
        _block(o, c0, lo, hi, indices, values, frame, step, lanes, vectors)
        c0 += block
    if c0 < stop:
        for tail_lanes, tail_vectors in BLOCKS:
            if tail_lanes * tail_vectors >= stop - c0:
                _block(o, c0, lo, hi, indices, values, frame, step, tail_lanes, tail_vectors)
                break
    if relu:
        for t in range(first, stop):
            o[t] = max(o[t], np.float32(0.0))


@njit(parallel=True, fastmath=True, cache=True)
def _blocks(indptr, indices, values, frame, pitch, bias, relu, lanes, vectors, span, out):
    """``out[f, t] = relu(bias[f] + sum_j values[j] * frame[indices[j] * pitch + t])`` in
    register blocks, in parallel over the rows, or over spans of ``span`` values.

    Notation: ``out: (F, R)``, ``R`` the run as :func:`padded_run` pads it (the caller
    drops the padding); ``frame`` flat, readable ``R`` values past every nonzero's start.
    A nonzero costs one broadcast, and one vector load and one multiply-add per vector
    of the block; the block never leaves the registers until the row's nonzeros are done.

    With ``span >= R`` a task is a row. Otherwise a task is a span of every row in turn:
    a row's nonzeros read its whole run from every input channel they touch, and for a
    long run (a 32x32 plane at batch 16 is 17 k values) that is megabytes per row, from
    L3; one span of the run reads a few hundred kilobytes of the frame instead, which stay
    in L2 while every row goes through it (3x faster on VGG-CIFAR's 64 -> 64 conv at batch
    16). ``span`` is a multiple of the block; the last span may be shorter (and end in a
    tail block). (One parallel
    loop for both: each costs seconds to compile on first use.)
    """
    rows, run = out.shape
    has_bias = bias.shape[0] > 0
    step = np.uint64(pitch)
    spans = -(-run // span)
    by_rows = spans == 1
    tasks = rows if by_rows else spans
    for task in prange(tasks):
        first_row = task if by_rows else 0
        last_row = task + 1 if by_rows else rows
        s = 0 if by_rows else task
        first = np.uint64(s * span)
        stop = np.uint64(min(run, s * span + span))
        for f in range(first_row, last_row):
            start = bias[f] if has_bias else np.float32(0.0)
            _span_of_row(out[f], first, stop, np.uint64(indptr[f]), np.uint64(indptr[f + 1]),
                         indices, values, frame, step, start, relu, lanes, vectors)


@register("direct_sparse_conv2d", backend="cpu")
def direct_sparse_conv2d(x, indptr, indices, values, filter_size, stride, padding, dilation,
                         bias=None, relu=False):
    """Direct sparse convolution (Park et al.); see the reference for the notation."""
    indptr, indices, values, bias = _checked(indptr, indices, values, bias,
                                             "direct_sparse_conv2d")
    rows = len(indptr) - 1
    x = np.asarray(x, dtype=np.float32)
    n = x.shape[0]
    oh, ow, hq, wq = conv_frame_geometry(x.shape[2:], filter_size, stride, padding, dilation)
    run = oh * wq * n
    lanes, vectors = register_block(run)
    block = lanes * vectors
    padded = padded_run(run, (lanes, vectors))     # the padding is dropped below
    # a run goes Wq pixels past a row's last output column, a padded one < a block further
    out = np.empty((rows, padded), dtype=np.float32)
    with one_thread_below(int(indptr[-1]) * run, SERIAL_BELOW):
        frame = conv_frame(x, stride, padding, (hq, wq), slack=wq + LONGEST_BLOCK)
        span = SPAN // block * block if padded >= SPANS_FROM else max(padded, 1)
        _blocks(indptr, indices, values, frame, n, bias, bool(relu), lanes, vectors, span, out)
        return unframe(out, n, oh, ow, wq)
