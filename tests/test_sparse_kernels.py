"""Sparse inference kernels and layouts against the dense definitions.

``csr_matmul`` and ``direct_sparse_conv2d`` run on every backend present (``backend``
fixture) on layouts built from pruned dense weights, and must equal the dense product /
convolution (computed in float64) with the bias and ReLU applied. The reference twins are
also checked against plain loops over the CSR arrays on tiny inputs.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from numba import njit

from minidl.backends import get_kernel
from minidl.backends.numba_cpu import sparse as sparse_cpu
from minidl.backends.numba_cpu.gather_dot import gathered_dot
from minidl.backends.numpy_ref.sparse import csr_to_dense
from minidl.core.geometry import conv_frame, conv_frame_geometry
from minidl.core import as_numpy
from minidl.sparse_inference import layout
from minidl.sparse_inference.layout import conv_layout, fc_layout
from sparse_cases import conv_cases, fc_cases, pruned

# The backend fixture only selects a backend; reusing it across examples is intended.
fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


def dense_fc(weight, x, bias, relu):
    y = x.astype(np.float64) @ weight.astype(np.float64)
    y = y + bias if bias is not None else y
    return np.maximum(y, 0) if relu else y


def dense_conv(x, weight, stride, padding, dilation, groups, bias, relu):
    """The reference convolution (itself checked against loops in test_conv.py)."""
    y = get_kernel("conv2d_forward", "numpy")(x.astype(np.float64), weight.astype(np.float64),
                                              stride, padding, dilation, groups)
    y = y + bias.reshape(1, -1, 1, 1) if bias is not None else y
    return np.maximum(y, 0) if relu else y


def close(got, expected):
    assert got.dtype == np.float32
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def check_3x3_conv(xp, rng, x, filters, stride, zero_rows, relus=(False, True)):
    """The sparse kernel against the dense convolution for a 3x3, padding-1 layer of
    ``filters`` pruned to 0.5 on ``x``, with a bias, for each of ``relus``."""
    weight = pruned(rng, (filters, x.shape[1], 3, 3), 0.5, zero_rows)
    bias = rng.standard_normal(filters).astype(np.float32)
    geometry = (stride, stride), (1, 1), (1, 1)
    csr = conv_layout(weight, x.shape[1:], *geometry, 1)
    for relu in relus:
        got = get_kernel("direct_sparse_conv2d")(
            xp.asarray(x), xp.asarray(csr.indptr), xp.asarray(csr.indices),
            xp.asarray(csr.values), (3, 3), *geometry, xp.asarray(bias), relu)
        close(as_numpy(got), dense_conv(x, weight, *geometry, 1, bias, relu))


# --- both kernels, every backend, against the dense definition --------------------------

@fixture_ok
@given(case=fc_cases(max_batch=100))
def test_csr_matmul_equals_the_dense_product(backend, xp, case):
    """Batches up to 100: on the cpu backend every register block and tail block."""
    weight, x, bias, relu = case
    csr = fc_layout(weight)
    got = get_kernel("csr_matmul")(xp.asarray(csr.indptr), xp.asarray(csr.indices),
                                   xp.asarray(csr.values), xp.asarray(x),
                                   None if bias is None else xp.asarray(bias), relu)
    close(as_numpy(got), dense_fc(weight, x, bias, relu))


@fixture_ok
@given(case=conv_cases())
def test_direct_sparse_conv_equals_the_dense_convolution(backend, xp, case):
    x, weight, stride, padding, dilation, groups, bias, relu = case
    csr = conv_layout(weight, x.shape[1:], stride, padding, dilation, groups)
    got = get_kernel("direct_sparse_conv2d")(
        xp.asarray(x), xp.asarray(csr.indptr), xp.asarray(csr.indices), xp.asarray(csr.values),
        weight.shape[2:], stride, padding, dilation,
        None if bias is None else xp.asarray(bias), relu)
    close(as_numpy(got), dense_conv(x, weight, stride, padding, dilation, groups, bias, relu))


@pytest.mark.parametrize("batch, width", [(1, 60), (3, 60), (3, 59)])
def test_long_runs_cut_into_spans(backend, xp, rng, batch, width):
    # 40 x 60 output pixels per channel: a run of 2,480 values at batch 1 (the cpu backend
    # goes over the rows) and 7,440 at batch 3 (over spans of the run, the last one short);
    # 40 x 59 at batch 3, 7,320 values, ends in a smaller tail block
    x = rng.standard_normal((batch, 3, 40, width)).astype(np.float32)
    check_3x3_conv(xp, rng, x, 5, 1, 1, relus=(True,))


@pytest.mark.parametrize("batch, plane, stride", [
    (1, (2, 2), 1), (2, (1, 2), 1), (1, (1, 3), 1), (1, (4, 4), 2), (1, (1, 1), 1),  # <= 8
    (1, (3, 3), 1), (1, (4, 4), 1), (2, (4, 4), 1), (3, (2, 2), 1),  # 15, 24, 48, 24
    (1, (7, 9), 1), (1, (8, 8), 1), (1, (8, 9), 1), (5, (2, 3), 1),  # 77, 80, 88, 100
    (0, (3, 3), 1)])  # an empty batch: no run at all
def test_short_runs_in_register_blocks(backend, xp, rng, batch, plane, stride):
    """Short runs (``OH * Wq * N`` values): the cpu backend pads each to register blocks
    of 8 to 80 values (to 256 with AVX-512) and reads past the run's end into the frame's
    slack. 6 channels x 9 taps at 0.5: each row has whole groups of four nonzeros and a
    remainder."""
    x = rng.standard_normal((batch, 6) + plane).astype(np.float32)
    check_3x3_conv(xp, rng, x, 7, stride, 2)


@pytest.mark.parametrize("avx512", [True, False])
def test_register_blocks_are_chosen_to_waste_little(monkeypatch, avx512):
    """Both block sets: AVX-512 hosts' (up to 16 vectors of 16) and the others' (up to 5).
    A run is computed as whole blocks and one tail block, the smallest that holds the
    rest; the block chosen streams the fewest vectors."""
    from minidl.backends.numba_cpu import sparse_conv_blocks as blocks_of
    blocks = blocks_of.register_blocks(avx512)
    monkeypatch.setattr(blocks_of, "BLOCKS", blocks)
    blocks_of.forget_choices()
    runs = (1, 8, 9, 24, 48, 80, 195, 384, 837, 1088)
    if avx512:
        expected = [(8, 1), (8, 1), (16, 1), (16, 2), (16, 3), (16, 4), (16, 13), (16, 16),
                    (16, 13), (16, 16)]
        padded = [8, 8, 16, 32, 48, 80, 208, 384, 840, 1088]
    else:
        expected = [(8, 1), (8, 1), (16, 1), (16, 2), (16, 3), (16, 5), (16, 5), (16, 5),
                    (16, 5), (16, 5)]
        padded = [8, 8, 16, 32, 48, 80, 208, 384, 848, 1088]
    sizes = sorted(lanes * vectors for lanes, vectors in blocks)

    def streamed(run, block):   # vectors moved: every block streams the row's nonzeros
        size = block[0] * block[1]
        rest = run % size
        tail = [b for b in blocks if b[0] * b[1] == min(s for s in sizes if s >= rest)][0]
        return run // size * (block[1] + 1) + (tail[1] + 1 if rest else 0)
    try:
        chosen = [blocks_of.register_block(r) for r in runs]
        assert chosen == expected
        assert [blocks_of.padded_run(r, b) for r, b in zip(runs, chosen)] == padded
        for run in range(1, 2000):
            block = blocks_of.register_block(run)
            assert block in blocks
            total = blocks_of.padded_run(run, block)
            assert run <= total < run + max(sizes), (run, block, total)
            if run >= block[0] * block[1]:
                assert streamed(run, block) == min(streamed(run, other) for other in blocks)
    finally:
        blocks_of.forget_choices()


# (batch, plane, stride): layouts of one run per output row on either block set
ROW_RUNS = [(16, (4, 4), 1), (16, (2, 2), 1), (16, (8, 8), 2), (8, (3, 6), 1),
            (16, (16, 16), 1)]      # 4096 values: pieces of every filter row in turn


@pytest.mark.parametrize("batch, plane, stride", ROW_RUNS + [(8, (13, 13), 1)])
def test_row_runs_equal_the_dense_convolution(backend, xp, rng, batch, plane, stride):
    """Where the dropped columns of a plane run are a large part of it (small planes at
    larger batches) the cpu backend computes one run per output row. 8 x 13x13: on AVX2
    rows of 104 values padded to 112 (a column computed and dropped)."""
    x = rng.standard_normal((batch, 5) + plane).astype(np.float32)
    check_3x3_conv(xp, rng, x, 6, stride, 1)


@pytest.mark.parametrize("avx512", [True, False])
def test_row_runs_are_chosen_where_they_stream_less(monkeypatch, avx512):
    from minidl.backends.numba_cpu import sparse_conv_blocks as blocks_of
    monkeypatch.setattr(blocks_of, "BLOCKS", blocks_of.register_blocks(avx512))
    blocks_of.forget_choices()
    try:
        for batch, plane, stride in ROW_RUNS:
            oh, ow, _, wq = conv_frame_geometry(plane, (3, 3), (stride, stride), (1, 1),
                                                (1, 1))
            layout = blocks_of.Pieces.of(oh, ow, wq, batch)
            count, length, out_step, frame_step = layout.pieces
            assert layout.per_output_row
            assert (count, out_step, frame_step) == (oh, length, wq * batch)
            assert layout.values == oh * length == oh * layout.out_width * batch
            assert layout.by_rows == (layout.values < blocks_of.SPANS_FROM)
        for batch in (1, 2, 3, 8, 16):
            for size in range(1, 20):
                oh, ow, _, wq = conv_frame_geometry((size, size), (3, 3), (1, 1), (1, 1),
                                                    (1, 1))
                layout = blocks_of.Pieces.of(oh, ow, wq, batch)
                row, plane = ow * batch, oh * wq * batch
                row_block = blocks_of.register_block(row)
                fewer = (oh * blocks_of.streamed(row, row_block)
                         < blocks_of.streamed(plane, blocks_of.register_block(plane)))
                whole_pixels = blocks_of.padded_run(row, row_block) % batch == 0
                assert layout.per_output_row == (oh > 1 and fewer and whole_pixels), \
                    (batch, size, layout)
                assert layout.out_width >= ow and layout.values >= oh * ow * batch
        # a 13x13 plane at batch 1 stays one run
        assert blocks_of.Pieces.of(13, 13, 14, 1)[:3] == (False, blocks_of.register_block(
            182), (1, 192, 192, 192))
    finally:
        blocks_of.forget_choices()


@pytest.mark.parametrize("avx512", [True, False])
def test_every_piece_is_whole_blocks_and_the_tail(monkeypatch, avx512):
    """The kernels are compiled for a layout's block and tail block: every piece of the
    run, the last one cut at the run's end included, must be whole blocks and then
    nothing or exactly the tail."""
    from minidl.backends.numba_cpu import sparse_conv_blocks as blocks_of
    monkeypatch.setattr(blocks_of, "BLOCKS", blocks_of.register_blocks(avx512))
    blocks_of.forget_choices()
    try:
        layouts = [blocks_of.Pieces.one_run(n, n) for n in range(1, 300)]
        for batch in (1, 2, 3, 8, 16):
            for size in range(1, 40):
                oh, ow, _, wq = conv_frame_geometry((size, size), (3, 3), (1, 1), (1, 1),
                                                    (1, 1))
                layouts.append(blocks_of.Pieces.of(oh, ow, wq, batch))
        for layout in layouts:
            block, tail = layout.block, layout.tail
            size, tail_size = block[0] * block[1], tail[0] * tail[1]
            count, length, out_step, _ = layout.pieces
            for p in range(count):
                rest = min(length, layout.values - p * out_step) % size
                assert rest == 0 or (tail != block and rest == tail_size), (layout, p)
            assert tail == block or tail_size < size
    finally:
        blocks_of.forget_choices()


@fixture_ok
@given(case=conv_cases(), planes=st.integers(1, 3))
def test_channel_groups_equal_the_dense_convolution(monkeypatch, case, planes):
    """The cpu kernel with its nonzeros cut into groups of ``planes`` channel planes
    (wherever a task is a filter row; the chosen groups are larger, see below): groups of
    every size, empty groups' planes, and rows ending mid-group."""
    from minidl.backends.numba_cpu import sparse_conv
    x, weight, stride, padding, dilation, groups, bias, relu = case
    *_, hq, wq = conv_frame_geometry(x.shape[2:], weight.shape[2:], stride, padding,
                                     dilation)
    monkeypatch.setattr(sparse_conv, "channel_group", lambda *_: planes * hq * wq)
    csr = conv_layout(weight, x.shape[1:], stride, padding, dilation, groups)
    got = get_kernel("direct_sparse_conv2d", "cpu")(
        x, csr.indptr, csr.indices, csr.values, weight.shape[2:], stride, padding,
        dilation, bias, relu)
    close(got, dense_conv(x, weight, stride, padding, dilation, groups, bias, relu))


