"""``multiplex``: each output row taken from one of several candidate layers, chosen per row
by integer ids (the first input).

A per-row layer: on sequences every input has the same layout (one id per timestep) and the
output keeps it.
"""

from ..core.tensor import Tensor
from ..core.xp import as_numpy
from ..functions.multiplex import multiplex as multiplex_fn
from .base import Layer, default_name
from .projections import describe_input, gives_ids
from .sequence import check_dense, rows


class MultiplexLayer(Layer):
    """Paddle's ``multiplex``: ``input = [ids, x_0, ..., x_{C-1}]``;
    ``y[i] = x_{ids[i]}[i]``. Needs at least two candidates of one size (the layer's size);
    the ids come from an ``integer_value`` data layer, ``max_id``, ``sampling_id``, ...
    and must lie in ``[0, C)`` (checked when it runs). No activation, no parameters."""

    type = "multiplex"

    def __init__(self, input, name=None, layer_attr=None):
        name = name or default_name("multiplex_layer")
        if not isinstance(input, (list, tuple)) or len(input) < 3:
            raise ValueError(f"layer {name}: multiplex input must be a list of an id layer and "
                             f"at least two candidate layers (3 or more layers), got {input!r}")
        for i, parent in enumerate(input):
            if not isinstance(parent, Layer):
                raise ValueError(f"layer {name}: input {i} ({parent!r}) is not a layer")
        ids, candidates = input[0], list(input[1:])
        if not gives_ids(ids):
            raise ValueError(f"layer {name}: the first input must give integer ids (an "
                             f"integer_value data layer, max_id, sampling_id, ...), got "
                             f"{describe_input(ids)}")
        for parent in candidates:
            check_dense(parent, name, self.type)
            if parent.size != candidates[0].size:
                sizes = ", ".join(f"{p.name} ({p.size})" for p in candidates)
                raise ValueError(f"layer {name}: multiplex candidates must have one size, that "
                                 f"of {candidates[0].name} ({candidates[0].size}); got {sizes}")
        super().__init__(name, [ids] + candidates, candidates[0].size, layer_attr=layer_attr)

    def forward(self, ctx, xs):
        chosen = as_numpy(xs[0].data).reshape(-1)
        candidates = [rows(x, self, f"candidate {p.name}")
                      for x, p in zip(xs[1:], self.inputs[1:])]
        counts = {c.shape[0] for c in candidates} | {chosen.shape[0]}
        if len(counts) > 1:
            listed = ", ".join(f"{p.name} ({x.shape[0]})" for p, x in zip(self.inputs, xs))
            raise ValueError(f"layer {self.name} (multiplex): its inputs must have one row each "
                             f"per sample; got rows {listed}")
        ids = Tensor(xs[0].xp.asarray(chosen.astype("int64")))
        try:
            return multiplex_fn(ids, candidates)
        except ValueError as error:
            raise ValueError(f"layer {self.name}: {error} (ids from {self.inputs[0].name})") \
                from None


def multiplex(input, name=None, layer_attr=None):
    """v2's ``paddle.layer.multiplex`` (``multiplex_layer``)."""
    return MultiplexLayer(input, name, layer_attr)
