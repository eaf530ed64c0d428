"""Register-block kernels: every nonzero of a CSR row multiply-adds a contiguous run of a
frame into the row's output, ``out[f, t] += values[j] * frame[indices[j] * pitch + t]``.

The direct sparse convolution runs them over its frame (``sparse_conv.py``: the run is an
output plane or row, at every pixel of it the batch innermost), and the batched CSR
product over ``x.T`` (:func:`csr_times_batch`: the run is the batch). A run is computed in
register blocks (``sparse_conv_blocks.py``) by ``simd_rows.row_block``: one broadcast, and
one vector load and one multiply-add per 16 values, the block in registers throughout a
row's nonzeros. On AlexNet's and VGG-CIFAR's layers that is 1.2-2.8x faster than a chunked
loop over the run (which loads and stores the output once per four nonzeros and leaves a
scalar remainder); for the batched fc product at batch 4-64 and 0.9 sparsity, 0.5-0.7x the
time of that loop (whose cost per nonzero, not per value, dominates short runs).

Each kernel is compiled for its register block and tail block as constants
(:func:`blocks_kernel`, :func:`tiled_kernel`), on first use: one kernel with the block a
runtime value, choosing among the blocks' loops at every call, took 1.07-1.11x the time
on AlexNet conv3 on an Intel Xeon -- Numba passes each array to a function as seven
arguments, and a row's block of a channel tile or group is a call of ~100 multiply-adds.
A network needs a few of them (AlexNet conv2-5: two); Numba's disk cache keeps each,
keyed on the constants.

Index arithmetic is unsigned (see ``sparse.py``); Numba does not check bounds: the frame
must be readable ``LONGEST_BLOCK`` values past every run.
"""

from functools import cache

import numpy as np
from numba import literally, njit, prange

from .simd_rows import row_block
from .sparse_conv_blocks import LONGEST_BLOCK, Pieces