@fixture_ok
@given(case=conv_cases(), planes=st.integers(1, 3), threads=st.integers(1, 4))
def test_channel_tiles_equal_the_dense_convolution(monkeypatch, case, planes, threads):
    """The cpu kernel with every by-row run of one piece (one block, or several and a
    tail) going through the frame in tiles of ``planes`` channel planes (the chosen tiles
    are larger, see below), its rows in ``threads`` shares (more shares than rows too):
    empty tiles, rows ending mid-tile."""
    from minidl.backends.numba_cpu import sparse_conv
    x, weight, stride, padding, dilation, groups, bias, relu = case

    def tiles(layout, reach, all_planes, plane, n):
        return planes * plane if layout.by_rows and layout.pieces[0] == 1 else 0
    monkeypatch.setattr(sparse_conv, "channel_tiles", tiles)
    monkeypatch.setattr(sparse_conv, "thread_count", lambda: threads)
    csr = conv_layout(weight, x.shape[1:], stride, padding, dilation, groups)
    got = get_kernel("direct_sparse_conv2d", "cpu")(
        x, csr.indptr, csr.indices, csr.values, weight.shape[2:], stride, padding,
        dilation, bias, relu)
    close(got, dense_conv(x, weight, stride, padding, dilation, groups, bias, relu))


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_channel_tiles_over_runs_of_several_blocks_and_a_tail(monkeypatch, rng, threads):
    """AlexNet conv2's shape in small: a 27x27 plane at batch 1, 5x5 filters, a run of
    several blocks and a tail on either block set, in tiles of 2 of its 7 planes."""
    from minidl.backends.numba_cpu import sparse_conv
    from minidl.backends.numba_cpu.sparse_conv_blocks import Pieces
    oh, ow, _, wq = conv_frame_geometry((27, 27), (5, 5), (1, 1), (2, 2), (1, 1))
    layout = Pieces.of(oh, ow, wq, 1)
    size = layout.block[0] * layout.block[1]
    assert layout.values >= 2 * size and layout.values % size and layout.tail != layout.block
    monkeypatch.setattr(sparse_conv, "channel_tiles", lambda layout, reach, all_planes,
                        plane, n: 2 * plane)
    monkeypatch.setattr(sparse_conv, "thread_count", lambda: threads)
    x = rng.standard_normal((1, 7, 27, 27)).astype(np.float32)
    weight = pruned(rng, (5, 7, 5, 5), 0.7, 1)
    bias = rng.standard_normal(5).astype(np.float32)
    geometry = (1, 1), (2, 2), (1, 1)
    csr = conv_layout(weight, x.shape[1:], *geometry, 1)
    for relu in (False, True):
        got = get_kernel("direct_sparse_conv2d", "cpu")(
            x, csr.indptr, csr.indices, csr.values, (5, 5), *geometry, bias, relu)
        close(got, dense_conv(x, weight, *geometry, 1, bias, relu))


