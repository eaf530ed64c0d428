"""``mixed``: the sum of projections and operators, plus a bias, through an activation.

Two ways to build one, as in v2::

    m = paddle.layer.mixed(size=64, input=[paddle.layer.full_matrix_projection(x),
                                           paddle.layer.identity_projection(h)])

    with paddle.layer.mixed(size=64) as m:          # the layer is complete when the
        m += paddle.layer.full_matrix_projection(x)  # with block ends
        m += paddle.layer.identity_projection(h)

The layer's inputs are, in Paddle's order, the (first) input of every term, then the second
input of every operator; term ``i``'s parameter is ``_<name>.w<i>`` and the bias
``_<name>.wbias`` (dims ``(1, size)``), so v2 tarballs load. The size, when 0, is the first
size a term fixes (operators first, then projections, as Paddle's config parser looks);
every term that fixes a size must agree with it.
"""

from .activations import Linear
from .attrs import ParamAttr
from .base import Layer, as_param_attr, default_name
from ..functions.basic import reshape
from ..functions.misc import add_n
from .operators import Operator
from .projections import Projection, _check_count


class MixedLayer(Layer):
    """Paddle's ``mixed`` layer: ``act(sum of terms + bias)``, row by row."""

    type = "mixed"
    #: full_matrix_projection reads sparse rows; every other term refuses them (checked)
    accepts_sparse = True

    def __init__(self, size=0, input=None, name=None, act=None, bias_attr=False,
                 layer_attr=None):
        name = name or default_name("mixed")
        self.__dict__.update(name=name, _terms=[], _complete=False)
        self._settings = (_check_count(size, f"layer {name}: size"), act, bias_attr,
                          layer_attr)
        if input is not None:
            for term in input if isinstance(input, (list, tuple)) else [input]:
                self._add_term(term)
            self._complete_layer()

    # --- the with-block form --------------------------------------------------------------
    def __iadd__(self, term):
        self._add_term(term)
        return self

    def __enter__(self):
        if self._complete or self._terms:
            raise ValueError(f"layer {self.name} (mixed): already has its inputs (input=...); "
                             "use either input= or the with block, not both")
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self._complete_layer()
        return False

    def _add_term(self, term):
        if self._complete:
            raise ValueError(f"layer {self.name} (mixed): its inputs are complete (input= was "
                             f"given, or its with block ended); cannot add {term!r}")
        if not isinstance(term, (Projection, Operator)):
            raise ValueError(f"layer {self.name} (mixed): takes projections and operators "
                             "(e.g. full_matrix_projection(input=layer), "
                             f"identity_projection(input=layer)), got {term!r:.80}")
        self._terms.append(term)

    def __getattr__(self, attr):
        # reached only for attributes not set yet: the layer is used before it is complete
        if not attr.startswith("__") and not self.__dict__.get("_complete", True):
            raise ValueError(f"layer {self.__dict__.get('name')} (mixed) is used before its "
                             f"inputs are complete (reading {attr!r}); finish its with block "
                             "first")
        raise AttributeError(attr)

    def __repr__(self):
        if not self._complete:
            return f"<MixedLayer {self.name} (inputs not complete)>"
        return super().__repr__()

    # --- building -------------------------------------------------------------------------
    def _complete_layer(self):
        size, act, bias_attr, layer_attr = self._settings
        name, terms = self.name, self._terms
        if not terms:
            raise ValueError(f"layer {name} (mixed): needs at least one projection or operator")
        # Paddle's inputs: the first input of each term, then the others of each operator
        inputs = [term.inputs[0] for term in terms]
        self._positions = []
        for term in terms:
            positions = [len(self._positions)]
            for extra in term.inputs[1:]:
                positions.append(len(inputs))
                inputs.append(extra)
            self._positions.append(positions)
        size = self._resolve_size(size)
        for term in terms:
            term.check(name, size)
        image_shape = None
        convs = [term for term in terms if hasattr(term, "output_image")]  # conv terms
        if convs:
            image_shape = convs[0].output_image(name)
        self.__dict__["_complete"] = True
        super().__init__(name, inputs, size, act=Linear() if act is None else act,
                         image_shape=image_shape, layer_attr=layer_attr)
        self._specs = []
        for index, term in enumerate(terms):
            spec = None
            if isinstance(term, Projection):
                dims = term.param_dims(term.origin.size, size)
                if dims is not None:
                    spec = self.add_param(f"w{index}", dims, term.param_attr_for(name),
                                          default_std=term.default_std(dims),
                                          **getattr(term, "param_options", dict)())
            self._specs.append(spec)
        self.bias = None
        if bias_attr is True:
            bias_attr = ParamAttr(initial_std=0.0, initial_mean=0.0)
        # conv_projection terms first: one bias per filter, shared by the pixels (Paddle's
        # shared_biases); every term must then say how many values it adds
        self._bias_blocks = None
        if hasattr(terms[0], "shared_bias_size"):
            if not all(hasattr(term, "shared_bias_size") for term in terms):
                raise ValueError(f"layer {name} (mixed): its first term is a conv_projection, "
                                 "so every term must be one (they share the filter biases)")
            self._bias_blocks = sum(term.shared_bias_size() for term in terms)
        if bias_attr not in (None, False):
            blocks = self._bias_blocks
            self.bias = self.add_param("wbias", (1, blocks or size),
                                       as_param_attr(bias_attr, f"layer {name} bias_attr"),
                                       is_bias=True,
                                       compute_shape=None if blocks is None else (1, blocks, 1))

    def _resolve_size(self, size):
        """The layer size: given, or the first a term fixes; every fixed size must agree."""
        operators = [term for term in self._terms if isinstance(term, Operator)]
        projections = [term for term in self._terms if isinstance(term, Projection)]
        source = f"size={size}" if size else None
        for term in operators + projections:
            fixed = term.output_size(self.name) if isinstance(term, Operator) \
                else term.output_size()
            if fixed == 0:
                continue
            if not size:
                size, source = fixed, repr(term)
            elif fixed != size:
                raise ValueError(f"layer {self.name} (mixed): {term!r} gives {fixed} values "
                                 f"per row, but the layer has size {size} (from {source}); "
                                 "every term of a mixed layer must give the layer's size")
        if not size:
            listed = ", ".join(repr(term) for term in self._terms)
            raise ValueError(f"layer {self.name} (mixed): size is not set and no term fixes "
                             f"it ({listed}); give mixed(size=...)")
        return size

    # --- running --------------------------------------------------------------------------
    def forward(self, ctx, xs):
        terms = [term.compute(ctx, [xs[p] for p in positions], spec, self.size)
                 for term, positions, spec in zip(self._terms, self._positions, self._specs)]
        y = add_n(terms)
        if self.bias is not None and self._bias_blocks is not None:
            # row = bias-blocks consecutive runs of values, run b shifted by bias[b]
            n = y.shape[0]
            return reshape(self.plus_bias(ctx, reshape(y, (n, self._bias_blocks, -1))),
                           (n, self.size))
        return self.plus_bias(ctx, y)

    @property
    def terms(self):
        """The projections and operators, in the order they were added."""
        return list(self._terms)


def mixed(size=0, input=None, name=None, act=None, bias_attr=False, layer_attr=None):
    """v2's ``mixed`` (``mixed_layer``); ``act`` defaults to Linear; ``bias_attr`` False or
    None: no bias, True: a bias starting at zero, a ParamAttr: that bias."""
    return MixedLayer(size, input, name, act, bias_attr, layer_attr)


__all__ = ["MixedLayer", "mixed"]
