"""Sequence layers: ``pooling``, ``last_seq``, ``first_seq``, ``expand``, ``seq_concat`` and
``seq_reshape``, with v2's ``AggregateLevel`` and ``ExpandLevel``.

Unlike a per-timestep layer (``fc``, ``concat``, ...), which keeps its input's
:class:`~minidl.core.sequence.SequenceLayout`, each of these reads the layout and gives its
output a new one (``per_timestep = False``)::

    input: 3 sequences, lengths 2, 3, 1          starts [0, 2, 5, 6]
    pooling / last_seq / first_seq:              3 rows, no layout (one row per sample)
      ... with stride=2:                         a sequence per sample, lengths 1, 2, 1
    nested input, agg_level=TO_SEQUENCE:         one row per subsequence, grouped by sequence
    expand(x, expand_as=input):                  6 rows, input's layout (row i repeated)
    seq_concat(input, other):                    sequence i of input, then sequence i of other
    seq_reshape(input, reshape_size):            same values, rows of reshape_size numbers

What each level means, as Paddle's trainer_config_helpers defines it:

* ``AggregateLevel.TO_NO_SEQUENCE`` (default): aggregate each whole sequence (a nested
  sequence across all its subsequences) into one row.
* ``AggregateLevel.TO_SEQUENCE``: aggregate each subsequence of a nested sequence; the output
  is a sequence of those rows.
* ``ExpandLevel.FROM_NO_SEQUENCE`` (default): one row per sample, expanded over the sample's
  whole sequence in ``expand_as``.
* ``ExpandLevel.FROM_SEQUENCE``: a sequence with one row per subsequence of ``expand_as``
  (nested); row j is expanded over subsequence j.
"""

import numbers

import numpy as np

from .activations import Identity
from ..core.sequence import SequenceLayout
from ..functions.basic import reshape
from ..functions.sequence import (sequence_concat, sequence_expand, sequence_instance,
                                  sequence_pool)
from .base import SEQUENCE_LEVELS, Layer, as_param_attr, default_name, with_layout
from .data import DataLayer
from .pooling_types import Avg, BasePoolingType, CudnnAvg, CudnnMax, Max, SquareRootN, Sum


class AggregateLevel:
    """What a sequence aggregation (``pooling``, ``last_seq``, ``first_seq``) reduces."""

    TO_NO_SEQUENCE = "non-seq"
    TO_SEQUENCE = "seq"
    # compatible with previous configuration
    EACH_TIMESTEP = TO_NO_SEQUENCE
    EACH_SEQUENCE = TO_SEQUENCE


class ExpandLevel:
    """What ``expand`` expands: one row per sample, or one row per subsequence."""

    FROM_NO_SEQUENCE = AggregateLevel.TO_NO_SEQUENCE
    FROM_SEQUENCE = AggregateLevel.TO_SEQUENCE
    # compatible with previous configuration
    FROM_TIMESTEP = FROM_NO_SEQUENCE


_AGG_NAMES = {AggregateLevel.TO_NO_SEQUENCE: "AggregateLevel.TO_NO_SEQUENCE",
              AggregateLevel.TO_SEQUENCE: "AggregateLevel.TO_SEQUENCE"}
_EXPAND_NAMES = {ExpandLevel.FROM_NO_SEQUENCE: "ExpandLevel.FROM_NO_SEQUENCE",
                 ExpandLevel.FROM_SEQUENCE: "ExpandLevel.FROM_SEQUENCE"}


# --- checks shared by the sequence and math layers ------------------------------------------

def one_layer(value, what, layer_name):
    """``value`` if it is a Layer, else an error naming ``layer_name`` and ``what``."""
    if not isinstance(value, Layer):
        raise ValueError(f"layer {layer_name}: {what} must be a layer, got {value!r}")
    return value


def check_same_size(a, b, layer_name, layer_type):
    """Construction-time refusal of two inputs of different sizes."""
    if a.size != b.size:
        raise ValueError(f"layer {layer_name}: {layer_type} inputs must have the same size; "
                         f"{a.name} has {a.size}, {b.name} has {b.size}")


def check_dense(parent, layer_name, layer_type):
    """Construction-time refusal of integer ids (an ``integer_value`` data layer) where a
    layer computes on values."""
    if isinstance(parent, DataLayer) and parent.input_type.kind == "index":
        raise ValueError(f"layer {layer_name} ({layer_type}) computes on vectors, but its input "
                         f"{parent.name} gives integer ids ({parent.input_type!r}); feed dense "
                         "vectors (e.g. through an embedding or fc layer)")