def test_channel_tiles_are_chosen_for_long_runs_past_l1_with_avx512(monkeypatch):
    """AVX-512's blocks: tiles of planes whose stretch a block position reads (the block
    plus the filter's reach, or the whole plane; 4 bytes a value) fit in ``TILE_BYTES``,
    for by-row runs of ``TILES_FROM_VECTORS`` or more over frames of two tiles or more.
    Shorter runs, runs cut into pieces and machines without AVX-512: no tiles."""
    from minidl.backends.numba_cpu import sparse_conv_blocks as blocks_of
    monkeypatch.setattr(blocks_of, "WIDE_BLOCKS", True)
    monkeypatch.setattr(blocks_of, "BLOCKS", blocks_of.register_blocks(True))
    blocks_of.forget_choices()
    try:
        assert blocks_of.TILE_BYTES == 29 << 10 and blocks_of.TILES_FROM_VECTORS == 8
        plane13 = blocks_of.Pieces.of(13, 13, 14, 1)           # AlexNet conv3: one block
        assert plane13.block == (16, 12) and plane13.values == 192
        # the 15x14 plane (210 values) is shorter than block + reach (192 + 30)
        assert blocks_of.channel_tiles(plane13, 30, 256, 210) == 35 * 210
        assert blocks_of.channel_tiles(plane13, 30, 70, 210) == 35 * 210
        assert blocks_of.channel_tiles(plane13, 30, 69, 210) == 0     # under two tiles
        several = blocks_of.Pieces.of(27, 27, 29, 1)          # AlexNet conv2: 3 blocks
        assert several.values > several.block[0] * several.block[1]
        # stretch 256 + 120 values: 19 planes of 31x29
        assert blocks_of.channel_tiles(several, 4 * 29 + 4, 96, 31 * 29) == 19 * 31 * 29
        plane8 = blocks_of.Pieces.of(8, 8, 9, 1)              # VGG-CIFAR 8x8: 5 vectors
        assert plane8.values == 72
        assert blocks_of.channel_tiles(plane8, 20, 256, 90) == 0
        plane2 = blocks_of.Pieces.of(2, 2, 4, 1)
        assert blocks_of.channel_tiles(plane2, 10, 512, 16) == 0
        spans = blocks_of.Pieces.of(32, 32, 34, 16)           # batch 16: pieces
        assert not spans.by_rows
        assert blocks_of.channel_tiles(spans, 70 * 16, 64, 34 * 34, 16) == 0
        monkeypatch.setattr(blocks_of, "WIDE_BLOCKS", False)
        assert blocks_of.channel_tiles(plane13, 30, 256, 210) == 0
    finally:
        blocks_of.forget_choices()


