"""``simd_rows.row_block``, the sparse convolution's inner loop, against a float64 loop.

Every register block of either CPU family (pairwise sums below ``CHAIN_FROM`` vectors,
chained multiply-adds from it), rows of 0-11 nonzeros (whole steps of four and the
remainder), uint16 and uint32 offsets, a frame step and start, and a block that begins
inside ``out``: only its ``lanes * vectors`` values change.
"""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from numba import literally, njit

from minidl.backends.numba_cpu.simd_rows import CHAIN_FROM, UNROLL, row_block
from minidl.backends.numba_cpu.sparse_conv_blocks import register_blocks

ALL_BLOCKS = sorted(set(register_blocks(True)) | set(register_blocks(False)))


@njit
def _row_block(out, at, frame, indices, values, lo, hi, step, f0, vectors, lanes):
    row_block(out, np.uint64(at), frame, indices, values, np.uint64(lo), np.uint64(hi),
              np.uint64(step), np.uint64(f0), literally(vectors), literally(lanes))


def test_the_blocks_cover_both_sums():
    vectors = [v for _, v in ALL_BLOCKS]
    assert min(vectors) < CHAIN_FROM <= max(vectors)


@pytest.mark.parametrize("lanes, vectors", ALL_BLOCKS)
@given(count=st.integers(0, 2 * UNROLL + 3), lo=st.integers(0, 3), step=st.integers(1, 3),
       f0=st.integers(0, 5), at=st.integers(0, 4), wide=st.booleans(),
       seed=st.integers(0, 2**16))
def test_row_block_equals_a_loop_over_the_nonzeros(lanes, vectors, count, lo, step, f0, at,
                                                   wide, seed):
    rng = np.random.default_rng(seed)
    size = lanes * vectors
    starts = rng.integers(0, 40, lo + count)
    indices = starts.astype(np.uint32 if wide else np.uint16)
    values = rng.standard_normal(lo + count).astype(np.float32)
    frame = rng.standard_normal(40 * step + f0 + size).astype(np.float32)
    out = rng.standard_normal(at + size + 3).astype(np.float32)
    expected = out.astype(np.float64)
    for j in range(lo, lo + count):
        first = int(starts[j]) * step + f0
        expected[at:at + size] += float(values[j]) * frame[first:first + size]
    _row_block(out, at, frame, indices, values, lo, lo + count, step, f0, vectors, lanes)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("lanes, vectors", [(16, 4), (16, 13)])
def test_row_block_propagates_nan_and_infinity(lanes, vectors):
    """Contraction only, no reassociation or finite-math: a NaN or an infinity in the frame
    reaches exactly the outputs its nonzeros read it into."""
    size = lanes * vectors
    frame = np.ones(2 * size, np.float32)
    frame[3], frame[size + 1] = np.nan, np.inf
    indices = np.array([0, 0, 0, 0, size], np.uint32)      # five nonzeros: a step and one
    values = np.ones(5, np.float32)
    out = np.zeros(size, np.float32)
    _row_block(out, 0, frame, indices, values, 0, 5, 1, 0, vectors, lanes)
    assert np.isnan(out[3]) and out[1] == np.inf
    finite = np.ones(size, bool)
    finite[[1, 3]] = False
    assert (out[finite] == 5.0).all()


def test_row_block_takes_64_bit_offsets_only():
    """Its index arithmetic is done at the offsets' width: a 32-bit one is refused at
    compile time rather than mixed into 64-bit LLVM arithmetic."""
    from numba.core.errors import TypingError

    @njit
    def narrow_start(out, frame, indices, values):
        row_block(out, np.uint32(0), frame, indices, values, np.uint64(0), np.uint64(1),
                  np.uint64(1), np.uint64(0), 1, 8)

    with pytest.raises(TypingError, match="at must be a 64-bit integer"):
        narrow_start(np.zeros(8, np.float32), np.zeros(16, np.float32),
                     np.zeros(1, np.uint32), np.ones(1, np.float32))
