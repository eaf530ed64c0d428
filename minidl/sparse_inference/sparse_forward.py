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

import numpy as np

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


def csr_layouts(layer, kind, values, parameters, averaged=frozenset(), xp=None,
                narrow_from=layouts.STREAMED_NONZEROS):
    """The CSR layout of each weight of ``layer`` (on ``xp``'s device when given);
    ``narrow_from``: see ``layout.fc_layout`` (the machine's, from its cost model)."""
    if kind == "recurrent":  # one weight, a layout per product of a step (GRU: two)
        weight = values[layer.weight.name].data
        built = _cached(parameters, averaged, layer.weight, ("recurrent", narrow_from),
                        lambda: layouts.recurrent_layout(weight, layer.gates, narrow_from))
    else:
        geometry = None if kind == "fc" else (layer.input_shape, layer.stride, layer.padding,
                                              layer.dilation, layer.groups)
        key = ("fc", narrow_from) if kind == "fc" else ("conv",) + geometry

        def builder(weight):
            if kind == "fc":
                return lambda: layouts.fc_layout(weight, narrow_from)
            return lambda: layouts.conv_layout(weight, *geometry)
        built = [_cached(parameters, averaged, spec, key, builder(values[spec.name].data))
                 for spec in weight_specs(layer, kind)]
    return [csr if xp is None else csr.to(xp) for csr in built]


class SparseForward:
    """``layer``'s sparse forward with its weights as ``csr``, resolved once per plan: the
    kernel, the fused activation, the flat bias. Called with ``(ctx, xs)``, it gives the
    activated output, or None when an input is not float32 (the kernels compute in float32
    and take their inputs unchecked): the layer then runs dense.

    A plan calls it for every batch. Right after a kernel that streamed a megabyte of
    nonzeros each Python operation costs several times what it does timed alone, and
    looking the kernel, activation and bias up on every call added ~6 us to a 0.99-sparse
    4096 x 4096 layer's ~45 us at batch 1."""

    __slots__ = ("layer", "kind", "csr", "relu", "act", "kernel", "bias")

    def __init__(self, layer, kind, csr):
        self.layer, self.kind, self.csr = layer, kind, csr
        self.relu = fused_relu(layer)
        # applied after the kernel when it does not fuse the activation
        self.act = layer.act if self.relu is None else None
        self.kernel = kernel(_KERNELS[kind]) if kind in _KERNELS else None
        self.bias = (None, None)    # (the bias array read last, its flat view)

    def _flat_bias(self, ctx):
        spec = self.layer.bias
        if spec is None:
            return None
        data = ctx.param(spec).data
        if data is not self.bias[0]:
            self.bias = (data, data.reshape(-1))
        return self.bias[1]

    def __call__(self, ctx, xs):
        for x in xs:
            if x.data.dtype is not _FLOAT32:
                return None
        if self.kind == "recurrent":  # the layer's own steps, with the CSR product (no act)
            return self.layer.forward(ctx, xs, csr=self.csr)
        bias, relu = self._flat_bias(ctx), bool(self.relu)
        if self.kind == "fc":
            y = self._fc(xs, bias, relu)
        else:
            y = self.conv_with(xs[0], self.csr[0].values, bias, relu)
        y = Tensor(y, seq=xs[0].seq)   # fc/conv act per row: SequenceSoftmax reads the layout
        return y if self.act is None else self.act(y)

    def conv_with(self, x, values, bias, relu):
        """A conv layer's kernel on ``x`` (a float32 Tensor) with ``values`` in place of its
        layout's (same positions) and ``bias``, ReLU or not: a batch norm folded into the
        weights (``minidl.layers.batch_norm_folding``)."""
        (weight,), layer = self.csr, self.layer
        return self.kernel(x.data.reshape((x.shape[0],) + layer.input_shape), weight.indptr,
                           weight.indices, values, tuple(layer.filter_size), layer.stride,
                           layer.padding, layer.dilation, bias, relu)

    def _fc(self, xs, bias, relu):
        if len(xs) == 1:                # bias and activation fused into the kernel
            x, weight = xs[0].data, self.csr[0]
            # the layout was checked when built, and the inputs are float32
            return self.kernel(weight.indptr, weight.indices, weight.values,
                               x.reshape(x.shape[0], -1), bias, relu, check=False)
        y = None                        # several inputs: sum the products, then bias and act
        for x, weight in zip(xs, self.csr):
            data = x.data
            part = self.kernel(weight.indptr, weight.indices, weight.values,
                               data.reshape(data.shape[0], -1), None, False, check=False)
            y = part if y is None else y + part
        y = y + bias.reshape(1, -1) if bias is not None else y
        return get_array_module(y).maximum(y, 0) if relu else y


_FLOAT32 = np.dtype(np.float32)
#: the kernel of each kind (a recurrent layer runs its own steps)
_KERNELS = {"fc": "csr_matmul", "conv": "direct_sparse_conv2d"}


def sparse_forward(layer, kind, ctx, xs, csr):
    """The activated output of ``layer`` on ``xs`` with its weights as ``csr`` (None: an
    input is not float32); see :class:`SparseForward`."""
    return SparseForward(layer, kind, csr)(ctx, xs)


def dense_forward(layer, ctx, xs):
    """The activated output of ``layer`` computed dense (what ``Layer.compute`` runs)."""
    y = layer.forward(ctx, xs)
    if y.seq is None:
        y.seq = xs[0].seq
    return layer.act(y) if layer.act is not None else y
