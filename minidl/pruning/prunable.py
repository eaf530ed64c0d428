"""Which parameters of a network a pruning hook may thin out: weights, not the rest.

Prunable: the weights of ``fc``, ``img_conv`` (kind ``conv``), depthwise convolutions
(``depthwise``), ``lstmemory``/``grumemory`` (``recurrent``) and the matrix terms of mixed
layers and concatenated projections (``full_matrix_projection`` and its transpose: ``fc``;
``table_projection``, which ``embedding`` builds: ``embedding``). Not prunable: biases,
batch-norm scales and statistics, element-wise and context projections (a handful of
values each, and each one matters), static parameters (never updated, so a hook cannot
hold them at zero) and the layers inside a ``recurrent_group``'s steps.
"""

from dataclasses import dataclass

from ..layers.concat_projections import ConcatProjectionsLayer
from ..layers.conv import ConvLayer
from ..layers.depthwise import DepthwiseConvLayer
from ..layers.fc import FcLayer
from ..layers.mixed import MixedLayer
from ..layers.projections import (FullMatrixProjection, Projection, TableProjection,
                                  TransFullMatrixProjection)
from ..layers.recurrent import GrumemoryLayer, LstmemoryLayer

#: the prunable kind of each projection with a weight matrix (exact types)
PROJECTION_KINDS = {TableProjection: "embedding", FullMatrixProjection: "fc",
                    TransFullMatrixProjection: "fc"}


@dataclass(frozen=True)
class PrunableWeight:
    """One prunable parameter: its name, the layer that owns it and the layer's kind."""

    parameter: str
    layer: str
    kind: str        # 'fc', 'conv', 'depthwise', 'embedding' or 'recurrent'
    shape: tuple     # Paddle's dims
    weights: int     # number of values


def _projection_weights(layer):
    """(spec, kind or None) of each term of a mixed/concat layer that has a parameter.

    The layer adds one parameter per such term, in term order, before its bias.
    """
    specs = [spec for spec in layer.params if not spec.is_bias]
    with_params = [term for term in layer.terms if isinstance(term, Projection)
                   and term.param_dims(term.origin.size, term.output_size() or layer.size)
                   is not None]
    return [(spec, PROJECTION_KINDS.get(type(term))) for term, spec in zip(with_params, specs)]


def _layer_weights(layer):
    """[(spec, kind)] of the prunable weights of one layer (may be empty)."""
    if isinstance(layer, FcLayer):
        return [(spec, "fc") for spec in layer.params if not spec.is_bias]
    if isinstance(layer, DepthwiseConvLayer):
        return [(layer.weight, "depthwise")]
    if isinstance(layer, ConvLayer):
        return [(layer.weight, "conv")]
    if isinstance(layer, (LstmemoryLayer, GrumemoryLayer)):
        return [(layer.weight, "recurrent")]
    if isinstance(layer, (MixedLayer, ConcatProjectionsLayer)):
        return [(spec, kind) for spec, kind in _projection_weights(layer) if kind is not None]
    return []


def prunable_weights(network):
    """The prunable weights of ``network`` (a ``Network``), in the order its layers run.

    A parameter shared by several layers is listed once, under the first.
    """
    found, seen = [], set()
    for layer in network.layers:
        for spec, kind in _layer_weights(layer):
            if spec.static or spec.name in seen:
                continue
            seen.add(spec.name)
            found.append(PrunableWeight(spec.name, layer.name, kind, tuple(spec.shape),
                                        int(spec.size)))
    return found


def select(weights, names):
    """The entries of ``weights`` named by ``names`` (layer or parameter names; None: all).

    An unknown name is a ValueError listing the prunable layers and parameters.
    """
    if names is None:
        return list(weights)
    if isinstance(names, str):
        names = [names]
    names = list(names)
    known = {w.parameter for w in weights} | {w.layer for w in weights}
    unknown = [name for name in names if name not in known]
    if unknown:
        listing = ", ".join(f"{w.layer} ({w.parameter})" for w in weights) or "none"
        raise ValueError(f"layers={unknown!r}: not a prunable layer or parameter of this "
                         f"network; prunable: {listing}")
    if not names:
        raise ValueError("layers=[] selects nothing to analyse; give None for every "
                         "prunable layer")
    wanted = set(names)
    return [w for w in weights if w.parameter in wanted or w.layer in wanted]