def test_channel_groups_are_chosen_where_planes_hold_several_nonzeros(monkeypatch):
    """AVX2's blocks (up to 80 values): a plane run of several blocks, with 2 or more
    nonzeros a row per channel plane, goes in equal groups of planes whose stretches
    (block + reach, 4 bytes a value) fit in ``GROUP_BYTES``; otherwise one group."""
    from minidl.backends.numba_cpu import sparse_conv_blocks as blocks_of
    monkeypatch.setattr(blocks_of, "BLOCKS", blocks_of.register_blocks(False))
    blocks_of.forget_choices()
    try:
        conv2 = blocks_of.Pieces.of(27, 27, 29, 1)          # AlexNet conv2: 5x5, pad 2
        assert conv2.block == (16, 5) and conv2.values == 784
        reach, plane = 4 * 29 + 4, 31 * 29
        fitting = blocks_of.GROUP_BYTES // (4 * (80 + reach))
        assert fitting == 30            # 96 planes: 4 groups of 24
        assert blocks_of.channel_group(conv2, reach, 96, plane, 240) == 24 * plane
        assert blocks_of.channel_group(conv2, reach, 96, plane, 96 * 2) == 24 * plane
        # fewer than 2 nonzeros per plane, or planes that fit at once: one group
        assert blocks_of.channel_group(conv2, reach, 96, plane, 96 * 2 - 1) == 0
        assert blocks_of.channel_group(conv2, reach, fitting, plane, 1000) == 0
        assert blocks_of.channel_group(conv2, reach, fitting + 1, plane, 1000) \
            == -(-(fitting + 1) // 2) * plane
        # a 13x13 plane at batch 1 is a run of 3 blocks; row runs and spans: one group
        assert blocks_of.channel_group(blocks_of.Pieces.of(13, 13, 14, 1), 30, 256, 210,
                                       1000) == 0
        rows = blocks_of.Pieces.of(4, 4, 6, 16)
        assert rows.per_output_row
        assert blocks_of.channel_group(rows, 12 * 16, 512, 36, 4000) == 0
        spans = blocks_of.Pieces.of(56, 56, 58, 2)
        assert not spans.by_rows
        assert blocks_of.channel_group(spans, 118 * 2, 128, 58 * 58, 1000) == 0
    finally:
        blocks_of.forget_choices()


def test_csr_matmul_on_a_batch_long_enough_for_spans(backend, xp, rng):
    """5000 samples: on the cpu backend the batch is one run of 5008 values (whole blocks
    and a tail), cut into spans that are tasks of their own, the last one short."""
    weight = pruned(rng, (7, 40), 0.5, 1).T.copy()          # (inputs, outputs)
    x = rng.standard_normal((5000, 40)).astype(np.float32)
    bias = rng.standard_normal(7).astype(np.float32)
    csr = fc_layout(weight)
    got = get_kernel("csr_matmul")(xp.asarray(csr.indptr), xp.asarray(csr.indices),
                                   xp.asarray(csr.values), xp.asarray(x), xp.asarray(bias),
                                   True)
    close(as_numpy(got), dense_fc(weight, x, bias, True))


def test_all_zero_weights_give_the_bias(backend, xp, rng):
    weight = np.zeros((7, 4), np.float32)
    csr = fc_layout(weight)
    assert csr.nnz == 0
    bias = np.array([1, -2, 3, -4], np.float32)
    for n in (1, 5):
        x = xp.asarray(np.ones((n, 7), np.float32))
        y = get_kernel("csr_matmul")(xp.asarray(csr.indptr), xp.asarray(csr.indices),
                                     xp.asarray(csr.values), x, xp.asarray(bias), True)
        np.testing.assert_array_equal(as_numpy(y), np.tile([1, 0, 3, 0], (n, 1)))


def test_disagreeing_csr_arrays_and_bias_are_named(backend, xp, rng):
    csr = fc_layout(pruned(rng, (6, 3), 0.5, 0))
    x = xp.asarray(np.ones((2, 6), np.float32))
    matmul = get_kernel("csr_matmul")
    with pytest.raises(ValueError, match="csr_matmul: CSR arrays disagree"):
        matmul(xp.asarray(csr.indptr), xp.asarray(csr.indices[:-1]), xp.asarray(csr.values), x)
    with pytest.raises(ValueError, match="csr_matmul: bias has 2 values, expected one per row"):
        matmul(xp.asarray(csr.indptr), xp.asarray(csr.indices), xp.asarray(csr.values), x,
               xp.asarray(np.ones(2, np.float32)))


# --- the reference twins against loops over the CSR arrays -----------------------------

@given(case=fc_cases(max_batch=3))
def test_reference_csr_matmul_equals_a_loop_over_the_nonzeros(case):
    weight, x, bias, relu = case
    if weight.shape[0] > 300:
        return  # the loop below is for small layers
    csr = fc_layout(weight)
    expected = np.zeros((x.shape[0], len(csr.indptr) - 1))
    for f in range(len(csr.indptr) - 1):
        for j in range(csr.indptr[f], csr.indptr[f + 1]):
            expected[:, f] += csr.values[j] * x[:, csr.indices[j]]
    expected = dense_fc(np.zeros_like(weight), x, bias, False) + expected
    expected = np.maximum(expected, 0) if relu else expected
    close(get_kernel("csr_matmul", "numpy")(csr.indptr, csr.indices, csr.values, x, bias, relu),
          expected)


@given(case=conv_cases(max_batch=2))
def test_reference_direct_conv_follows_park_formula(case):
    """out[n, f, y, x] = sum_j values[j] * frame[(indices[j] + y*Wq + x) * N + n], frame
    written out here with explicit padding and phase loops."""
    x, weight, stride, padding, dilation, groups, bias, relu = case
    csr = conv_layout(weight, x.shape[1:], stride, padding, dilation, groups)
    n, c, h, w = x.shape
    (sy, sx), (py, px) = stride, padding
    oh, ow, hq, wq = conv_frame_geometry((h, w), weight.shape[2:], stride, padding, dilation)
    frame = np.zeros((sy, sx, c, hq, wq, n))
    for row in range(h + 2 * py):
        for col in range(w + 2 * px):
            if py <= row < py + h and px <= col < px + w:
                frame[row % sy, col % sx, :, row // sy, col // sx, :] = \
                    x[:, :, row - py, col - px].T
    flat = np.concatenate([frame.reshape(-1), np.zeros(wq * n)])
    expected = np.zeros((n, weight.shape[0], oh, ow))
    for f in range(weight.shape[0]):
        for j in range(csr.indptr[f], csr.indptr[f + 1]):
            for y in range(oh):
                start = (int(csr.indices[j]) + y * wq) * n
                expected[:, f, y, :] += csr.values[j] * flat[start:start + ow * n].reshape(ow, n).T
    expected = expected + bias.reshape(1, -1, 1, 1) if bias is not None else expected
    expected = np.maximum(expected, 0) if relu else expected
    got = get_kernel("direct_sparse_conv2d", "numpy")(
        x, csr.indptr, csr.indices, csr.values, weight.shape[2:], stride, padding, dilation,
        bias, relu)
    close(got, expected)


# --- layouts ---------------------------------------------------------------------------

@given(case=fc_cases(max_batch=1))
def test_fc_layout_is_the_csr_of_the_transposed_weight(case):
    weight = case[0]
    csr = fc_layout(weight)
    assert csr.indptr.dtype == np.uint32
    assert csr.indices.dtype == np.uint32       # a small layout: it stays in cache
    assert csr.nnz == np.count_nonzero(weight)
    assert csr.density == pytest.approx(np.count_nonzero(weight) / weight.size)
    for f in range(weight.shape[1]):
        row = csr.indices[csr.indptr[f]:csr.indptr[f + 1]]
        assert np.all(np.diff(row.astype(np.int64)) > 0)  # ascending: distinct columns
    np.testing.assert_array_equal(csr_to_dense(csr.indptr, csr.indices, csr.values,
                                               (weight.shape[1], weight.shape[0])), weight.T)


def test_fc_layout_of_a_streamed_weight_has_uint16_columns_and_the_same_product(rng):
    """Above ``narrow_from`` nonzeros (by default ``STREAMED_NONZEROS``) the columns are
    uint16 where they fit (fewer bytes from memory), uint32 where they do not; the batch-1
    product is the same either way."""
    weight = pruned(rng, (300, 40), 0.5, 0)
    x = rng.standard_normal((1, 300)).astype(np.float32)
    small = fc_layout(weight)
    assert small.nnz <= layout.STREAMED_NONZEROS
    assert fc_layout(weight, narrow_from=small.nnz).indices.dtype == np.uint32
    streamed = fc_layout(weight, narrow_from=small.nnz - 1)
    assert (small.indices.dtype, streamed.indices.dtype) == (np.uint32, np.uint16)
    assert layout.narrow_columns(small.nnz, 65536, small.nnz - 1)
    assert not layout.narrow_columns(small.nnz, 65537, small.nnz - 1)   # columns past uint16
    np.testing.assert_array_equal(streamed.indices, small.indices)
    product = get_kernel("csr_matmul", "cpu")
    np.testing.assert_array_equal(
        product(streamed.indptr, streamed.indices, streamed.values, x, None, False),
        product(small.indptr, small.indices, small.values, x, None, False))
    wide = pruned(rng, (70000, 2), 0.9, 0)       # more nonzeros than the bound, too
    assert np.count_nonzero(wide) > small.nnz and fc_layout(wide).indices.dtype == np.uint32


def test_conv_layout_stride_one_offsets_are_parks(rng):
    weight = pruned(rng, (4, 3, 3, 2), 0.5, 0)
    h, w, (py, px) = 6, 7, (1, 2)
    csr = conv_layout(weight, (3, h, w), (1, 1), (py, px), (1, 1), 1)
    hp, wp = h + 2 * py, w + 2 * px
    f, c, i, j = np.nonzero(weight)
    np.testing.assert_array_equal(csr.indices, (c * hp + i) * wp + j)
    np.testing.assert_array_equal(csr.values, weight[f, c, i, j])
    assert csr.shape == (4, 3 * hp * wp)


def test_frame_rows_share_their_padding_at_column_stride_one(rng):
    """A row of ``W + px`` pixels where the padding is at most the filter's reach and the
    reach shorter than the row; Park's offsets with that width, and reads past a row's end
    land on zeros (the next row's left padding)."""
    assert conv_frame_geometry((13, 13), (3, 3), (1, 1), (1, 1), (1, 1)) == (13, 13, 15, 14)
    assert conv_frame_geometry((27, 27), (5, 5), (1, 1), (2, 2), (1, 1))[3] == 29
    assert conv_frame_geometry((9, 9), (3, 3), (1, 1), (2, 2), (1, 2))[3] == 11  # dilated
    assert conv_frame_geometry((13, 13), (3, 3), (1, 2), (1, 1), (1, 1))[3] == 8  # stride 2
    assert conv_frame_geometry((13, 13), (3, 3), (1, 1), (3, 3), (1, 1))[3] == 19  # > reach
    assert conv_frame_geometry((1, 1), (3, 3), (1, 1), (1, 1), (1, 1))[3] == 3  # row 2 < 3
    weight = pruned(rng, (4, 3, 3, 3), 0.5, 0)
    h, w = 5, 6
    csr = conv_layout(weight, (3, h, w), (1, 1), (1, 1), (1, 1), 1)
    hp, wq = h + 2, w + 1
    f, c, i, j = np.nonzero(weight)
    np.testing.assert_array_equal(csr.indices, (c * hp + i) * wq + j)
    x = rng.standard_normal((1, 3, h, w)).astype(np.float32)
    frame = conv_frame(x, (1, 1), (1, 1), (hp, wq), slack=wq).reshape(-1)
    rows = frame[:3 * hp * wq].reshape(3, hp, wq)
    np.testing.assert_array_equal(rows[:, 1:-1, 1:], x[0])
    assert not rows[:, :, 0].any() and not rows[:, [0, -1]].any()
    assert not frame[3 * hp * wq:].any()


def test_conv_layout_rejects_filters_that_do_not_fit(rng):
    with pytest.raises(ValueError, match="groups=2"):
        conv_layout(np.ones((4, 3, 3, 3), np.float32), (3, 8, 8), (1, 1), (1, 1), (1, 1), 2)


@pytest.mark.parametrize("serial_below", [0, 1 << 40])
def test_cpu_kernels_give_the_same_result_on_one_thread_and_on_all(monkeypatch, rng,
                                                                   serial_below):
    """The size thresholds only choose the thread count: both choices compute the same
    product, and Numba's thread count is restored afterwards."""
    import numba

    from minidl.backends.numba_cpu import sparse as cpu_sparse

    monkeypatch.setattr(cpu_sparse, "SERIAL_BELOW", serial_below)
    monkeypatch.setattr(cpu_sparse, "SERIAL_DOT_BELOW", serial_below)
    threads = numba.get_num_threads()
    weight = pruned(rng, (300, 70), 0.9, zero_rows=5)
    csr = fc_layout(weight)
    for batch in (1, 3):
        x = rng.standard_normal((batch, 300)).astype(np.float32)
        got = cpu_sparse.csr_matmul(csr.indptr, csr.indices, csr.values, x)
        np.testing.assert_allclose(got, x @ weight, rtol=1e-5, atol=1e-5)
    assert numba.get_num_threads() == threads


@given(case=conv_cases(max_batch=20))
def test_cpu_frames_equal_the_reference_frames(case):
    """The cpu backend's parallel copies into and out of the batch-innermost frame against
    ``core.geometry.conv_frame`` and the reference's NumPy transpose (batches up to 20:
    whole and partial groups of the 8 x 8 transposes, rows shorter and longer than 8)."""
    from minidl.backends.numba_cpu import sparse_frames
    from minidl.core.geometry import conv_frame, conv_frame_geometry
    x, weight, stride, padding, dilation, *_ = case
    oh, ow, hq, wq = conv_frame_geometry(x.shape[2:], weight.shape[2:], stride, padding,
                                         dilation)
    expected = conv_frame(x, stride, padding, (hq, wq), slack=wq + 3)
    got = sparse_frames.conv_frame(x, stride, padding, (hq, wq), slack=wq + 3)
    np.testing.assert_array_equal(got, expected)
    n, rows = x.shape[0], weight.shape[0]
    out = np.random.default_rng(0).standard_normal((rows, oh * wq * n + 5)).astype(np.float32)
    expected = out[:, :oh * wq * n].reshape(rows, oh, wq, n)[:, :, :ow, :].transpose(3, 0, 1, 2)
    np.testing.assert_array_equal(sparse_frames.unframe(out, n, oh, ow, wq), expected)


def test_cpu_frame_is_compiled_once_for_fed_and_computed_inputs():
    """A read-only batch (as ``paddle.infer`` feeds one) and a writable one reach the frame
    kernels (one image, and a batch) as the same Numba type, so each compiles one variant,
    not two, and neither input is written."""
    from minidl.backends.numba_cpu import sparse_frames
    for batch, kernel in ((2, sparse_frames._fill_frame), (1, sparse_frames._fill_frame_one)):
        fed = np.arange(batch * 3 * 5 * 5, dtype=np.float32).reshape(batch, 3, 5, 5)
        fed.flags.writeable = False
        computed = fed.copy()
        frames = [sparse_frames.conv_frame(x, (1, 1), (1, 1), (7, 7), slack=4)
                  for x in (fed, computed)]
        np.testing.assert_array_equal(frames[0], frames[1])
        assert computed.flags.writeable
        array_types = {signature[0] for signature in kernel.signatures}
        assert array_types and all(not t.mutable for t in array_types), array_types


# --- the batch-1 product, eight nonzeros at a time -----------------------------------------

@njit(cache=False)
def _gathered_rows(indptr, indices, values, x):
    out = np.empty(len(indptr) - 1, np.float32)
    for f in range(len(indptr) - 1):
        out[f] = gathered_dot(indices, values, x, np.int64(indptr[f]),
                              np.int64(indptr[f + 1]))
    return out


def _random_rows(lengths, wide, seed):
    """CSR rows of the given lengths over 70,000 (uint32) or 300 (uint16) columns, and an
    input: ``(indptr, indices, values, x)``."""
    rng = np.random.default_rng(seed)
    k = 70000 if wide else 300
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.uint32)
    indices = rng.integers(0, k, int(indptr[-1])).astype(np.uint32 if wide else np.uint16)
    values = rng.standard_normal(int(indptr[-1])).astype(np.float32)
    return indptr, indices, values, rng.standard_normal(k).astype(np.float32)


def _check_row_sums(got, indptr, indices, values, x):
    """``got[f]`` is row f's dot with ``x``, summed here one nonzero at a time in float64."""
    for f in range(len(indptr) - 1):
        lo, hi = indptr[f], indptr[f + 1]
        expected = sum(float(values[j]) * float(x[indices[j]]) for j in range(lo, hi))
        np.testing.assert_allclose(got[f], expected, rtol=1e-5, atol=1e-5)


@given(lengths=st.lists(st.integers(0, 27), min_size=1, max_size=8),
       wide=st.booleans(), seed=st.integers(0, 2**16))
def test_gathered_dot_equals_a_loop_over_the_nonzeros(lengths, wide, seed):
    """Rows of 0-27 nonzeros: whole groups of eight, and a last group whose lanes past the
    row multiply zero (they read the row's last nonzero again); uint16 and uint32 columns.
    The last row ends at the arrays' end, so a lane read past it would be out of bounds."""
    rows = _random_rows(lengths, wide, seed)
    _check_row_sums(_gathered_rows(*rows), *rows)


@pytest.mark.parametrize("column_type", [np.uint16, np.uint32])
def test_gathered_dot_lanes_past_a_row_add_nothing(column_type):
    """A row's last, partial group reads the next row's nonzeros (or, at the arrays' end,
    its own last one again) into the lanes it does not use: those add exactly 0, even where
    ``x`` there is infinite."""
    indptr = np.array([0, 1, 9, 10], np.uint32)
    indices = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], column_type)
    values = np.arange(1, 11, dtype=np.float32)
    x = np.full(10, np.inf, np.float32)
    x[0], x[9] = 2.0, 3.0
    got = _gathered_rows(indptr, indices, values, x)
    assert got[0] == 2.0 and got[2] == 30.0
    assert got[1] == np.inf


