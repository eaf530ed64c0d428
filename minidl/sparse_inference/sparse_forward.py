"""The layers the sparse kernels cover, and their sparse forward.

* fc layers, and ``mixed`` layers whose every term is a ``full_matrix_projection`` of dense
  rows (they compute what an fc layer of the same inputs computes: the sum of
  ``x_i @ W_i``, ``W_i: (in_i, size)``, then the bias and the activation): kind ``'fc'``,
  ``csr_matmul`` per input;
* conv layers with shared biases: kind ``'conv'``, ``direct_sparse_conv2d``;
* ``lstmemory`` / ``grumemory``: kind ``'recurrent'``, the layer's own loop over time with
  each step's ``h[t-1] @ W`` through the CSR rows of ``W.T``.

The sparse forward fuses the bias and a ReLU (or identity) activation into the kernel and
returns the *activated* output; other activations are applied after it. Results equal the
dense ones within float32 rounding (the sums run in another order).

Weights are read from a ``values`` mapping {parameter name: Tensor} (what a RunContext
holds); their nonzero counts and CSR layouts are cached per parameter version
(:func:`layout.cached`), separately for ModelAverage's averaged values.
"""

from ..backends import kernel
from ..core.tensor import Tensor
from ..core.xp import get_array_module
from . import layout as layouts


def covered(layer):
    """(kind, why not): kind 'fc', 'conv' or 'recurrent' for a layer with a sparse
    forward, else None; why not: a reason worth showing, or None."""
    from ..layers.conv import ConvLayer
    from ..layers.fc import FcLayer
    from ..layers.mixed import MixedLayer
    from ..layers.recurrent import GrumemoryLayer, LstmemoryLayer
    if type(layer) is FcLayer:  # subclasses may compute something else: exact types only
        return "fc", None
    if type(layer) is MixedLayer:
        return ("fc" if _is_fc(layer) else None), None
    if type(layer) in (LstmemoryLayer, GrumemoryLayer):
        return "recurrent", None
    if type(layer) is ConvLayer:
        if layer.bias is not None and tuple(layer.bias.compute_shape[2:]) != (1, 1):
            return None, "unshared biases (one per output value)"
        return "conv", None
    return None, None


def _is_fc(mixed):
    """True when every term is a ``full_matrix_projection`` (exact type) of dense rows: the
    layer's inputs are then its terms' inputs in term order, its parameters their
    ``(in, size)`` weights in that order and then its bias, as an fc layer's. (Sparse
    input rows: the CSR kernels multiply dense inputs, so the layer runs dense.)"""
    from ..layers.projections import FullMatrixProjection
    return all(type(term) is FullMatrixProjection and not term.origin.sparse_output
               for term in mixed.terms)


def weight_specs(layer, kind):
    """The ParamSpecs of the weights the sparse forward multiplies with."""
    return layer.params[:len(layer.inputs)] if kind == "fc" else [layer.weight]


#: activations the kernels apply themselves: ReLU fused (True), identity (False)
_FUSED = {"relu": True, "linear": False}


def fused_relu(layer):
    """True for ReLU (fused into the kernel), False for identity; None: applied afterwards."""
    name = getattr(layer.act, "kernel_name", "linear") if layer.act is not None else "linear"
    return _FUSED.get(name)


def _cached(parameters, averaged, spec, key, build):
    return layouts.cached(parameters, spec.name, (key, spec.name in averaged), build)


def nonzeros(layer, kind, values, parameters, averaged=frozenset()):
    """(nonzero weights, weights) of the layer's weights."""
    nonzero = total = 0
    for spec in weight_specs(layer, kind):
        weight = values[spec.name].data
        xp = get_array_module(weight)
        nonzero += _cached(parameters, averaged, spec, "nonzeros",
                           lambda w=weight, xp=xp: int(xp.count_nonzero(w)))
        total += weight.size
    return nonzero, total


def csr_layouts(layer, kind, values, parameters, averaged=frozenset(), xp=None):
    """The CSR layout of each weight of ``layer`` (on ``xp``'s device when given)."""
    if kind == "recurrent":  # one weight, a layout per product of a step (GRU: two)
        weight = values[layer.weight.name].data
        built = _cached(parameters, averaged, layer.weight, "recurrent",
                        lambda: layouts.recurrent_layout(weight, layer.gates))
    else:
        geometry = None if kind == "fc" else (layer.input_shape, layer.stride, layer.padding,
                                              layer.dilation, layer.groups)
        key = "fc" if kind == "fc" else ("conv",) + geometry

        def builder(weight):
            if kind == "fc":
                return lambda: layouts.fc_layout(weight)
            return lambda: layouts.conv_layout(weight, *geometry)
        built = [_cached(parameters, averaged, spec, key, builder(values[spec.name].data))
                 for spec in weight_specs(layer, kind)]
    return [csr if xp is None else csr.to(xp) for csr in built]


def sparse_forward(layer, kind, ctx, xs, csr):
    """The activated output of ``layer`` on ``xs`` with its weights as ``csr``."""
    if kind == "recurrent":  # the layer's own steps, with the CSR product (no act)
        return layer.forward(ctx, xs, csr=csr)
    relu = fused_relu(layer)
    bias = ctx.param(layer.bias).data.reshape(-1) if layer.bias is not None else None
    if kind == "fc":
        matmul = kernel("csr_matmul")
        fused = len(xs) == 1  # several inputs: sum the products, then bias and act
        y = None
        for x, weight in zip(xs, csr):
            rows = x.data.reshape(x.shape[0], -1)
            # the layout was checked when built, and the plan runs float32 inputs only
            part = matmul(weight.indptr, weight.indices, weight.values, rows,
                          bias if fused else None, bool(relu) and fused, check=False)
            y = part if y is None else y + part
        if not fused:
            y = y + bias.reshape(1, -1) if bias is not None else y
            y = get_array_module(y).maximum(y, 0) if relu else y
    else:
        (x,) = xs
        (weight,) = csr
        y = kernel("direct_sparse_conv2d")(
            x.data.reshape((x.shape[0],) + layer.input_shape), weight.indptr, weight.indices,
            weight.values, tuple(layer.filter_size), layer.stride, layer.padding,
            layer.dilation, bias, bool(relu))
    y = Tensor(y, seq=xs[0].seq)   # fc/conv act per row: SequenceSoftmax reads the layout
    return layer.act(y) if relu is None and layer.act is not None else y


def dense_forward(layer, ctx, xs):
    """The activated output of ``layer`` computed dense (what ``Layer.compute`` runs)."""
    y = layer.forward(ctx, xs)
    if y.seq is None:
        y.seq = xs[0].seq
    return layer.act(y) if layer.act is not None else y