def rows(x, layer, what="input"):
    """``x`` as ``(R, D)`` floats, or a run-time error naming the layer."""
    if x.dtype.kind != "f":
        raise ValueError(f"layer {layer.name} ({layer.type}): its {what} holds {x.dtype} values "
                         "(integer ids?); it computes on dense float vectors")
    return x if x.ndim == 2 else reshape(x, (x.shape[0], int(np.prod(x.shape[1:]))))


def _layout_of(x, parent, layer):
    """The layout a sequence input carries, or a run-time error naming both layers."""
    if x.seq is None:
        raise ValueError(f"layer {layer.name} ({layer.type}): input {parent.name} is declared a "
                         f"{SEQUENCE_LEVELS[parent.seq_level]} but its value carries no sequence "
                         "layout (feed it through paddle's feeder, or give the Tensor a seq)")
    return x.seq


def _require_sequence(parent, layer_name, layer_type, why):
    if parent.seq_level == 0:
        raise ValueError(f"layer {layer_name} ({layer_type}) {why}, but its input {parent.name} "
                         "is a non-sequence (one row per sample); feed it a sequence "
                         "(a *_sequence data type or a layer computed from one)")


def _check_choice(value, names, what, layer_name):
    if not isinstance(value, str) or value not in names:
        expected = " or ".join(names.values())
        raise ValueError(f"layer {layer_name}: {what}={value!r} must be {expected}")
    return value


def _bias(layer, bias_attr):
    """Paddle's ``bias_attr`` of the sequence layers: None/False (default) for no bias,
    True or a ParamAttr for a bias ``(1, size)`` added to every output row."""
    if bias_attr is None or bias_attr is False:
        return None
    return layer.add_param("wbias", (1, layer.size),
                           as_param_attr(bias_attr, f"{layer.name} bias_attr"), is_bias=True)


def stride_windows(starts, stride, from_end=False):
    """Windows of ``stride`` rows over every sequence (Paddle's ``poolSequenceWithStride``).

    Returns ``(window_starts, output_layout)``: the starts of the windows, to aggregate over,
    and the layout of the result -- one sequence per input sequence, holding one row per
    window. The last window of a sequence may be shorter; with ``from_end`` (``first_seq``)
    the windows are aligned to the sequence's end and the first one is the short one::

        starts [0, 9, 14], stride 5:  windows [0, 5, 9, 14]         output starts [0, 2, 3]
        from_end:                     windows [0, 4, 9, 14]         output starts [0, 2, 3]
    """
    windows, counts = [0], []
    for i in range(len(starts) - 1):
        begin, end = int(starts[i]), int(starts[i + 1])
        if from_end:
            cuts = sorted(range(end - stride, begin, -stride))
        else:
            cuts = list(range(begin + stride, end, stride))
        windows.extend(cuts + [end])
        counts.append(len(cuts) + 1)
    return np.array(windows, dtype=np.int64), SequenceLayout.from_lengths(counts)


# --- pooling, last_seq, first_seq -----------------------------------------------------------

class _AggregateLayer(Layer):
    """One row per sequence (or per subsequence, or per stride window) from its rows."""

    per_timestep = False

    def __init__(self, name, input, agg_level, stride, layer_attr, bias_attr=None):
        input = one_layer(input, "input", name)
        super().__init__(name, [input], input.size, layer_attr=layer_attr)
        check_dense(input, name, self.type)
        _require_sequence(input, name, self.type, "aggregates each sequence into one row")
        self.agg_level = _check_choice(agg_level, _AGG_NAMES, "agg_level", name)
        if isinstance(stride, bool) or not isinstance(stride, numbers.Integral) or \
                not (stride == -1 or stride > 0):
            raise ValueError(f"layer {name}: stride={stride!r} must be -1 (whole sequences) or a "
                             "positive number of rows per window")
        self.stride = int(stride)
        if self.agg_level == AggregateLevel.TO_SEQUENCE:
            if input.seq_level != 2:
                raise ValueError(f"layer {name}: agg_level=AggregateLevel.TO_SEQUENCE aggregates "
                                 f"each subsequence of a nested sequence, but input {input.name} "
                                 f"is a {SEQUENCE_LEVELS[input.seq_level]}; use "
                                 "AggregateLevel.TO_NO_SEQUENCE")
            if self.stride != -1:
                raise ValueError(f"layer {name}: stride={stride} needs "
                                 "agg_level=AggregateLevel.TO_NO_SEQUENCE (Paddle asserted "
                                 "stride == -1 for TO_SEQUENCE)")
        if self.stride > 0 and input.seq_level == 2:
            raise ValueError(f"layer {name}: stride={stride} windows a plain sequence, but input "
                             f"{input.name} is a nested sequence (Paddle: sequence stride pooling "
                             "is invalid for nested sequences)")
        #: TO_SEQUENCE and stride windows leave a sequence; whole sequences leave one row each
        self.seq_level = 1 if (self.agg_level == AggregateLevel.TO_SEQUENCE or
                               self.stride > 0) else 0
        self.bias = _bias(self, bias_attr)

    def _groups(self, layout):
        """The starts of the row groups to aggregate, and the output's layout."""
        if self.agg_level == AggregateLevel.TO_SEQUENCE:
            if not layout.is_nested:
                raise ValueError(f"layer {self.name}: agg_level=AggregateLevel.TO_SEQUENCE needs "
                                 f"a nested sequence; input {self.inputs[0].name} carries "
                                 f"{layout!r}")
            return layout.sub_starts, layout.sequences_of_subsequences()
        if self.stride > 0:
            return stride_windows(layout.starts, self.stride, self._from_end)
        return layout.starts, None

    _from_end = False

    def forward(self, ctx, xs):
        layout = _layout_of(xs[0], self.inputs[0], self)
        groups, out_layout = self._groups(layout)
        y = self._aggregate(rows(xs[0], self), groups)
        return with_layout(self.plus_bias(ctx, y), out_layout)


