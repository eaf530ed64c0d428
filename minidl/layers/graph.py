"""Running a network description: topological order, parameters, forward pass."""

from ..core.tensor import Tensor
from .base import Layer
from .batch_norm_folding import folding_for, foldable_pairs
from .data import DataLayer


def topological_order(outputs):
    """Every layer ``outputs`` depend on, each after its inputs, in definition order."""
    order, state = [], {}

    def visit(layer):
        mark = state.get(id(layer))
        if mark == "done":
            return
        if mark == "visiting":
            raise ValueError(f"layer {layer.name} depends on itself")
        state[id(layer)] = "visiting"
        for parent in layer.inputs:
            visit(parent)
        state[id(layer)] = "done"
        order.append(layer)

    for layer in outputs:
        if not isinstance(layer, Layer):
            raise ValueError(f"{layer!r} is not a layer")
        visit(layer)
    return order


class RunContext:
    """What layers see while computing: parameter Tensors, train/test mode, random state.

    Its fields are declared (``__slots__``): one is made per forward pass, and a layer
    cannot leave state on it by accident."""

    __slots__ = ("params", "is_train", "rng", "updates", "sparse_plan", "fold_batch_norm",
                 "gradient_bounds", "deferred_weight_grads", "recurrent_group_runs")

    def __init__(self, params, is_train=False, rng=None):
        self.params = params
        self.is_train = is_train
        self.rng = rng
        #: layers record side results here (e.g. batch-norm batch statistics)
        self.updates = {}
        #: inference only: a minidl.sparse.SparsePlan that may run fc/conv layers sparse
        self.sparse_plan = None
        #: inference only: run each convolution and the batch norm reading it as one
        #: kernel where they allow it (see minidl.layers.batch_norm_folding)
        self.fold_batch_norm = False
        #: training with the NaN/inf check: {parameter name: GradientBound}, counting every
        #: read of a parameter, so the trainer trusts a bound only when it covers every use
        #: (see minidl.functions.certified_matmul)
        self.gradient_bounds = None
        #: inside a recurrent_group's steps: {weight: gradient collector}, so that step
        #: layers sum a weight's gradient over the steps (see recurrent_step)
        self.deferred_weight_grads = None
        #: {id(recurrent group): (its inputs, its outputs)}: a group's output layers share
        #: one run of it per forward pass (see recurrent_graph); None until the first
        self.recurrent_group_runs = None

    def param(self, spec):
        try:
            value = self.params[spec.name]
        except KeyError:
            raise KeyError(f"parameter {spec.name} of layer {spec.owner} has no value") from None
        if self.gradient_bounds is not None:
            self.gradient_bounds[spec.name].reads += 1
        return value


class Network:
    """The layers reachable from ``outputs``, ready to run."""

    def __init__(self, outputs):
        self.outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        self.layers = topological_order(self.outputs)
        self.data_layers = sorted((layer for layer in self.layers if isinstance(layer, DataLayer)),
                                  key=lambda layer: layer.serial)
        self.param_specs = {}
        for layer in self.layers:
            for spec in layer.params:
                known = self.param_specs.get(spec.name)
                if known is not None and known.shape != spec.shape:
                    raise ValueError(f"parameter {spec.name} is shared by layers {known.owner} "
                                     f"and {spec.owner} with shapes {known.shape} and {spec.shape}")
                self.param_specs.setdefault(spec.name, spec)
        names = [layer.name for layer in self.layers]
        duplicated = {n for n in names if names.count(n) > 1}
        if duplicated:
            raise ValueError(f"two different layers are named {sorted(duplicated)}")
        #: {layer name: FoldedPair}: the convolutions an inference pass may fold into the
        #: batch norms reading them
        self.foldable = foldable_pairs(self.layers, self.outputs)

    def forward(self, feed, ctx, foldable=None):
        """Run every layer; ``feed``: {data layer name: array, or Tensor carrying a sequence
        layout}. Returns {layer name: Tensor} -- without the convolutions folded into their
        batch norms, when ``ctx.fold_batch_norm`` (see :mod:`.batch_norm_folding`).
        ``foldable``: the pairs that may fold, where a caller reads more layers than the
        outputs (default: :attr:`foldable`)."""
        values = {}
        folding = folding_for(self.foldable if foldable is None else foldable, ctx)
        folded, kernel = folding if folding is not None else ((), None)
        for layer in self.layers:
            if isinstance(layer, DataLayer):
                if layer.name not in feed:
                    raise ValueError(f"data layer {layer.name} was not fed")
                fed = feed[layer.name]
                values[layer.name] = fed if isinstance(fed, Tensor) else Tensor(fed)
                continue
            if layer.name in folded:     # a convolution (left out) or its batch norm
                pair = folded[layer.name]
                if layer is pair.norm:
                    values[layer.name] = pair.run(kernel, ctx, values[pair.conv.inputs[0].name])
                continue
            values[layer.name] = layer.compute(ctx, [values[p.name] for p in layer.inputs])
        return values
