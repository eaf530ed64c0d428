"""Layers whose outputs are indices: ``kmax_seq_score`` and ``eos``. Nothing flows back
through either (Paddle gave them no backward). Kernels in
``backends/numpy_ref/sequence_ids.py``.

``kmax_seq_score(input, beam_size)``: ``input`` holds one score per row (size 1) of a
sequence; the output row of each sequence lists the positions (within it) of its
``beam_size`` best rows, best first, then -1 where the sequence is shorter -- the indices
``seq_slice`` and ``sub_nested_seq`` take. Of a nested input it ranks the rows of each
SUBSEQUENCE; the output is then a sequence per sample with one row per subsequence::

    scores (one sequence of 4):  [0.1, 0.9, 0.4, 0.7]   beam_size 3  ->  [[1, 3, 2]]
                                                          beam_size 6  ->  [[1, 3, 2, 0, -1, -1]]

The output's width is ``beam_size`` (Paddle's config reported the input's size, 1, but its
rows held ``beam_size`` numbers; here ``size`` says what the rows hold).

``eos(input, eos_id)``: ``input`` gives integer ids (an ``integer_value`` data layer,
``max_id``); the output, also ids, is 1 where the id is ``eos_id`` and 0 elsewhere, with the
input's sequence layout. Its size is 2 (the ids are 0 or 1), as in Paddle.
"""

import numbers

from ..functions.sequence_ids import eos_check, kmax_seq_score as kmax_function
from .base import Layer, default_name, with_layout
from .projections import describe_input, gives_ids
from .sequence import _layout_of, _require_sequence, check_dense, one_layer


class KmaxSeqScoreLayer(Layer):
    """Paddle's ``kmax_seq_score``: see the module docstring."""

    type = "kmax_seq_score"
    per_timestep = False

    def __init__(self, input, name=None, beam_size=1):
        name = name or default_name("kmax_seq_score_layer")
        input = one_layer(input, "input", name)
        if isinstance(beam_size, bool) or not isinstance(beam_size, numbers.Integral) or \
                beam_size < 1:
            raise ValueError(f"layer {name} (kmax_seq_score): beam_size={beam_size!r} must be "
                             "an integer >= 1")
        if input.size != 1:
            raise ValueError(f"layer {name} (kmax_seq_score): input {input.name} has size "
                             f"{input.size}; expected 1 (one score per row)")
        check_dense(input, name, self.type)
        _require_sequence(input, name, self.type, "ranks the rows of each sequence")
        super().__init__(name, [input], int(beam_size))
        self.beam_size = int(beam_size)
        #: a plain input gives one row per sequence; a nested one a sequence of rows
        self.seq_level = input.seq_level - 1

    def forward(self, ctx, xs):
        layout = _layout_of(xs[0], self.inputs[0], self)
        if layout.is_nested:
            y = kmax_function(xs[0], layout.sub_starts, self.beam_size)
            return with_layout(y, layout.sequences_of_subsequences())
        return with_layout(kmax_function(xs[0], layout.starts, self.beam_size), None)


def kmax_seq_score(input, name=None, beam_size=1):
    """v2's ``paddle.layer.kmax_seq_score`` (``kmax_seq_score_layer``); default name
    ``__kmax_seq_score_layer_N__``."""
    return KmaxSeqScoreLayer(input, name, beam_size)


class EosLayer(Layer):
    """Paddle's ``eos_id`` layer: 1 where the input id is ``eos_id``, else 0."""

    type = "eos_id"

    def __init__(self, input, eos_id, name=None, layer_attr=None):
        name = name or default_name("eos_layer")
        input = one_layer(input, "input", name)
        if isinstance(eos_id, bool) or not isinstance(eos_id, numbers.Integral) or eos_id < 0:
            raise ValueError(f"layer {name} (eos_id): eos_id={eos_id!r} must be an integer "
                             ">= 0")
        if not gives_ids(input):
            raise ValueError(f"layer {name} (eos_id) compares integer ids, but its input "
                             f"{describe_input(input)} gives dense values; feed an "
                             "integer_value(_sequence) data layer or max_id")
        if eos_id >= input.size:
            raise ValueError(f"layer {name} (eos_id): eos_id={eos_id}, but input "
                             f"{describe_input(input)} gives ids below {input.size}")
        super().__init__(name, [input], 2, layer_attr=layer_attr)
        self.eos_id = int(eos_id)

    def forward(self, ctx, xs):
        return eos_check(xs[0], self.eos_id)


def eos(input, eos_id, name=None, layer_attr=None):
    """v2's ``paddle.layer.eos`` (``eos_layer``); default name ``__eos_layer_N__``."""
    return EosLayer(input, eos_id, name, layer_attr)