def _pool_kind(pooling_type, name):
    """``pooling_type`` -> (Paddle's layer type, the strategy the kernels take)."""
    pooling_type = BasePoolingType.accept(pooling_type)  # paddle.pooling.Max without the call
    if isinstance(pooling_type, (CudnnMax, CudnnAvg)):
        raise ValueError(f"layer {name}: {pooling_type!r} pools images (img_pool); sequence "
                         "pooling takes paddle.pooling.Max(), Avg(), Sum() or SquareRootN()")
    if isinstance(pooling_type, Max):
        return "max", "max"
    for kind, strategy in ((Avg, "average"), (Sum, "sum"), (SquareRootN, "squarerootn")):
        if isinstance(pooling_type, kind):
            return "average", strategy
    raise ValueError(f"layer {name}: pooling_type={pooling_type!r} must be paddle.pooling.Max(), "
                     "Avg(), Sum() or SquareRootN()")


class SequencePoolingLayer(_AggregateLayer):
    """Paddle's sequence ``pooling``: the column-wise max, or the average / sum /
    sum over sqrt(length), of each sequence (type ``max`` or ``average``)."""

    def __init__(self, input, pooling_type=None, name=None, bias_attr=None,
                 agg_level=AggregateLevel.TO_NO_SEQUENCE, stride=-1, layer_attr=None):
        name = name or default_name("seq_pooling")
        self.type, self.strategy = _pool_kind(Max() if pooling_type is None else pooling_type,
                                              name)
        super().__init__(name, input, agg_level, stride, layer_attr, bias_attr)

    def _aggregate(self, x, groups):
        return sequence_pool(x, groups, self.strategy)


def pooling(input, pooling_type=None, name=None, bias_attr=None,
            agg_level=AggregateLevel.TO_NO_SEQUENCE, stride=-1, layer_attr=None):
    """v2's ``paddle.layer.pooling`` (``pooling_layer``): pool each sequence (default
    ``paddle.pooling.Max()``); see the module docstring for ``agg_level`` and ``stride``."""
    return SequencePoolingLayer(input, pooling_type, name, bias_attr, agg_level, stride,
                                layer_attr)


class SequenceInstanceLayer(_AggregateLayer):
    """Paddle's ``seqlastins`` / ``seqfirstins``: the last (or first) row of each sequence."""

    def __init__(self, input, name, agg_level, stride, layer_attr, select_first):
        self.select_first = bool(select_first)
        self.type = "seqfirstins" if select_first else "seqlastins"
        self._from_end = self.select_first       # Paddle: reversed_ = select_first
        super().__init__(name, input, agg_level, stride, layer_attr)

    def _aggregate(self, x, groups):
        return sequence_instance(x, groups, self.select_first)


def last_seq(input, name=None, agg_level=AggregateLevel.TO_NO_SEQUENCE, stride=-1,
             layer_attr=None):
    """The last row of each sequence (with ``stride``: of each window of ``stride`` rows)."""
    return SequenceInstanceLayer(input, name or default_name("last_seq"), agg_level, stride,
                                 layer_attr, select_first=False)


