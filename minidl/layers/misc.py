"""``concat``, ``addto``, ``dropout`` and ``max_id``: layers without weights of their own."""

import math

from .activations import Identity, Linear
from .attrs import ExtraAttr
from ..backends import kernel
from ..core.tensor import Tensor
from ..functions.basic import add, reshape
from ..functions.dropout import check_rate
from ..functions.misc import add_n, concat_features
from .base import Layer, as_layer_list, as_param_attr, default_name
from .concat_projections import ConcatProjectionsLayer
from .operators import Operator
from .projections import Projection


def _flat(x):
    """``(N, ...)`` -> ``(N, D)``."""
    return reshape(x, (x.shape[0], math.prod(x.shape[1:])))


class ConcatLayer(Layer):
    """Paddle's ``concat``: each sample's features, input after input.

    Images of one height and width concatenate along channels and stay images (in C, H, W
    memory order that is the same as concatenating the flattened vectors); anything else is
    flattened, with ``size = sum of sizes``.
    """

    type = "concat"

    def __init__(self, input, act=None, name=None, layer_attr=None, bias_attr=None):
        name = name or default_name("concat")
        inputs = as_layer_list(input, name)
        if bias_attr not in (None, False):
            raise ValueError(f"layer {name}: concat of layers has no bias (Paddle asserted "
                             f"bias_attr is unset), got bias_attr={bias_attr!r}")
        shapes = [parent.image_shape for parent in inputs]
        image_shape = None
        if all(s is not None for s in shapes) and len({s[1:] for s in shapes}) == 1:
            image_shape = (sum(s[0] for s in shapes),) + shapes[0][1:]
        super().__init__(name, inputs, sum(parent.size for parent in inputs),
                         act=Identity() if act is None else act, image_shape=image_shape,
                         layer_attr=layer_attr)

    def forward(self, ctx, xs):
        y = concat_features([_flat(x) for x in xs])
        if self.image_shape is not None:
            y = reshape(y, (y.shape[0],) + self.image_shape)
        return y


def concat(input, act=None, name=None, layer_attr=None, bias_attr=None):
    """v2's ``concat``: of layers, a ``concat`` layer; of projections, a ``concat2`` layer
    (:mod:`minidl.layers.concat_projections`), as Paddle's ``concat_layer`` chose."""
    terms = list(input) if isinstance(input, (list, tuple)) else [input]
    if any(isinstance(term, (Projection, Operator)) for term in terms):
        return ConcatProjectionsLayer(terms, name or default_name("concat"), act, bias_attr,
                                      layer_attr)
    return ConcatLayer(input, act, name, layer_attr, bias_attr)


class AddtoLayer(Layer):
    """Paddle's ``addto``: ``y = act(sum_i x_i + b)``; every input has the same size.

    The output keeps the image geometry of the last image input (as Paddle's config does).
    ``bias_attr``: False or None for no bias (Paddle's default), True or a ParamAttr for a
    bias of dims ``[1, size]``. (Paddle's helper turned ``True`` into "no bias"; here
    ``True`` asks for one, as it does for every other layer.)
    """

    type = "addto"

    def __init__(self, input, act=None, name=None, bias_attr=False, layer_attr=None):
        name = name or default_name("addto")
        inputs = as_layer_list(input, name)
        sizes = [parent.size for parent in inputs]
        if len(set(sizes)) != 1:
            listed = ", ".join(f"{p.name} ({p.size})" for p in inputs)
            raise ValueError(f"layer {name}: addto inputs must all have the same size; "
                             f"got {listed}")
        image_shape = None
        for parent in inputs:
            if parent.image_shape is not None:
                image_shape = parent.image_shape
        super().__init__(name, inputs, sizes[0], act=Linear() if act is None else act,
                         image_shape=image_shape, layer_attr=layer_attr)
        self.bias = None
        if bias_attr not in (None, False):
            self.bias = self.add_param("wbias", (1, self.size),
                                       as_param_attr(bias_attr, f"{name} bias_attr"),
                                       is_bias=True)

    def forward(self, ctx, xs):
        n = xs[0].shape[0]
        shape = (n,) + self.image_shape if self.image_shape else (n, self.size)
        y = add_n([reshape(x, shape) for x in xs])
        if self.bias is not None:
            y = add(y, reshape(ctx.param(self.bias), (1,) + shape[1:]))
        return y


def addto(input, act=None, name=None, bias_attr=False, layer_attr=None):
    return AddtoLayer(input, act, name, bias_attr, layer_attr)


def dropout(input, dropout_rate, name=None):
    """Paddle's ``dropout_layer``: an ``addto`` of one input with ``ExtraAttr(drop_rate)``.

    Named ``__dropout_N__``; see ``minidl.functions.dropout`` for the (non-rescaling)
    semantics.
    """
    name = name or default_name("dropout")
    rate = check_rate(dropout_rate, f"layer {name}")
    return AddtoLayer(input, act=Linear(), name=name, bias_attr=False,
                      layer_attr=ExtraAttr(drop_rate=rate))


class MaxIdLayer(Layer):
    """Paddle's ``maxid``: the index of each sample's largest value.

    Output ``(N,)`` int64 ids, like an ``integer_value`` data layer; ``size`` is the input's
    size (the range of the ids). Not differentiable: nothing flows back through it.
    """

    type = "maxid"

    def __init__(self, input, name=None, layer_attr=None):
        name = name or default_name("maxid_layer")
        inputs = as_layer_list(input, name)
        if len(inputs) != 1:
            raise ValueError(f"layer {name}: max_id takes one input, got {len(inputs)}")
        super().__init__(name, inputs, inputs[0].size, layer_attr=layer_attr)

    def forward(self, ctx, xs):
        return Tensor(kernel("max_id")(xs[0].data))


def max_id(input, name=None, layer_attr=None):
    return MaxIdLayer(input, name, layer_attr)
