"""``block_expand``: each image cut into ``block_y x block_x`` blocks (stride, zero
padding), the blocks read left to right, top to bottom, as the timesteps of one sequence
-- from a convolutional stack into a recurrent one (Paddle's ``blockexpand`` layer).

Output size ``C * block_y * block_x`` (one block per timestep, values in ``(c, i, j)``
order); each sample becomes a sequence of ``OH * OW`` timesteps, per axis
``1 + ceil((size + 2 * padding - block) / stride)``. No parameters. See
``backends/numpy_ref/block_expand.py``.
"""

from ..core.sequence import SequenceLayout
from ..functions.basic import reshape
from ..functions.block_expand import block_counts, block_expand as expand_function
from .base import Layer, default_name, image_geometry, with_layout
from .image_checks import count, dense_rows, one_input


class BlockExpandLayer(Layer):
    """Images ``(C, H, W)`` -> a sequence of ``OH * OW`` blocks of ``C * by * bx`` values."""

    type = "blockexpand"
    accepts_sequences = False
    per_timestep = False

    def __init__(self, input, block_x=0, block_y=0, stride_x=0, stride_y=0, padding_x=0,
                 padding_y=0, num_channels=None, name=None, layer_attr=None):
        name = name or default_name("block_expand_layer")
        input = dense_rows(one_input(input, name, "block_expand"), "input", name)
        self.block = (count(block_y, "block_y", name), count(block_x, "block_x", name))
        self.stride = (count(stride_y, "stride_y", name), count(stride_x, "stride_x", name))
        self.padding = (count(padding_y, "padding_y", name, minimum=0),
                        count(padding_x, "padding_x", name, minimum=0))
        c, h, w = image_geometry(name, input, num_channels)
        self.counts = block_counts((h, w), self.block, self.stride, self.padding)
        if min(self.counts) < 1:
            raise ValueError(f"layer {name}: block {self.block} (height, width) with padding "
                             f"{self.padding} does not fit the {h}x{w} image of {input.name}")
        super().__init__(name, [input], c * self.block[0] * self.block[1], layer_attr=layer_attr)
        self.seq_level = 1
        self.input_shape = (c, h, w)

    def forward(self, ctx, xs):
        (x,) = xs
        n = x.shape[0]
        y = expand_function(reshape(x, (n,) + self.input_shape), self.block, self.stride,
                            self.padding)
        steps = self.counts[0] * self.counts[1]
        return with_layout(y, SequenceLayout.from_lengths([steps] * n))


def block_expand(input, block_x=0, block_y=0, stride_x=0, stride_y=0, padding_x=0,
                 padding_y=0, num_channels=None, name=None, layer_attr=None):
    """v2's ``block_expand`` (``block_expand_layer``); the block and stride sizes have no
    usable default (0) and must be given."""
    return BlockExpandLayer(input, block_x, block_y, stride_x, stride_y, padding_x, padding_y,
                            num_channels, name, layer_attr)


__all__ = ["BlockExpandLayer", "block_expand"]
