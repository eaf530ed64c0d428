"""Linear-chain CRF layers: ``crf`` (the cost) and ``crf_decoding`` (Viterbi), as Paddle v2's
``crf_layer`` / ``crf_decoding_layer``.

Both read one row of ``K`` tag scores per timestep of a sequence and one parameter, named
``_<layer>.w0`` unless ``param_attr`` names it, stored as Paddle stored it::

    dims (K + 2, K):   row 0 start weights, row 1 end weights,
                       rows 2 .. K + 1 the transitions W[from, to]

(see ``backends/numpy_ref/crf.py`` for the model). A network trains ``crf`` and decodes with
``crf_decoding`` given the same ``ParamAttr(name=...)``, so both read one parameter.

* ``crf(input, label, size, weight)``: one cost per sequence, ``-log p(label | input)``,
  ``(S, 1)`` (times the sequence's ``weight`` when given); the trainer's reported cost is
  their sum over the batch divided by the number of sequences. ``coeff`` scales the
  gradient only, as for every cost.
* ``crf_decoding(input, size)``: the best tag path, one int64 id per timestep (the input's
  sequence layout), like ``max_id``. With ``label``: per-timestep errors instead, ``(R, 1)``
  floats, 1 where the decoded tag differs from the label (Paddle's ``output.value``); the
  decoded ids ride along (``output.ids``) for ``paddle.evaluator.chunk``.
"""

import math

from ..backends import kernel
from ..core.tensor import Tensor
from ..core.xp import as_numpy
from ..functions.crf import crf_cost
from .base import SEQUENCE_LEVELS, Layer, as_param_attr, default_name, with_layout
from .cost import CostLayer
from .data import DataLayer
from .projections import describe_input, gives_ids
from .sequence import check_dense, rows


def _check_size(size, input, name):
    """``size`` (the number of tags, Paddle's "category number") checked against ``input``."""
    if size is None:
        size = input.size
    if isinstance(size, bool) or not isinstance(size, int):
        raise ValueError(f"layer {name}: size={size!r} must be an integer (the number of tags)")
    if size != input.size:
        raise ValueError(f"layer {name}: size={size} but input {describe_input(input)} gives "
                         f"{input.size} scores per timestep; they must be equal (one per tag)")
    if size < 2:
        raise ValueError(f"layer {name}: a CRF needs at least 2 tags, got size={size}")
    return size


def _require_sequence(parent, name, layer_type, what):
    if parent.seq_level == 0:
        raise ValueError(f"layer {name} ({layer_type}): its {what} {parent.name} is a "
                         f"{SEQUENCE_LEVELS[0]} (one row per sample); a CRF reads sequences "
                         "(a *_sequence data type or a layer computed from one)")


def _check_label_layer(label, size, name, layer_type):
    _require_sequence(label, name, layer_type, "label")
    if isinstance(label, DataLayer):
        if label.input_type.kind != "index":
            raise ValueError(f"layer {name} ({layer_type}): the label must be integer tag ids "
                             f"(integer_value_sequence({size})), {label.name} is "
                             f"{label.input_type!r}")
        if label.size != size:
            raise ValueError(f"layer {name} ({layer_type}): label {label.name} holds ids in "
                             f"[0, {label.size}) but the CRF has size={size} tags; they must "
                             "be equal")
    elif not gives_ids(label):
        raise ValueError(f"layer {name} ({layer_type}): the label must give integer tag ids, "
                         f"{describe_input(label)} gives values")


def _add_crf_param(layer, size, param_attr):
    # Paddle's initial_smart std is 1 / sqrt(dims[0]) = 1 / sqrt(size + 2)
    return layer.add_param("w0", (size + 2, size),
                           as_param_attr(param_attr, f"{layer.name} param_attr"),
                           default_std=1.0 / math.sqrt(size + 2))


def _labels(layer, label, layout, size):
    """The label ids of every row as int64 (on the labels' device), checked to lie in
    ``[0, size)``; a wrong one is named by its sample (sequence) and timestep."""
    ids = label.data.reshape(-1)
    if ids.dtype.kind not in "iu":
        raise ValueError(f"layer {layer.name} ({layer.type}): labels must be integer tag ids "
                         f"(an integer_value_sequence data layer), got dtype {ids.dtype}")
    if ids.shape[0] != layout.num_rows:
        raise ValueError(f"layer {layer.name} ({layer.type}): {ids.shape[0]} labels for "
                         f"{layout.num_rows} timesteps; give one label per timestep")
    host = as_numpy(ids)
    bad = (host < 0) | (host >= size)
    if bad.any():
        row = int(bad.argmax())
        sample = int(layout.row_sequence()[row])
        step = row - int(layout.starts[sample])
        raise ValueError(f"layer {layer.name} ({layer.type}): sample {sample} of the batch has "
                         f"label {int(host[row])} at timestep {step}, outside [0, {size}) "
                         f"(the layer has size={size} tags)")
    return ids.astype(label.xp.int64, copy=False)


