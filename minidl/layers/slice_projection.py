"""``slice_projection``: channel ranges of an image, side by side, as a term of ``mixed``.

``slices`` lists ``(start, end)`` CHANNEL ranges of the input image (``C x H x W``, stored
channel after channel): the term's row is the ``H * W`` values of channels ``start .. end-1``
of the first range, then those of the next, and so on, so its width is
``sum(end - start) * H * W``, which fixes the mixed layer's size. The ranges must increase
and not overlap (each starts at or after the previous end), and end within the ``C``
channels. The term has no parameter::

    conv output 4 x 2 x 2, slices [(0, 1), (2, 4)]:  channels 0, 2, 3  -> 12 values per row

Paddle v2 defined the projection for convolution outputs; here any layer with image geometry
(a conv, pool or batch-norm layer, an image data layer) is accepted -- the channels are laid
out the same way.
"""

import numbers

from ..functions.column_slices import column_slices
from .projections import Projection, _flat, describe_input


def _check_slices(slices, channels, origin):
    """``slices`` as a tuple of ``(start, end)`` int pairs, or a ValueError saying why not."""
    where = f"slice_projection(input={origin.name})"
    if not isinstance(slices, (list, tuple)) or not slices:
        raise ValueError(f"{where}: slices={slices!r} must be a non-empty list of "
                         "(start, end) channel ranges")
    checked, previous_end = [], 0
    for pair in slices:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(
                isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in pair):
            raise ValueError(f"{where}: slice {pair!r} must be a pair of integers "
                             "(start, end)")
        start, end = int(pair[0]), int(pair[1])
        if start < previous_end:
            raise ValueError(f"{where}: slice ({start}, {end}) starts before {previous_end}, "
                             "the end of the slice before it; slices must increase and not "
                             "overlap")
        if end < start:
            raise ValueError(f"{where}: slice ({start}, {end}) ends before it starts; "
                             "expected start <= end")
        checked.append((start, end))
        previous_end = end
    if previous_end > channels:
        raise ValueError(f"{where}: the last slice ends at channel {previous_end}, but "
                         f"{describe_input(origin)} has {channels} channels")
    if all(start == end for start, end in checked):
        raise ValueError(f"{where}: every slice of {checked} is empty; expected at least "
                         "one channel")
    return tuple(checked)


class SliceProjection(Projection):
    """Paddle's ``slice`` projection: see the module docstring."""

    type = "slice"
    builder = "slice_projection"

    def __init__(self, input, slices):
        super().__init__(input)
        if input.image_shape is None:
            raise ValueError(f"slice_projection: input {describe_input(input)} has no image "
                             "geometry; the slices are channel ranges of an image (the output "
                             "of img_conv, for example)")
        channels, height, width = input.image_shape
        self.slices = _check_slices(slices, channels, input)
        area = height * width
        #: the same ranges in columns of the flattened image
        self.column_ranges = tuple((start * area, end * area) for start, end in self.slices)

    def output_size(self):
        return sum(end - start for start, end in self.column_ranges)

    def compute(self, ctx, xs, spec, size):
        return column_slices(_flat(xs[0]), self.column_ranges)

    def __repr__(self):
        return f"slice_projection(input={self.origin.name}, slices={list(self.slices)})"


def slice_projection(input, slices):
    """v2's ``slice_projection``: the channels of ``slices`` of an image, for ``mixed``."""
    return SliceProjection(input, slices)
