"""Register blocks and runs of the register-block kernels (``sparse_runs.py``).

The kernel holds ``lanes * vectors`` output values in vector registers while a filter
row's nonzeros stream through them (a *register block*), and computes a filter's output as
runs of the frame (:class:`Pieces`): one run per output plane, or one per output row. Both
choices minimise the vectors streamed, the model of the kernel's time.
"""

from functools import lru_cache
from typing import NamedTuple

import llvmlite.binding as llvm


def _has_avx512():
    try:
        return bool(llvm.get_host_cpu_features().get("avx512f"))
    except RuntimeError:            # features unknown: assume the narrower registers
        return False


def register_blocks(avx512):
    """The register blocks as ``(lanes, vectors)``: ``lanes * vectors`` output values held
    in vector registers while a row's nonzeros stream through them.

    With AVX-512, up to 16 vectors (of its 32 registers): a whole 13x13 plane at batch 1 (a
    run of 195 with frame rows of 15) in one block of 13 ran 1.5x faster than in blocks of 3
    or 4 vectors, which stream every nonzero 4-5 times; with rows of 14 (rows sharing their
    padding, ``numpy_ref/sparse.py``) its run of 182 fits a block of 12, in 0.93-0.95x the
    time of the 13 (AlexNet conv3 and conv5 at 0.9, Intel Xeon). Without it a vector of 16
    is two of AVX's 16 registers and four more hold the broadcast values: blocks stop at 5
    vectors. On a Zen 3 CPU, 5 were the fastest block for most AlexNet and VGG-CIFAR layers
    (0.85-0.95x the time of 4 on the 13x13 planes); 6 ran up to 1.3x slower than 5.
    """
    blocks = ((8, 1), (16, 1), (16, 2), (16, 3), (16, 4))
    if avx512:
        return blocks + ((16, 6), (16, 8), (16, 10), (16, 12), (16, 13), (16, 16))
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
    run of 182 values: 80 + 80 + 32 without AVX-512, 192 values computed instead of 240).

    >>> [register_block(r) for r in (8, 16, 24, 80, 182, 195, 384, 783, 1056)]  # AVX-512
    [(8, 1), (16, 1), (16, 2), (16, 4), (16, 12), (16, 13), (16, 16), (16, 16), (16, 16)]
    """
    def cost(block):
        return streamed(run, block), padded_run(run, block), -block[1]
    best = min(BLOCKS, key=cost)
    # a run shorter than the block is its tail alone: name the block that computes it
    return best if run >= best[0] * best[1] else tail_block(max(run, 1))


def streamed(run, block):
    """Vectors streamed to compute a run in ``block``s and a tail block: each block streams
    all the row's nonzeros once, at about one vector's cost per nonzero for the index,
    value and broadcast, plus one per vector of the block."""
    whole, tail = _split(run, block)
    return whole * (block[1] + 1) + (tail[1] + 1 if tail else 0)


class Pieces(NamedTuple):
    """How the kernel lays out a filter's output (``OH * OW * N`` values).

    A *plane run* is one run of ``OH * Wq * N`` frame values, the ``Wq - OW`` columns past
    each output row included (computed, then dropped); long ones are cut into spans of
    :data:`SPAN` values that are tasks of their own. A *row run* per output row is ``OW * N``
    values, ``OH`` of them, none wasted, but each streams the row's nonzeros again. The
    layout that streams fewer vectors wins. Row runs pay where the dropped columns are a
    large part of a plane run, at larger batches: VGG-CIFAR's 4x4 planes at batch 16
    compute 256 values instead of 320 (the nonzeros streamed 20 times instead of 24; with
    frame rows of 6, before rows shared their padding, instead of 384 values, in
    0.62-0.63x the time on a Zen 3 CPU; 8x8: 0.83-0.87x, 16x16: 0.88-0.90x, 32x32: the
    same time). At batch 1 a 13x13 plane keeps its run of 182 (rows of 13 would stream
    the nonzeros 26 times instead of 13, or 15 without AVX-512).
    """
    per_output_row: bool    # row runs (else a plane run)
    block: tuple            # (lanes, vectors)
    pieces: tuple           # (count, length, out_step, frame_step), see _blocks
    by_rows: bool           # a task is a filter row (else a piece of every row)
    values: int             # length of an output row of the kernel, padding included
    out_width: int          # pixels from one output row to the next there

    @property
    def tail(self):
        """The block that ends each piece: the smallest of :data:`BLOCKS` holding what whole
        blocks leave of it, or the block itself where they leave nothing."""
        piece = self.pieces[1] if self.per_output_row else self.values
        return tail_block(piece % (self.block[0] * self.block[1])) or self.block

    @classmethod
    @lru_cache(maxsize=1024)        # 5 us a call otherwise: 0.07 ms a VGG forward
    def of(cls, oh, ow, wq, n):
        """The layout of an ``OH x OW`` output plane, read from frame rows of ``Wq`` pixels
        of ``n`` values (the batch innermost)."""
        plane = oh * wq * n
        row = register_block(ow * n)
        padded_row = padded_run(ow * n, row)
        if (oh > 1 and wq > ow and n and padded_row % n == 0
                and oh * streamed(ow * n, row) < streamed(plane, register_block(plane))):
            values = oh * padded_row
            return cls(True, row, (oh, padded_row, padded_row, wq * n), values < SPANS_FROM,
                       values, padded_row // n)
        return cls.one_run(plane, wq)

    @classmethod
    @lru_cache(maxsize=1024)
    def one_run(cls, run, out_width):
        """A single run of ``run`` values (cut into spans if long), ``out_width`` pixels
        from one output row to the next in it."""
        block = register_block(run)
        values = padded_run(run, block)
        span = SPAN // (block[0] * block[1]) * block[0] * block[1]
        if values < SPANS_FROM:
            return cls(False, block, (1, values, values, values), True, values, out_width)
        return cls(False, block, (-(-values // span), span, span, span), False, values,
                   out_width)


#: bytes of the frame a channel group's block may read: most of a 32 KB L1 data cache
GROUP_BYTES = 24 << 10
#: nonzeros a row holds per channel plane, on average, from which groups pay
GROUP_FROM_NONZEROS_PER_PLANE = 2
#: blocks a run holds at least for groups to pay
GROUP_FROM_BLOCKS = 4


def channel_group(layout, reach, planes, plane, nonzeros_per_row):
    """The span of frame offsets (``plane`` per channel plane) of the groups of channel
    planes whose nonzeros go through a plane run's blocks together, or 0 for one group.

    Every nonzero of a plane reads the same stretch of it, each shifted by its tap: block
    b's first tap reads lines that its later taps read again a block or two later. With
    all the ``planes`` at once, a block's stretches (the block plus the filter's ``reach``,
    from a plane each) outgrow L1 and every nonzero's come from L2; a group of planes
    whose stretches fit in L1 goes through every block before the next group, and reads
    each line from L2 about once. That pays where a row has several nonzeros per plane and
    the run many blocks. On a Zen 3 CPU, in kernel time: AlexNet conv2 (2.5 nonzeros per
    plane at 0.9 sparsity, 11 blocks) 0.89-0.92x at 0.9 and 0.95x at 0.8 and 0.5;
    VGG-CIFAR's 64 -> 64 conv at 0.5 (4.5 per plane, 14 blocks) 0.93-1.0x; at about one
    nonzero per plane nothing, and on 13 x 13 planes (3 blocks) up to 1.15x slower.
    """
    block = layout.block[0] * layout.block[1]
    if layout.per_output_row or not layout.by_rows or layout.pieces[0] != 1 \
            or layout.values < GROUP_FROM_BLOCKS * block \
            or nonzeros_per_row < GROUP_FROM_NONZEROS_PER_PLANE * planes:
        return 0
    size = max(1, GROUP_BYTES // (4 * (block + reach)))
    if size >= planes:
        return 0
    groups = -(-planes // size)
    return -(-planes // groups) * plane


def forget_choices():
    """Clear the cached blocks and layouts (after :data:`BLOCKS` changed: tests)."""
    register_block.cache_clear()
    Pieces.of.__func__.cache_clear()
    Pieces.one_run.__func__.cache_clear()


#: bytes of frame a block position of a channel tile reads (:func:`channel_tiles`): tiles
#: of 32 of AlexNet's 13x13 planes (28 KB, in a 48 KB L1 data cache) ran faster than tiles
#: of 16 or 64
TILE_BYTES = 29 << 10
#: vectors a row's run holds at least for tiles to pay: each tile costs a row a scan for
#: its nonzeros there and a store and reload of its blocks, which runs of a few vectors
#: do not win back (Intel Xeon, batch 1: VGG-CIFAR's 8x8 planes, runs of 5 vectors, in
#: tiles of 8-32 planes 0.88-1.24x the time; 4x4 and 2x2, 2 vectors or less, 1.06-4.3x)
TILES_FROM_VECTORS = 8


def channel_tiles(layout, reach, planes, plane, n=1):
    """The span of frame offsets (``plane`` per channel plane of ``n`` images) of the
    channel tiles that a thread's filter rows go through together
    (``sparse_runs.tiled_kernel``), or 0 for none.

    A block of a run stays in registers for all the row's nonzeros, which read the frame of
    every channel: past L1 those reads come from L2, one 64-byte vector per multiply-add
    with AVX-512, more than L2 delivers. In tiles of channels whose stretch of frame a block
    position reads (the block plus the filter's ``reach``, or the whole plane) fits in L1,
    every row of a thread adds its nonzeros of one tile at one block position before the
    next: the frame is read from L1, at the cost of storing and reloading each row's blocks
    once per tile. Intel Xeon, batch 1, frame rows of 15 and 31 then: AlexNet conv3-5 (runs
    of one block of 13 vectors, tiles of 32 planes) 0.79-0.85x the kernel time at 0.9 and
    0.8 sparsity; conv2 (27x27 planes, runs of four blocks and a tail, tiles of 22 planes)
    0.75x and 0.82x; VGG-CIFAR's 32x32 and 16x16 layers 0.81-0.86x. Only for runs of
    :data:`TILES_FROM_VECTORS` or more, and frames of two tiles or more; only with AVX-512's
    blocks: with 32-byte vectors L2 keeps up better, and on a Zen 3 CPU tiles across filters
    were slower.
    """
    if not WIDE_BLOCKS or not layout.by_rows or layout.pieces[0] != 1 \
            or layout.values < TILES_FROM_VECTORS * 16:
        return 0
    stretch = min(plane * n, layout.block[0] * layout.block[1] + reach)
    size = max(1, TILE_BYTES // (4 * stretch))
    return 0 if planes < 2 * size else size * plane
