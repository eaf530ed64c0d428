"""``concat`` of projections: Paddle's ``concat2`` layer (``ConcatenateLayer2``).

``paddle.layer.concat(input=[...])`` given projections instead of layers -- as the book's
word2vec does with four ``table_projection``s -- builds a different layer type: each
projection computes its own block of columns, and the blocks are put side by side::

    y[i] = act([p_0(x_0)[i] | p_1(x_1)[i] | ... ] + bias)

Unlike ``mixed`` (which adds its terms into one width), every projection here has its own
output width, the ``size`` it was given (``table_projection(ids, size=32)``) or the one it
fixes (``identity_projection``, ``context_projection``); a projection that fixes no width is
an error, as in Paddle ("proj output size is not set"). The layer's size is the sum.

Projection ``i`` owns the parameter ``_<name>.w<i>`` of the dims it would have in a mixed
layer of its own width (``table_projection``: ``(number of ids, size)``), unless its
``param_attr`` names it -- the book shares one table, ``Param(name="_proj")``, across the four
words. No bias unless ``bias_attr`` is a ParamAttr (dims ``(1, size)``; Paddle's
``ParamAttr.to_bias`` turns None, True and False into none). Activation: Identity unless
``act``. Operators (``dotmul_operator``, ``conv_operator``) are refused, and so is a list
mixing layers and projections, as Paddle's ``concat_layer`` asserted.
"""

from ..functions.misc import concat_features
from .activations import Identity
from .attrs import ParamAttr
from .base import Layer
from .projections import Projection


class ConcatProjectionsLayer(Layer):
    """Paddle's ``concat2``: the projections' outputs side by side (see the module doc)."""

    type = "concat2"
    #: full_matrix_projection reads sparse rows; every other projection refuses them (checked)
    accepts_sparse = True

    def __init__(self, projections, name, act=None, bias_attr=None, layer_attr=None):
        widths = []
        for index, term in enumerate(projections):
            if not isinstance(term, Projection):
                raise ValueError(f"layer {name} (concat of projections): input {index} is "
                                 f"{term!r:.80}; concat takes either only layers or only "
                                 "projections (operators are not allowed)")
            width = term.output_size()
            if width == 0:
                raise ValueError(f"layer {name} (concat of projections): {term!r} does not "
                                 "fix its output width; give the projection a size "
                                 "(e.g. table_projection(input=..., size=32))")
            widths.append(width)
        super().__init__(name, [term.origin for term in projections], sum(widths),
                         act=Identity() if act is None else act, layer_attr=layer_attr)
        self._terms = list(projections)
        self._widths = widths
        self._specs = []
        for index, (term, width) in enumerate(zip(self._terms, widths)):
            term.check(name, width)
            dims = term.param_dims(term.origin.size, width)
            spec = None
            if dims is not None:
                spec = self.add_param(f"w{index}", dims, term.param_attr_for(name),
                                      default_std=term.default_std(dims))
            self._specs.append(spec)
        self.bias = None
        if isinstance(bias_attr, ParamAttr):
            self.bias = self.add_param("wbias", (1, self.size), bias_attr, is_bias=True)
        elif bias_attr not in (None, True, False):
            raise ValueError(f"layer {name} (concat of projections): bias_attr must be a "
                             f"ParamAttr (a bias) or None/False (none), got {bias_attr!r}")

    def forward(self, ctx, xs):
        blocks = [term.compute(ctx, [x], spec, width)
                  for term, x, spec, width in zip(self._terms, xs, self._specs, self._widths)]
        y = blocks[0] if len(blocks) == 1 else concat_features(blocks)
        return self.plus_bias(ctx, y)

    @property
    def terms(self):
        """The projections, in column order."""
        return list(self._terms)


__all__ = ["ConcatProjectionsLayer"]
