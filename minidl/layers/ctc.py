"""Connectionist Temporal Classification costs, as v2's ``ctc`` and ``warp_ctc`` layers.

Both read a sequence of ``size = num_classes + 1`` values per timestep (the classes and the
blank) and a label sequence of class ids, usually shorter, and output one cost per sequence,
``-log p(label | input)``, ``(S, 1)`` (see ``backends/numpy_ref/ctc.py``). The layer's
``size`` is 1, its output's width; ``num_classes`` keeps the ``size`` v2 was given.

* ``ctc``: the input holds probabilities (a Softmax output); the blank is the last class,
  ``size - 1``.
* ``warp_ctc``: the input holds unnormalised scores (a linear layer): the softmax is part of
  the cost; the blank is ``blank`` (0 by default). It gives ``ctc``'s cost of the softmax of
  its input with the blank's column moved last -- computed here, no external library.

``norm_by_times`` divides each sequence's gradient by its length; the reported cost is not
divided. A label that cannot fit its sequence (more labels plus repeats than timesteps)
costs 0 and gives no gradient, as in v2.
"""

from ..core.xp import as_numpy
from ..functions.ctc import ctc_cost, warp_ctc_cost
from .base import SEQUENCE_LEVELS, Layer, default_name, with_layout
from .cost import CostLayer
from .cost_extra import init_cost
from .data import DataLayer
from .projections import describe_input, gives_ids
from .sequence import check_dense, rows


def _check_sequence(parent, what, name, layer_type):
    if not isinstance(parent, Layer):
        raise ValueError(f"layer {name}: {what} must be a layer, got {parent!r}")
    if parent.seq_level != 1:
        raise ValueError(f"layer {name} ({layer_type}): its {what} {parent.name} is a "
                         f"{SEQUENCE_LEVELS[parent.seq_level]}; CTC reads sequences")


def _check_size(size, input, label, name):
    """``size`` (num_classes + 1) from ``label`` when not given, checked against both."""
    if size is None:
        size = label.size + 1 if isinstance(label, DataLayer) else input.size
    if isinstance(size, bool) or not isinstance(size, int) or size < 2:
        raise ValueError(f"layer {name}: size={size!r} must be an integer >= 2 (the number "
                         "of classes plus the blank)")
    if isinstance(label, DataLayer) and size != label.size + 1:
        raise ValueError(f"layer {name}: size={size} but label {describe_input(label)} has "
                         f"{label.size} classes; size must be num_classes + 1 = "
                         f"{label.size + 1} (the blank)")
    if input.size != size:
        raise ValueError(f"layer {name}: input {describe_input(input)} gives {input.size} "
                         f"values per timestep, expected size={size} (num_classes + 1)")
    return size


class CTCLayer(CostLayer):
    """v2's ``ctc`` layer: inputs ``[input, label]``."""

    type = "ctc"
    per_timestep = False

    def __init__(self, input, label, size, name, norm_by_times, layer_attr, blank=None):
        _check_sequence(input, "input", name, self.type)
        _check_sequence(label, "label", name, self.type)
        check_dense(input, name, self.type)
        if not gives_ids(label):
            raise ValueError(f"layer {name} ({self.type}): the label must be class ids "
                             f"(integer_value_sequence), {describe_input(label)} is not")
        self.num_classes = _check_size(size, input, label, name)
        self.blank = self.num_classes - 1 if blank is None else blank
        if isinstance(self.blank, bool) or not isinstance(self.blank, int) or \
                not 0 <= self.blank < self.num_classes:
            raise ValueError(f"layer {name}: blank={blank!r} must be an integer in "
                             f"[0, {self.num_classes})")
        init_cost(self, name, [input, label], 1.0, layer_attr)
        self.norm_by_times = bool(norm_by_times)
        self.seq_level = 0   # one cost per sequence

    def _label_sequences(self, label, num_sequences):
        ids = label.data.reshape(-1)
        if ids.dtype.kind not in "iu":
            raise ValueError(f"layer {self.name} ({self.type}): labels must be integer ids, "
                             f"got dtype {ids.dtype}")
        if label.seq is None or label.seq.num_sequences != num_sequences:
            got = None if label.seq is None else label.seq.num_sequences
            raise ValueError(f"layer {self.name} ({self.type}): {num_sequences} input "
                             f"sequences but {got} label sequences")
        host = as_numpy(ids)
        bad = (host < 0) | (host >= self.num_classes) | (host == self.blank)
        if bad.any():
            raise ValueError(f"layer {self.name} ({self.type}): label {int(host[bad][0])} is "
                             f"not a class: labels must be in [0, {self.num_classes}) and not "
                             f"the blank {self.blank}")
        return ids.astype(label.xp.int64, copy=False), label.seq.starts

    def forward(self, ctx, xs):
        x = rows(xs[0], self)
        if xs[0].seq is None:
            raise ValueError(f"layer {self.name} ({self.type}): its input carries no sequence "
                             "layout (feed it through paddle's feeder)")
        starts = xs[0].seq.starts
        labels, label_starts = self._label_sequences(xs[1], len(starts) - 1)
        cost = self._cost(x, labels, starts, label_starts)
        return with_layout(cost, None)

    def _cost(self, x, labels, starts, label_starts):
        return ctc_cost(x, labels, starts, label_starts, self.blank, self.norm_by_times)


class WarpCTCLayer(CTCLayer):
    """v2's ``warp_ctc`` layer: the softmax is part of the cost, the blank is chosen."""

    type = "warp_ctc"

    def _cost(self, x, labels, starts, label_starts):
        return warp_ctc_cost(x, labels, starts, label_starts, self.blank, self.norm_by_times)


def ctc(input, label, size=None, name=None, norm_by_times=False, layer_attr=None):
    """v2's ``paddle.layer.ctc``: CTC cost of softmax probabilities (``size`` = num_classes
    + 1 of them per timestep, the blank last) against a label sequence."""
    name = name or default_name("ctc_layer")
    return CTCLayer(input, label, size, name, norm_by_times, layer_attr)


def warp_ctc(input, label, size=None, name=None, blank=0, norm_by_times=False,
             layer_attr=None):
    """v2's ``paddle.layer.warp_ctc``: CTC cost of unnormalised scores (a linear layer; the
    softmax is built in), with the blank at class ``blank``."""
    name = name or default_name("warp_ctc_layer")
    return WarpCTCLayer(input, label, size, name, norm_by_times, layer_attr, blank=blank)