def first_seq(input, name=None, agg_level=AggregateLevel.TO_NO_SEQUENCE, stride=-1,
              layer_attr=None):
    """The first row of each sequence (with ``stride``: of each window, the windows aligned to
    the sequence's end, as Paddle's reversed stride pooling)."""
    return SequenceInstanceLayer(input, name or default_name("first_seq"), agg_level, stride,
                                 layer_attr, select_first=True)


# --- expand ---------------------------------------------------------------------------------

class ExpandLayer(Layer):
    """Paddle's ``expand``: rows of ``input`` repeated to the layout of ``expand_as``.

    ``FROM_NO_SEQUENCE``: row i (one per sample; a sequence input must hold one row per
    sequence) fills every row of sequence i of ``expand_as``. ``FROM_SEQUENCE``: ``input`` is a
    sequence whose sequence i has one row per subsequence of ``expand_as``'s sequence i, and
    row j fills subsequence j. The output has ``expand_as``'s layout (nested included) and
    ``input``'s size; ``expand_as`` gives only its layout, never its values or a gradient.
    """

    type = "expand"
    per_timestep = False
    accepts_sparse = True       # expand_as may be sparse: only its layout is read

    def __init__(self, input, expand_as, name=None, bias_attr=False,
                 expand_level=ExpandLevel.FROM_NO_SEQUENCE, layer_attr=None):
        name = name or default_name("expand_layer")
        input = one_layer(input, "input", name)
        expand_as = one_layer(expand_as, "expand_as", name)
        if input.sparse_output:
            raise ValueError(f"layer {name} (expand) cannot read the sparse rows of {input.name} "
                             f"({input.input_type!r}); feed it to an fc layer first")
        super().__init__(name, [input, expand_as], input.size, layer_attr=layer_attr)
        check_dense(input, name, self.type)
        self.expand_level = _check_choice(expand_level, _EXPAND_NAMES, "expand_level", name)
        _require_sequence(expand_as, name, self.type,
                          f"expands to the sequences of expand_as={expand_as.name}")
        if self.expand_level == ExpandLevel.FROM_NO_SEQUENCE:
            if input.seq_level == 2:
                raise ValueError(f"layer {name}: expand_level=ExpandLevel.FROM_NO_SEQUENCE "
                                 f"expands one row per sample, but input {input.name} is a "
                                 "nested sequence")
        else:
            if expand_as.seq_level != 2:
                raise ValueError(f"layer {name}: expand_level=ExpandLevel.FROM_SEQUENCE expands "
                                 "each row over a subsequence, so expand_as must be a nested "
                                 f"sequence; {expand_as.name} is a "
                                 f"{SEQUENCE_LEVELS[expand_as.seq_level]}")
            if input.seq_level != 1:
                raise ValueError(f"layer {name}: expand_level=ExpandLevel.FROM_SEQUENCE needs a "
                                 "sequence input (one row per subsequence of expand_as), but "
                                 f"{input.name} is a {SEQUENCE_LEVELS[input.seq_level]}")
        self.seq_level = expand_as.seq_level
        self.bias = _bias(self, bias_attr)

    def forward(self, ctx, xs):
        data, shape = xs
        source, target = self.inputs
        layout = _layout_of(shape, target, self)
        x = rows(data, self)
        if self.expand_level == ExpandLevel.FROM_NO_SEQUENCE:
            groups, wanted = layout.starts, layout.num_sequences
            if data.seq is not None and (data.seq.lengths != 1).any():
                raise ValueError(f"layer {self.name}: input {source.name} must hold one row per "
                                 f"sequence to expand, got lengths {data.seq.lengths.tolist()}")
        else:
            if not layout.is_nested:
                raise ValueError(f"layer {self.name}: expand_level=ExpandLevel.FROM_SEQUENCE "
                                 f"needs a nested expand_as; {target.name} carries {layout!r}")
            groups, wanted = layout.sub_starts, len(layout.sub_starts) - 1
            have = _layout_of(data, source, self)
            if have.num_sequences != layout.num_sequences or \
                    not np.array_equal(have.starts, layout.sequences_of_subsequences().starts):
                raise ValueError(f"layer {self.name}: sequence i of input {source.name} must hold "
                                 f"one row per subsequence of sequence i of {target.name}; got "
                                 f"lengths {have.lengths.tolist()}, subsequence counts "
                                 f"{layout.sequences_of_subsequences().lengths.tolist()}")
        if x.shape[0] != wanted:
            raise ValueError(f"layer {self.name}: input {source.name} has {x.shape[0]} rows but "
                             f"{target.name} has {wanted} "
                             f"{'sequences' if groups is layout.starts else 'subsequences'} "
                             "to expand them over")
        y = sequence_expand(x, groups)
        return with_layout(self.plus_bias(ctx, y), layout)


