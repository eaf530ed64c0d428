"""Inference: a convolution and the batch norm reading it, run as one kernel.

With its moving statistics, batch norm is a fixed affine map per channel, and the
convolution before it can apply that map (and the ReLU) to its output while the output
is in cache: ``conv2d_batch_norm_act`` (see its reference, ``numpy_ref/conv_batch_norm.py``).
In MobileNet every convolution is followed by such a batch norm; its separate pass took
10-20 % of the forward at batch 1.

:func:`foldable_pairs` finds the pairs once per network, from the topology alone: an
``img_conv`` with a linear activation, no dropout and a bias shared per filter (or none),
read by nothing but a batch norm with a ReLU or linear activation (and any dropout, a
constant factor at inference) that uses its moving statistics at test time, and not itself
an output: every such pair in MobileNet and in the book's CIFAR VGG. The forward pass folds them
(:func:`folding_for`) only when nothing is differentiated and the caller asked for it
(``RunContext.fold_batch_norm``, set by ``Inference`` and by ``SGD.test``, which
also keeps every convolution an evaluator reads), where the backend has a kernel of
its own for the op (the reference would only run the two passes again). The convolution's
own output is then never made: the pair's value is the batch norm's. Where the sparse plan
runs the convolution sparse, the map goes into its weights and bias instead (a pruned
convolution keeps its zeros: each output channel's weights are scaled by one factor).
"""

from collections import Counter

import numpy as np

from ..backends import accelerated_kernel
from ..core import Tensor, config
from ..core.batch_norm_map import batch_norm_map
from .activations import Identity, Relu
from .conv import ConvLayer
from .norm import BatchNormLayer

OP = "conv2d_batch_norm_act"


class FoldedPair:
    """A convolution and the batch norm that reads it, computed together."""

    __slots__ = ("conv", "norm", "relu", "keep", "_sparse_weights")

    def __init__(self, conv, norm):
        self.conv, self.norm = conv, norm
        self.relu = type(norm.act) is Relu
        # the batch norm's dropout scales its output by the kept fraction at inference;
        # a positive factor passes through the ReLU, so it scales gamma and beta instead
        self.keep = 1.0 - (norm.layer_attr.drop_rate or 0.0)
        #: (what they were made from, scaled values, shift) of the sparse convolution
        self._sparse_weights = None

    def run(self, kernel, ctx, x):
        """The batch norm's output (a Tensor, no graph) from the convolution's input ``x``:
        through the sparse plan's convolution where it runs one, else ``kernel``."""
        plan = ctx.sparse_plan
        sparse = None if plan is None else plan.sparse_forward(self.conv)
        if sparse is not None and x.data.dtype == np.float32:
            return self._run_sparse(sparse, ctx, x)
        conv = self.conv
        bias, gamma, beta, mean, var = (None if t is None else t.data.reshape(-1)
                                        for t in self._tensors(ctx))
        if self.keep != 1.0:
            gamma = gamma * gamma.dtype.type(self.keep)
            beta = None if beta is None else beta * beta.dtype.type(self.keep)
        data = x.data
        y = kernel(data.reshape((data.shape[0],) + conv.input_shape),
                   ctx.param(conv.weight).data, bias, gamma, beta, mean, var,
                   self.norm.epsilon, self.relu, conv.stride, conv.padding, conv.dilation,
                   conv.groups)
        return Tensor(y)

    def _tensors(self, ctx):
        """The Tensors of the convolution's bias (or None), and of the batch norm's gamma,
        beta (or None), moving mean and moving variance."""
        conv, norm = self.conv, self.norm
        return tuple(None if spec is None else ctx.param(spec) for spec in (
            conv.bias, norm.scale, norm.bias, norm.moving_mean, norm.moving_var))

    def _run_sparse(self, sparse, ctx, x):
        """A sparse convolution applies the batch norm's map ``y * a + b`` by running with
        the weights of output channel f times ``a[f]`` and ``b`` as its bias: no pass after
        it. The scaled weights are kept while the layout and the parameter Tensors are the
        same objects (``Inference`` makes new Tensors whenever a parameter changes)."""
        made_from = (sparse.csr,) + self._tensors(ctx)
        kept = self._sparse_weights
        if kept is None or any(a is not b for a, b in zip(kept[0], made_from)):
            scale, shift = batch_norm_map(*(None if t is None else t.data.reshape(-1)
                                        for t in made_from[1:]), self.norm.epsilon,
                                      self.keep)
            (weight,) = sparse.csr
            values = weight.values * np.repeat(scale, np.diff(weight.indptr))
            kept = self._sparse_weights = (made_from, values, shift)
        return Tensor(sparse.conv_with(x, kept[1], kept[2], self.relu))


def _plain_conv(conv):
    filters = conv.num_filters
    return (type(conv) is ConvLayer and len(conv.inputs) == 1 and type(conv.act) is Identity
            and not conv.layer_attr.drop_rate
            and (conv.bias is None or tuple(conv.bias.compute_shape) == (1, filters, 1, 1)))


def _fixed_norm(norm, conv):
    return (type(norm.act) in (Relu, Identity) and norm.use_global_stats is not False
            and norm.image_shape == conv.image_shape)


def foldable_pairs(layers, outputs):
    """{layer name: FoldedPair} of ``layers`` (a topological order), under both the
    convolution's and the batch norm's name."""
    readers = Counter(id(parent) for layer in layers for parent in layer.inputs)
    outputs = {id(layer) for layer in outputs}
    pairs = {}
    for norm in layers:
        if type(norm) is not BatchNormLayer:
            continue
        conv = norm.inputs[0]
        if (readers[id(conv)] == 1 and id(conv) not in outputs and _plain_conv(conv)
                and _fixed_norm(norm, conv)):
            pairs[conv.name] = pairs[norm.name] = FoldedPair(conv, norm)
    return pairs


def folding_for(pairs, ctx):
    """``(pairs to fold in this pass, the kernel)``, or None to fold none."""
    if not pairs or not ctx.fold_batch_norm or config.grad_enabled:
        return None
    kernel = accelerated_kernel(OP)
    if kernel is None:
        return None
    return pairs, kernel
