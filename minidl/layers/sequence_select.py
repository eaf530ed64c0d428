"""``seq_slice`` and ``sub_nested_seq``: rows of a batch of sequences picked by index, the
second step of beam training (the indices usually come from ``kmax_seq_score``).

Indices are whole numbers in a DENSE layer (floats, as Paddle kept them), one row per unit
-- per sequence of a plain input, per subsequence of a nested one for ``seq_slice`` -- and
a -1 ends a row's list. The output's values are rows of the input, so its gradient flows
back to them; the indices get none. The equations are in
``backends/numpy_ref/sequence_select.py``::

    input: sequences a0 a1 a2 | b0 b1              starts [[1], [0]], ends [[2], [0]]
    seq_slice(input, starts, ends):                a1 a2 | b0           (ends inclusive)
    ... with two columns, starts [[0, 1], [0, -1]], ends None:
                                                   a0 a1 a2 | a1 a2 | b0 b1

    nested input: [x0 | x1 x2 | x3] [y0 y1]        selected [[2, 0], [-1, -1]]
    sub_nested_seq(input, selected):               [x3 | x0] []

Every slice of a plain input becomes a sequence of its own (a row of K indices can make K
sequences of one sample). Of a nested input, every slice becomes a subsequence and each
sequence keeps the slices of its own subsequences, so the output is nested again.
"""

import numpy as np

from ..core.sequence import SequenceLayout
from ..functions.sequence_select import select_rows, seq_slice_plan, sub_nested_seq_plan
from .base import SEQUENCE_LEVELS, Layer, default_name, with_layout
from .sequence import _layout_of, _require_sequence, check_dense, one_layer, rows


def _index_input(value, what, name, layer_type):
    """A dense layer of indices, checked at build time."""
    value = one_layer(value, what, name)
    check_dense(value, name, layer_type)
    return value


def _plan(layer, make_plan, *arguments):
    """Run a plan, naming the layer in its errors."""
    try:
        return make_plan(*arguments)
    except ValueError as error:
        raise ValueError(f"layer {layer.name} ({layer.type}): {error}") from None


def _grouped(lengths, per_unit, unit_of_sequence):
    """``lengths`` of the output pieces, per sequence: the pieces of units
    ``unit_of_sequence[i] .. unit_of_sequence[i + 1] - 1`` make sequence i."""
    bounds = np.concatenate([[0], np.cumsum(per_unit)]).astype(np.int64)
    return [lengths[bounds[unit_of_sequence[i]]:bounds[unit_of_sequence[i + 1]]].tolist()
            for i in range(len(unit_of_sequence) - 1)]


class SequenceSliceLayer(Layer):
    """Paddle's ``seq_slice``: slices of each sequence (or subsequence) from ``starts`` to
    ``ends`` (inclusive positions), either of which may be None (the unit's first / last
    row)."""

    type = "seq_slice"
    per_timestep = False

    def __init__(self, input, starts, ends, name=None):
        name = name or default_name("seq_slice_layer")
        input = one_layer(input, "input", name)
        if starts is None and ends is None:
            raise ValueError(f"layer {name} (seq_slice): starts and ends are both None; give "
                             "the start indices, the end indices or both")
        indices = [_index_input(value, what, name, self.type)
                   for value, what in ((starts, "starts"), (ends, "ends")) if value is not None]
        if len(indices) == 2 and indices[0].size != indices[1].size:
            raise ValueError(f"layer {name} (seq_slice): starts {indices[0].name} has "
                             f"{indices[0].size} columns and ends {indices[1].name} "
                             f"{indices[1].size}; expected the same number")
        check_dense(input, name, self.type)
        _require_sequence(input, name, self.type, "slices each sequence")
        if input.seq_level == 1:
            for index in indices:
                if index.seq_level:
                    raise ValueError(f"layer {name} (seq_slice): {index.name} is a "
                                     f"{SEQUENCE_LEVELS[index.seq_level]}, but a plain "
                                     "sequence input takes one row of indices per sequence "
                                     "(a non-sequence)")
        super().__init__(name, [input] + indices, input.size)
        self.has_starts, self.has_ends = starts is not None, ends is not None
        self.seq_level = input.seq_level

    def forward(self, ctx, xs):
        layout = _layout_of(xs[0], self.inputs[0], self)
        given = iter(xs[1:])
        starts = next(given) if self.has_starts else None
        ends = next(given) if self.has_ends else None
        units = layout.sub_starts if layout.is_nested else layout.starts
        picked, lengths, per_unit = _plan(self, seq_slice_plan, units, starts, ends)
        y = select_rows(rows(xs[0], self), picked)
        if layout.is_nested:
            unit_of_sequence = np.searchsorted(layout.sub_starts, layout.starts)
            out = SequenceLayout.from_lengths(None, _grouped(lengths, per_unit,
                                                             unit_of_sequence))
        else:
            out = SequenceLayout.from_lengths(lengths)
        return with_layout(y, out)


def seq_slice(input, starts, ends, name=None):
    """v2's ``paddle.layer.seq_slice`` (``seq_slice_layer``); default name
    ``__seq_slice_layer_N__``."""
    return SequenceSliceLayer(input, starts, ends, name)


class SubNestedSequenceLayer(Layer):
    """Paddle's ``sub_nested_seq``: the subsequences ``selected_indices`` names, per
    sequence of a nested input; the output is nested."""

    type = "sub_nested_seq"
    per_timestep = False

    def __init__(self, input, selected_indices, name=None):
        name = name or default_name("sub_nested_seq_layer")
        input = one_layer(input, "input", name)
        selected = _index_input(selected_indices, "selected_indices", name, self.type)
        check_dense(input, name, self.type)
        if input.seq_level != 2:
            raise ValueError(f"layer {name} (sub_nested_seq) selects subsequences, but its "
                             f"input {input.name} is a {SEQUENCE_LEVELS[input.seq_level]}; "
                             "expected a nested sequence (a *_sub_sequence data type)")
        if selected.seq_level:
            raise ValueError(f"layer {name} (sub_nested_seq): selected_indices "
                             f"{selected.name} is a {SEQUENCE_LEVELS[selected.seq_level]}; "
                             "expected one row of indices per sequence (a non-sequence)")
        super().__init__(name, [input, selected], input.size)
        self.seq_level = 2

    def forward(self, ctx, xs):
        layout = _layout_of(xs[0], self.inputs[0], self)
        if not layout.is_nested:
            raise ValueError(f"layer {self.name} (sub_nested_seq): input "
                             f"{self.inputs[0].name} carries {layout!r}, not a nested layout")
        picked, lengths, per_sequence = _plan(self, sub_nested_seq_plan, layout, xs[1])
        y = select_rows(rows(xs[0], self), picked)
        bounds = np.arange(len(per_sequence) + 1)
        out = SequenceLayout.from_lengths(None, _grouped(lengths, per_sequence, bounds))
        return with_layout(y, out)


def sub_nested_seq(input, selected_indices, name=None):
    """v2's ``paddle.layer.sub_nested_seq`` (``sub_nested_seq_layer``); default name
    ``__sub_nested_seq_layer_N__``."""
    return SubNestedSequenceLayer(input, selected_indices, name)
