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
(``RunContext.fold_batch_norm``, set by ``Inference``), where the backend has a kernel of
its own for the op (the reference would only run the two passes again), and where the
sparse plan does not run the convolution sparse. The convolution's own output is then never
made: the pair's value is the batch norm's.
"""

from collections import Counter

from ..backends import accelerated_kernel
from ..core import Tensor, config
from .activations import Identity, Relu
from .conv import ConvLayer
from .norm import BatchNormLayer

OP = "conv2d_batch_norm_act"


class FoldedPair:
    """A convolution and the batch norm that reads it, computed together."""

    __slots__ = ("conv", "norm", "relu", "keep")

    def __init__(self, conv, norm):
        self.conv, self.norm = conv, norm
        self.relu = type(norm.act) is Relu
        # the batch norm's dropout scales its output by the kept fraction at inference;
        # a positive factor passes through the ReLU, so it scales gamma and beta instead
        self.keep = 1.0 - (norm.layer_attr.drop_rate or 0.0)

    def run(self, kernel, ctx, x):
        """The batch norm's output (a Tensor, no graph) from the convolution's input ``x``."""
        conv, norm = self.conv, self.norm
        data = x.data
        images = data.reshape((data.shape[0],) + conv.input_shape)
        gamma = ctx.param(norm.scale).data.reshape(-1)
        beta = None if norm.bias is None else ctx.param(norm.bias).data.reshape(-1)
        if self.keep != 1.0:
            gamma = gamma * gamma.dtype.type(self.keep)
            beta = None if beta is None else beta * beta.dtype.type(self.keep)
        y = kernel(images, ctx.param(conv.weight).data,
                   None if conv.bias is None else ctx.param(conv.bias).data.reshape(-1),
                   gamma, beta, ctx.param(norm.moving_mean).data.reshape(-1),
                   ctx.param(norm.moving_var).data.reshape(-1), norm.epsilon, self.relu,
                   conv.stride, conv.padding, conv.dilation, conv.groups)
        return Tensor(y)


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
    plan = ctx.sparse_plan
    if plan is not None:
        pairs = {name: pair for name, pair in pairs.items()
                 if not plan.runs_sparse(pair.conv.name)}
    return pairs, kernel
