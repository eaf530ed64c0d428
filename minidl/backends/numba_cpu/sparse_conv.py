"""Numba direct sparse convolution (Park et al., ICLR 2017): ``direct_sparse_conv2d``.

Same signature as the reference in ``backends/numpy_ref/sparse.py``, which defines the
frame (the input padded, phase-split, batch-innermost) and the CSR rows of frame offsets.
Every nonzero of filter row ``f`` multiply-adds a contiguous run of the frame into the
output row, ``out[f, t] += values[j] * frame[indices[j] * N + t]``, in register blocks
(``sparse_runs.py``); the run is an output plane, ``OH * Wq * N`` values, or one run per
output row where that wastes much less (``sparse_conv_blocks.Pieces``). Long runs are cut
into spans that keep their part of the frame in L2; with AVX-512, runs of one register
block go through the frame in tiles of channels that fit in L1 (``channel_tiles``).

The copies into and out of the frame run on Numba's threads too (``sparse_frames.py``).
Index arithmetic is unsigned (see ``sparse.py``); Numba does not check bounds: the
offsets must lie inside the frame, as ``minidl.sparse_inference.layout`` builds them, and
the frame carries ``LONGEST_BLOCK`` values of slack for the padded runs.
"""

import numpy as np

from ...core.geometry import conv_frame_geometry
from ..registry import register
from .sparse import SERIAL_BELOW, _checked
from .sparse_conv_blocks import LONGEST_BLOCK, Pieces, channel_group, channel_tiles
from .sparse_frames import conv_frame, unframe
from .sparse_runs import blocks_kernel, tiled_kernel
from .threads import one_thread_below, thread_count


@register("direct_sparse_conv2d", backend="cpu")
def direct_sparse_conv2d(x, indptr, indices, values, filter_size, stride, padding, dilation,
                         bias=None, relu=False):
    """Direct sparse convolution (Park et al.); see the reference for the notation."""
    indptr, indices, values, bias = _checked(indptr, indices, values, bias,
                                             "direct_sparse_conv2d")
    x = np.asarray(x, dtype=np.float32)
    n = x.shape[0]
    oh, ow, hq, wq = conv_frame_geometry(x.shape[2:], filter_size, stride, padding, dilation)
    layout = Pieces.of(oh, ow, wq, n)
    (kh, kw), (sy, sx), (dy, dx) = filter_size, stride, dilation
    reach = ((kh - 1) * dy // sy * wq + (kw - 1) * dx // sx) * n
    rows = len(indptr) - 1
    planes = sy * sx * x.shape[1]
    tile_span = channel_tiles(layout, reach, planes, hq * wq, n)
    group_span = 0 if tile_span else channel_group(layout, reach, planes, hq * wq,
                                                   int(indptr[-1]) // max(rows, 1))
    out = np.empty((rows, layout.values), dtype=np.float32)
    with one_thread_below(int(indptr[-1]) * oh * wq * n, SERIAL_BELOW):
        frame = conv_frame(x, stride, padding, (hq, wq), slack=wq + LONGEST_BLOCK)
        if tile_span:
            tiled_kernel(layout.block, layout.tail)(
                indptr, indices, values, frame, n, bias, bool(relu), tile_span, thread_count(),
                out)
        else:
            blocks_kernel(layout.block, layout.tail)(
                indptr, indices, values, frame, n, bias, bool(relu), layout.pieces,
                layout.by_rows, group_span, out)
        return unframe(out, n, oh, ow, layout.out_width)