@njit(cache=True, inline="always")
def _group_end(indices, lo, hi, group_span):
    """The end of the nonzeros from ``lo`` (< ``hi``) whose frame offsets lie in the same
    group of ``group_span`` offsets as the one at ``lo`` (0: every one up to ``hi``)."""
    if group_span == 0:
        return hi
    limit = (np.uint64(indices[lo]) // group_span + np.uint64(1)) * group_span
    j = lo
    while j < hi and indices[j] < limit:
        j += np.uint64(1)
    return j


@njit(fastmath=True, cache=True)
def _span_of_row(o, first, stop, frame_first, lo, hi, indices, values, frame, step, start,
                 relu, group_span, vectors, lanes, tail_vectors, tail_lanes):
    """``o[first:stop] = relu(start + the row's nonzeros' runs there)``, the run read from
    the frame at ``frame_first``: whole blocks of ``lanes * vectors``, then the tail block
    for the rest (constants; ``stop - first`` padded as :func:`padded_run` pads it). With a
    ``group_span``, the nonzeros go through every block one group of channel planes at a
    time (``sparse_conv_blocks.channel_group``)."""
    for t in range(first, stop):
        o[t] = start
    block = np.uint64(lanes * vectors)
    group_lo = lo
    while group_lo < hi:
        group_hi = _group_end(indices, group_lo, hi, group_span)
        c0 = first
        f0 = frame_first
        while c0 + block <= stop:
            row_block(o, c0, frame, indices, values, group_lo, group_hi, step, f0,
                      literally(vectors), literally(lanes))
            c0 += block
            f0 += block
        if c0 < stop:
            row_block(o, c0, frame, indices, values, group_lo, group_hi, step, f0,
                      literally(tail_vectors), literally(tail_lanes))
        group_lo = group_hi
    if relu:
        for t in range(first, stop):
            o[t] = max(o[t], np.float32(0.0))


@cache
def blocks_kernel(block, tail):
    """The kernel for runs cut into ``block``s ending in a ``tail`` block (``(lanes,
    vectors)`` each; ``tail`` = ``block`` for runs of whole blocks):

    ``kernel(indptr, indices, values, frame, pitch, bias, relu, pieces, by_rows,
    group_span, out)`` sets ``out[f, t] = relu(bias[f] + sum_j values[j] *
    frame[indices[j] * pitch + t'])``, in parallel over the rows, or over the pieces of the
    run.

    Notation: ``out: (F, R)``, ``R`` the run as ``Pieces`` lays it out (the caller
    drops the padding), ``pieces = (count, length, out_step, frame_step)``: piece ``p`` is
    ``out[f, p * out_step :][:length]`` (cut at ``R``), read from the frame at ``p *
    frame_step``, so ``t' = t + p * (frame_step - out_step)``. ``frame`` flat, readable a
    piece past every nonzero's start. The block never leaves the registers until the row's
    nonzeros are done -- or, with a ``group_span`` (frame offsets, 0 for none; ``by_rows``
    only), the nonzeros of one group of channel planes are
    (``sparse_conv_blocks.channel_group``).

    ``by_rows``: a task is a row, all its pieces. Otherwise a task is a piece of every row
    in turn: a row's nonzeros read its whole run from every input channel they touch, and
    for a long run (a 32x32 plane at batch 16 is 17 k values) that is megabytes per row,
    from L3; one piece reads a few hundred kilobytes of the frame instead, which stay in
    L2 while every row goes through it (3x faster on VGG-CIFAR's 64 -> 64 conv at batch
    16).
    """
    (lanes, vectors), (tail_lanes, tail_vectors) = block, tail

    @njit(parallel=True, fastmath=True, cache=True)
    def kernel(indptr, indices, values, frame, pitch, bias, relu, pieces, by_rows, group_span,
               out):
        rows, run = out.shape
        has_bias = bias.shape[0] > 0
        step = np.uint64(pitch)
        count, length, out_step, frame_step = pieces
        tasks = rows if by_rows else count
        span = np.uint64(group_span if by_rows else 0)
        for task in prange(tasks):
            first_row = task if by_rows else 0
            last_row = task + 1 if by_rows else rows
            first_piece = 0 if by_rows else task
            last_piece = count if by_rows else task + 1
            for f in range(first_row, last_row):
                start = bias[f] if has_bias else np.float32(0.0)
                for p in range(first_piece, last_piece):
                    first = np.uint64(p * out_step)
                    stop = np.uint64(min(run, p * out_step + length))
                    _span_of_row(out[f], first, stop, np.uint64(p * frame_step),
                                 np.uint64(indptr[f]), np.uint64(indptr[f + 1]), indices,
                                 values, frame, step, start, relu, span, vectors, lanes,
                                 tail_vectors, tail_lanes)

    return kernel


@njit(fastmath=True, cache=True)
def _position_of_rows(out, first, last, at, ends, c0, frame, indices, values, step, vectors,
                      lanes):
    """Rows ``first <= f < last`` of :func:`tiled_kernel` add their nonzeros ``at[r] <= j <
    ends[r]`` (``r = f - first``) to their block at ``c0`` (``lanes * vectors``,
    constants)."""
    for f in range(first, last):
        lo, hi = at[f - first], ends[f - first]
        if hi > lo:
            row_block(out[f], c0, frame, indices, values, lo, hi, step, c0, literally(vectors),
                      literally(lanes))


@cache
def tiled_kernel(block, tail):
    """The kernel for by-row runs of one piece, cut into ``block``s ending in a ``tail``
    block (as :func:`blocks_kernel`'s):

    ``kernel(indptr, indices, values, frame, pitch, bias, relu, tile_span, threads, out)``
    is :func:`blocks_kernel`'s for ``out: (F, R)`` (one piece, by rows), in ``threads``
    shares of the rows: a share goes through the frame one tile of ``tile_span`` frame
    offsets at a time, and in a tile one block position of the run at a time, every row of
    the share adding its nonzeros of the tile there, so that the part of the tile's frame
    the position reads stays in L1 while the rows go through it
    (``sparse_conv_blocks.channel_tiles``). Each row's blocks are stored and reloaded once
    per tile.
    """
    (lanes, vectors), (tail_lanes, tail_vectors) = block, tail
    size = lanes * vectors

    @njit(parallel=True, fastmath=True, cache=True)
    def kernel(indptr, indices, values, frame, pitch, bias, relu, tile_span, threads, out):
        rows, run = out.shape
        whole = run // size
        has_tail = run > whole * size
        has_bias = bias.shape[0] > 0
        step, span, one = np.uint64(pitch), np.uint64(tile_span), np.uint64(1)
        share = -(-rows // threads)
        for t in prange(threads):
            first, last = t * share, min(rows, (t + 1) * share)
            # each row's nonzeros in the tile: at[r] <= j < ends[r]
            at = np.empty(max(last - first, 0), dtype=np.uint64)
            ends = np.empty(max(last - first, 0), dtype=np.uint64)
            for f in range(first, last):
                at[f - first] = indptr[f]
                out[f, :] = bias[f] if has_bias else np.float32(0.0)
            limit = span
            pending = last > first
            while pending:
                pending = False
                for f in range(first, last):
                    hi, end = at[f - first], np.uint64(indptr[f + 1])
                    while hi < end and np.uint64(indices[hi]) < limit:
                        hi += one
                    ends[f - first] = hi
                    pending = pending or hi < end
                for b in range(whole):
                    _position_of_rows(out, first, last, at, ends, np.uint64(b * size), frame,
                                      indices, values, step, vectors, lanes)
                if has_tail:
                    _position_of_rows(out, first, last, at, ends, np.uint64(whole * size),
                                      frame, indices, values, step, tail_vectors, tail_lanes)
                at[:] = ends
                limit += span
            if relu:
                for f in range(first, last):
                    for v in range(run):
                        out[f, v] = max(out[f, v], np.float32(0.0))

    return kernel


def csr_times_batch(indptr, indices, values, x, bias, relu):
    """``(F, N)``: ``relu(bias[f] + sum_j values[j] * x[t, indices[j]])``, the CSR rows of
    ``W (F, K)`` times ``x (N, K)`` (C-contiguous float32), bias an empty array for none.

    The frame is ``x.T`` with slack, so that the run of every nonzero is the batch: the
    weights are read once for all samples. The caller chooses the threads.
    """
    n, k = x.shape
    layout = Pieces.one_run(n, n)
    frame = np.empty(k * n + LONGEST_BLOCK, dtype=np.float32)
    frame[:k * n].reshape(k, n)[...] = x.T
    out = np.empty((len(indptr) - 1, layout.values), dtype=np.float32)
    blocks_kernel(layout.block, layout.tail)(indptr, indices, values, frame, n, bias,
                                             bool(relu), layout.pieces, layout.by_rows, 0, out)
    return out[:, :n]
