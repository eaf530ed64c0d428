"""A convolution and the inference batch norm after it, as one op.

With its moving statistics fixed, batch norm is an affine map per channel, ``y = x * a +
b`` with ``a = gamma / sqrt(max(var, 0) + eps)``; after a convolution with bias ``bias``
the two fold into ``act(conv(x) * a + (beta + (bias - mean) * a))``. Inference engines fold
the pair this way (Paddle's ``conv_bn_fuse_pass``), so that the convolution's kernel
applies the map to its output while it is in cache, instead of a batch-norm pass reading
and writing every activation again. This reference is the definition of the op: the
convolution, its bias, then batch norm and the activation, each as its own reference.
"""

from .conv import conv2d_forward
from .norm import batch_norm_act_infer
from ..registry import register


@register("conv2d_batch_norm_act")
def conv2d_batch_norm_act(x, w, bias, gamma, beta, mean, var, eps, relu, stride, padding,
                          dilation, groups):
    """``batch_norm_act_infer(conv2d_forward(x, w, ...) + bias)``.

    Notation as :func:`~.conv.conv2d_forward` (``x: (N, C, H, W)``, ``w: (F, C/G, kh,
    kw)``) and :func:`~.norm.batch_norm_act_infer`; ``bias``, ``gamma``, ``beta``,
    ``mean``, ``var``: ``(F,)`` (``bias`` and ``beta`` may be None). Returns ``(N, F, OH,
    OW)``.
    """
    y = conv2d_forward(x, w, stride, padding, dilation, groups)
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    n, f, oh, ow = y.shape
    return batch_norm_act_infer(y.reshape(n, f, oh * ow), gamma, beta, mean, var, eps,
                                relu).reshape(y.shape)
