"""``fc``: fully connected layer, ``y = act(sum_i x_i W_i + b)``."""

import math

from .activations import Tanh
from ..backends import kernel
from ..core import Tensor, config
from ..functions.basic import add, matmul, reshape
from ..functions.certified_matmul import certified_matmul
from ..functions.sparse_input import is_sparse_rows, sparse_rows_matmul
from .base import Layer, as_layer_list, as_param_attr, default_name


class FcLayer(Layer):
    """Paddle's fc: one weight per input, ``W_i: (in_i, size)``, bias ``(1, size)``.

    Image inputs are flattened in C, H, W order, as Paddle stores them. Sparse input rows
    (``sparse_*_vector`` data) are multiplied without densifying them; the weight gets the
    gradient, the data none.
    """

    type = "fc"
    accepts_sparse = True

    def __init__(self, input, size, act=None, name=None, param_attr=None, bias_attr=None,
                 layer_attr=None):
        name = name or default_name("fc_layer")
        inputs = as_layer_list(input, name)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"layer {name}: size={size!r} must be a positive integer")
        super().__init__(name, inputs, size, act=Tanh() if act is None else act,
                         layer_attr=layer_attr)
        attrs = param_attr if isinstance(param_attr, (list, tuple)) else [param_attr] * len(inputs)
        if len(attrs) != len(inputs):
            raise ValueError(f"layer {name}: {len(attrs)} param_attr for {len(inputs)} inputs")
        for i, (parent, attr) in enumerate(zip(inputs, attrs)):
            self.add_param(f"w{i}", (parent.size, size), as_param_attr(attr, f"{name} param_attr"),
                           default_std=1.0 / math.sqrt(parent.size))
        self.bias = None
        if bias_attr is not False:
            self.bias = self.add_param("wbias", (1, size),
                                       as_param_attr(bias_attr, f"{name} bias_attr"), is_bias=True)

    def compute(self, ctx, xs):
        plan = getattr(ctx, "sparse_plan", None)
        if plan is None or not _any_sparse_rows(xs):
            return super().compute(ctx, xs)
        # the inference plan's kernels multiply pruned (CSR) weights by DENSE inputs; with
        # sparse input rows this layer runs its own forward
        ctx.sparse_plan = None
        try:
            return super().compute(ctx, xs)
        finally:
            ctx.sparse_plan = plan

    def forward(self, ctx, xs):
        if not config.grad_enabled and ctx.gradient_bounds is None \
                and not _any_sparse_rows(xs):
            return Tensor(self._product(ctx, xs))
        y = None
        for x, spec in zip(xs, self.params):
            if is_sparse_rows(x):
                term = sparse_rows_matmul(x, ctx.param(spec), spec.attr.sparse_update)
            elif ctx.gradient_bounds is not None:   # training under the NaN/inf check
                term = certified_matmul(reshape(x, (x.shape[0], -1)), ctx.param(spec),
                                        ctx.gradient_bounds, spec.name)
            else:
                term = matmul(reshape(x, (x.shape[0], -1)), ctx.param(spec))
            y = term if y is None else add(y, term)
        return self.plus_bias(ctx, y)

    def _product(self, ctx, xs):
        """``sum_i x_i W_i + b`` on plain arrays, the same operations in the same order as
        the Functions above: with no graph to record, their bookkeeping cost more than a
        small layer's product (~17 us a layer at batch 1)."""
        matmul_kernel = kernel("matmul")
        y = None
        for x, spec in zip(xs, self.params):
            term = matmul_kernel(x.data.reshape(x.data.shape[0], -1), ctx.param(spec).data)
            y = term if y is None else y + term
        return y if self.bias is None else y + ctx.param(self.bias).data


def fc(input, size, act=None, name=None, param_attr=None, bias_attr=None, layer_attr=None):
    return FcLayer(input, size, act, name, param_attr, bias_attr, layer_attr)


def _any_sparse_rows(xs):
    """Whether any input holds sparse rows (a loop: this runs on every inference call)."""
    for x in xs:
        if is_sparse_rows(x):
            return True
    return False