def expand(input, expand_as, name=None, bias_attr=False,
           expand_level=ExpandLevel.FROM_NO_SEQUENCE, layer_attr=None):
    """v2's ``paddle.layer.expand`` (``expand_layer``)."""
    return ExpandLayer(input, expand_as, name, bias_attr, expand_level, layer_attr)


# --- seq_concat -----------------------------------------------------------------------------

class SequenceConcatLayer(Layer):
    """Paddle's ``seqconcat``: sequence i of ``a`` followed by sequence i of ``b``.

    Both inputs are sequences of the same size with the same number of sequences; the output
    is a plain sequence (as in Paddle, subsequence boundaries of nested inputs are dropped).
    """

    type = "seqconcat"
    per_timestep = False

    def __init__(self, a, b, act=None, name=None, layer_attr=None, bias_attr=None):
        name = name or default_name("seqconcat")
        a = one_layer(a, "a", name)
        b = one_layer(b, "b", name)
        check_same_size(a, b, name, "seq_concat")
        super().__init__(name, [a, b], a.size, act=Identity() if act is None else act,
                         layer_attr=layer_attr)
        for parent in (a, b):
            check_dense(parent, name, self.type)
            _require_sequence(parent, name, self.type, "joins sequences")
        self.seq_level = 1
        self.bias = _bias(self, bias_attr)

    def forward(self, ctx, xs):
        la, lb = (_layout_of(x, parent, self) for x, parent in zip(xs, self.inputs))
        if la.num_sequences != lb.num_sequences:
            raise ValueError(f"layer {self.name}: {self.inputs[0].name} holds {la.num_sequences} "
                             f"sequences but {self.inputs[1].name} holds {lb.num_sequences}")
        y = sequence_concat(rows(xs[0], self, "input a"), la.starts,
                            rows(xs[1], self, "input b"), lb.starts)
        return with_layout(self.plus_bias(ctx, y), SequenceLayout(la.starts + lb.starts))


def seq_concat(a, b, act=None, name=None, layer_attr=None, bias_attr=None):
    """v2's ``paddle.layer.seq_concat`` (``seq_concat_layer``)."""
    return SequenceConcatLayer(a, b, act, name, layer_attr, bias_attr)


# --- seq_reshape ----------------------------------------------------------------------------

class SequenceReshapeLayer(Layer):
    """Paddle's ``seqreshape``: each sequence's values re-cut into rows of ``reshape_size``.

    A sequence of T rows of M values becomes T*M/N rows of N values (T*M/N must be whole);
    the values keep their order. A non-sequence input counts as sequences of one row each.
    The output is a plain sequence.
    """

    type = "seqreshape"
    per_timestep = False

    def __init__(self, input, reshape_size, act=None, name=None, layer_attr=None,
                 bias_attr=None):
        name = name or default_name("seqreshape")
        input = one_layer(input, "input", name)
        if isinstance(reshape_size, bool) or not isinstance(reshape_size, numbers.Integral) or \
                reshape_size < 1:
            raise ValueError(f"layer {name}: reshape_size={reshape_size!r} must be a positive "
                             "integer")
        if input.seq_level == 0 and input.size % reshape_size:
            raise ValueError(f"layer {name}: input {input.name} of size {input.size} (one row per "
                             f"sample) cannot be cut into rows of reshape_size={reshape_size}")
        super().__init__(name, [input], int(reshape_size),
                         act=Identity() if act is None else act, layer_attr=layer_attr)
        check_dense(input, name, self.type)
        self.seq_level = 1
        self.bias = _bias(self, bias_attr)

    def forward(self, ctx, xs):
        x = rows(xs[0], self)
        starts = np.arange(x.shape[0] + 1, dtype=np.int64) if xs[0].seq is None \
            else xs[0].seq.starts
        width, size = x.shape[1], self.size
        values = np.diff(starts) * width
        bad = np.flatnonzero(values % size)
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"layer {self.name}: sequence {i} of input {self.inputs[0].name} "
                             f"holds {int(values[i])} values ({int(starts[i + 1] - starts[i])} "
                             f"rows of {width}), not a whole number of rows of "
                             f"reshape_size={size}")
        y = reshape(x, (x.shape[0] * width // size, size))
        return with_layout(self.plus_bias(ctx, y), SequenceLayout(starts * width // size))


def seq_reshape(input, reshape_size, act=None, name=None, layer_attr=None, bias_attr=None):
    """v2's ``paddle.layer.seq_reshape`` (``seq_reshape_layer``)."""
    return SequenceReshapeLayer(input, reshape_size, act, name, layer_attr, bias_attr)