def _layout(layer, x):
    if x.seq is None:
        raise ValueError(f"layer {layer.name} ({layer.type}): input {layer.inputs[0].name} "
                         "carries no sequence layout (feed it through paddle's feeder, or give "
                         "the Tensor a seq)")
    return x.seq


class CRFLayer(CostLayer):
    """Paddle's ``crf`` layer: inputs ``[input, label]`` plus ``weight`` (one per sequence)."""

    type = "crf"
    per_timestep = False

    def __init__(self, input, label, size=None, weight=None, param_attr=None, name=None,
                 coeff=1.0, layer_attr=None):
        name = name or default_name("crf_layer")
        super().__init__(name, input, label, weight, coeff, layer_attr)
        self.num_tags = _check_size(size, input, name)
        check_dense(input, name, self.type)
        _require_sequence(input, name, self.type, "input")
        _check_label_layer(label, self.num_tags, name, self.type)
        if weight is not None and weight.seq_level:
            raise ValueError(f"layer {name} (crf): weight {weight.name} must give one value per "
                             f"sequence (a non-sequence of size 1), it is a "
                             f"{SEQUENCE_LEVELS[weight.seq_level]}")
        self.seq_level = 0   # one cost per sequence
        self.weight_param = _add_crf_param(self, self.num_tags, param_attr)

    def forward(self, ctx, xs):
        x = xs[0]
        layout = _layout(self, x)
        if xs[1].seq is not None and xs[1].seq != layout:
            raise ValueError(f"layer {self.name} (crf): input and label hold sequences of "
                             f"different lengths ({layout.lengths.tolist()} and "
                             f"{xs[1].seq.lengths.tolist()})")
        labels = _labels(self, xs[1], layout, self.num_tags)
        weight = None
        if len(xs) > 2:
            weight = xs[2].reshape((xs[2].shape[0], 1))
            if weight.shape[0] != layout.num_sequences:
                raise ValueError(f"layer {self.name} (crf): weight {self.inputs[2].name} has "
                                 f"{weight.shape[0]} rows for {layout.num_sequences} sequences; "
                                 "give one weight per sequence")
        cost = crf_cost(rows(x, self), ctx.param(self.weight_param), labels, layout.starts,
                        weight, self.coeff)
        return with_layout(cost, None)


def crf(input, label, size=None, weight=None, param_attr=None, name=None, coeff=1.0,
        layer_attr=None):
    """v2's ``paddle.layer.crf`` (``crf_layer``): the CRF cost of each sequence."""
    return CRFLayer(input, label, size, weight, param_attr, name, coeff, layer_attr)


class CRFDecodingLayer(Layer):
    """Paddle's ``crf_decoding`` layer: inputs ``[input]`` or ``[input, label]``."""

    type = "crf_decoding"

    def __init__(self, input, size, label=None, param_attr=None, name=None, layer_attr=None):
        name = name or default_name("crf_decoding_layer")
        if not isinstance(input, Layer):
            raise ValueError(f"layer {name}: input must be a layer, got {input!r}")
        if label is not None and not isinstance(label, Layer):
            raise ValueError(f"layer {name}: label must be a layer or None, got {label!r}")
        inputs = [input] if label is None else [input, label]
        # as in v2, the output's size is 1: one id (or one error) per timestep
        super().__init__(name, inputs, 1, layer_attr=layer_attr)
        self.num_tags = _check_size(size, input, name)
        check_dense(input, name, self.type)
        _require_sequence(input, name, self.type, "input")
        if label is not None:
            _check_label_layer(label, self.num_tags, name, self.type)
        #: without a label the output is integer ids (what gives_ids() asks)
        self.outputs_ids = label is None
        self.weight_param = _add_crf_param(self, self.num_tags, param_attr)

    def forward(self, ctx, xs):
        x = xs[0]
        layout = _layout(self, x)
        w = ctx.param(self.weight_param).data
        ids = kernel("crf_decode")(rows(x, self).data, w, layout.starts)
        if len(xs) == 1:
            return Tensor(ids)
        labels = _labels(self, xs[1], layout, self.num_tags)
        errors = Tensor((ids != labels).astype(x.dtype).reshape(-1, 1))
        errors.ids = ids
        return errors


def crf_decoding(input, size, label=None, param_attr=None, name=None, layer_attr=None):
    """v2's ``paddle.layer.crf_decoding`` (``crf_decoding_layer``): the Viterbi tag path,
    or with ``label`` the per-timestep errors of it."""
    return CRFDecodingLayer(input, size, label, param_attr, name, layer_attr)
