"""Reference block expansion: every image cut into (possibly overlapping) blocks, the
blocks read left to right, top to bottom, as the timesteps of one sequence.

Notation: ``x: (N, C, H, W)``, blocks ``(by, bx)``, ``stride (sy, sx)``, ``padding
(py, px)`` -> ``y: (N * OH * OW, C * by * bx)`` with, per axis, the ceil of Paddle's
block count::

    OH = 1 + ceil((H + 2 py - by) / sy)

Row ``(n * OH + oh) * OW + ow`` is block ``(oh, ow)`` of image ``n``, its values in
``(c, i, j)`` order::

    y[(n, oh, ow), (c, i, j)] = x[n, c, oh * sy + i - py, ow * sx + j - px]

and cells outside the image (padding, or a last block hanging past the edge) read 0.
"""

from ...core.xp import get_array_module
from ..registry import register


def block_counts(image_hw, block, stride, padding):
    """``(OH, OW)``: blocks per column and per row (ceil, as Paddle counted them)."""
    return tuple(1 + -(-(size + 2 * p - b) // s)
                 for size, b, s, p in zip(image_hw, block, stride, padding))


def _frame_shape(input_shape, block, stride, padding):
    """A zero frame holding every block: the image at ``(py, px)``."""
    n, c, h, w = input_shape
    oh, ow = block_counts((h, w), block, stride, padding)
    rows = max((oh - 1) * stride[0] + block[0], h + padding[0])
    cols = max((ow - 1) * stride[1] + block[1], w + padding[1])
    return (n, c, rows, cols), (oh, ow)


def _taps(block, stride, counts):
    """``(i, j, rows, cols)``: the frame cells tap ``(i, j)`` of every block reads."""
    (sy, sx), (oh, ow) = stride, counts
    for i in range(block[0]):
        for j in range(block[1]):
            yield i, j, slice(i, i + sy * (oh - 1) + 1, sy), slice(j, j + sx * (ow - 1) + 1, sx)


@register("block_expand_forward")
def block_expand_forward(x, block, stride, padding):
    """``(N, C, H, W)`` -> ``(N * OH * OW, C * by * bx)`` (see the module doc)."""
    xp = get_array_module(x)
    shape, counts = _frame_shape(x.shape, block, stride, padding)
    n, c, h, w = x.shape
    frame = xp.zeros(shape, dtype=x.dtype)
    frame[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w] = x
    blocks = xp.zeros((n, c, block[0], block[1]) + counts, dtype=x.dtype)
    for i, j, rows, cols in _taps(block, stride, counts):
        blocks[:, :, i, j] = frame[:, :, rows, cols]
    # (N, C, by, bx, OH, OW) -> (N, OH, OW, C, by, bx): one block per row
    return xp.ascontiguousarray(blocks.transpose(0, 4, 5, 1, 2, 3)).reshape(
        n * counts[0] * counts[1], c * block[0] * block[1])


@register("block_expand_backward")
def block_expand_backward(gy, input_shape, block, stride, padding):
    """Each block's gradient added back to the cells it read: -> ``input_shape``."""
    xp = get_array_module(gy)
    shape, counts = _frame_shape(input_shape, block, stride, padding)
    n, c, h, w = input_shape
    blocks = gy.reshape(n, counts[0], counts[1], c, block[0], block[1]).transpose(0, 3, 4, 5, 1, 2)
    frame = xp.zeros(shape, dtype=gy.dtype)
    for i, j, rows, cols in _taps(block, stride, counts):
        frame[:, :, rows, cols] += blocks[:, :, i, j]
    return xp.ascontiguousarray(frame[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w])