@njit(fastmath={"reassoc", "contract"})
def _rows_of(dot, indptr, indices, values, x):
    out = np.empty(len(indptr) - 1, np.float32)
    for f in range(len(indptr) - 1):
        out[f] = dot(indptr, indices, values, x, f)
    return out


@pytest.mark.parametrize("dot", [sparse_cpu._inserted_dot, sparse_cpu._gathered_loop_dot])
@given(lengths=st.lists(st.integers(0, 70), min_size=1, max_size=8),
       wide=st.booleans(), seed=st.integers(0, 2**16))
def test_both_batch1_dots_equal_a_loop_over_the_nonzeros(dot, lengths, wide, seed):
    """Whichever dot ``row_dot`` is on this CPU, the other is checked too: rows of 0-70
    nonzeros (vector bodies and remainders), uint16 and uint32 columns."""
    rows = _random_rows(lengths, wide, seed)
    _check_row_sums(_rows_of(dot, *rows), *rows)


@pytest.mark.parametrize("dot", [sparse_cpu._inserted_dot, sparse_cpu._gathered_loop_dot])
def test_both_batch1_dots_propagate_nan_and_infinity(dot):
    """Their fast-math flags allow reordering only: a NaN or an infinity in ``x`` at a
    column a row uses reaches that row's sum, and no other row's."""
    indptr = np.array([0, 20, 40, 60], np.uint32)
    indices = np.tile(np.arange(20, dtype=np.uint16), 3) + np.repeat(
        np.array([0, 20, 40], np.uint16), 20)
    values = np.ones(60, np.float32)
    x = np.ones(60, np.float32)
    x[5], x[45] = np.nan, np.inf
    got = _rows_of(dot, indptr, indices, values, x)
    assert np.isnan(got[0]) and got[1] == 20.0 and got[2] == np.inf


@pytest.mark.parametrize("name, avx512, gathers", [
    ("rocketlake", True, True),
    ("sapphirerapids", True, True),
    ("znver4", True, False),        # AMD: not measured, the inserts stay
    ("znver3", False, False),
    ("haswell", False, False),
])
def test_hardware_gathers_only_on_intel_avx512(name, avx512, gathers):
    assert sparse_cpu._hardware_gathers(avx512, name) is gathers


def test_batch1_product_on_every_thread_equals_the_dense_product(rng):
    """A batch-1 product large enough to run on every thread (the layer's usual call, made
    without setting the thread count): the dense product, for a row of a larger batch and
    a strided row too, with the checks and -- a plan's own layout, vouched for -- without."""
    from minidl.backends.numba_cpu.sparse import SERIAL_DOT_BELOW
    weight = pruned(rng, (1024, 1024), 0.4, 0)      # ~630 k nonzeros
    csr = fc_layout(weight)
    assert csr.nnz >= SERIAL_DOT_BELOW
    x = rng.standard_normal((3, 1024)).astype(np.float32)
    bias = rng.standard_normal(1024).astype(np.float32)
    strided = np.repeat(x[2:3], 2, axis=1)[:, ::2]
    kernel = get_kernel("csr_matmul", backend="cpu")
    for row in (x[:1], x[1:2], strided):
        for relu in (False, True):
            expected = dense_fc(weight, row, bias, relu)
            close(kernel(csr.indptr, csr.indices, csr.values, row, bias, relu), expected)
            close(kernel(csr.indptr, csr.indices, csr.values, row, bias, relu, check=False),
                  expected)
            close(kernel(csr.indptr, csr.indices, csr.values, row, None, relu, check=False),
                  dense_fc(weight, row, None, relu))


def test_csr_matmul_checks_its_arrays_unless_told_not_to(rng):
    csr = fc_layout(pruned(rng, (20, 10), 0.5, 0))
    x = rng.standard_normal((1, 20)).astype(np.float32)
    for backend in ("numpy", "cpu"):
        kernel = get_kernel("csr_matmul", backend=backend)
        with pytest.raises(ValueError, match="csr_matmul: CSR arrays disagree"):
            kernel(csr.indptr, csr.indices[:-1], csr.values[:-1], x)
        with pytest.raises(ValueError, match="bias has 3 values, expected one per row"):
            kernel(csr.indptr, csr.indices, csr.values, x, np.ones(3, np.float32))
    with pytest.raises(ValueError, match="CSR arrays disagree"):     # the reference: always
        get_kernel("csr_matmul", backend="numpy")(csr.indptr, csr.indices[:-1],
                                                  csr.values[:-1], x, check=False)
