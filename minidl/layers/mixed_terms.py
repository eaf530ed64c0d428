"""The v2 builders of the terms a ``mixed`` layer adds up: projections and operators.

A projection (:mod:`.projections`, :mod:`.context_projection`) reads ONE layer and may
own one parameter; an operator (:mod:`.operators`) reads two layers and owns none.
Neither is a layer: each describes a term, and the mixed layer that receives it names
the parameter (``_<mixed layer>.w<i>``, ``i`` the term's input index, as Paddle does), fixes
the output size and checks the input. Every term acts on each row (timestep) on its own
except ``context_projection``, which reads the rows around it in the same sequence.

==================================== ====================================== =================
v2 builder                           row ``i`` of the term                  parameter (dims)
==================================== ====================================== =================
full_matrix_projection(x, size)      ``x[i] @ W``                           ``(in, size)``
trans_full_matrix_projection(x, s)   ``x[i] @ W.T``                         ``(size, in)``
table_projection(ids, size)          ``W[ids[i]]``                          ``(in, size)``
identity_projection(x)               ``x[i]``                               --
identity_projection(x, offset)       ``x[i, offset:offset + size]``         --
dotmul_projection(x)                 ``x[i] * w``                           ``(1, size)``
scaling_projection(x)                ``w * x[i]``                           ``(1, 1)``
context_projection(x, len, start)    ``[x[i+start] | ... | x[i+start+len-1]]``  padding
                                     (same sequence; padding outside)       ``(pad, in)``
dotmul_operator(a, b, scale)         ``scale * a[i] * b[i]``                --
conv_operator(img, filter, ...)      ``conv(img[i], filter[i])``            --
==================================== ====================================== =================

Default initial values are Paddle's "smart" ones: normal with std ``1/sqrt(dims[0])``
(so 1 for the dotmul and scaling weights), except the context padding, which starts at zero.
"""

from .context_projection import ContextProjection
from .operators import ConvOperator, DotMulOperator
from .projections import (DotMulProjection, FullMatrixProjection, IdentityOffsetProjection,
                          IdentityProjection, ScalingProjection, TableProjection,
                          TransFullMatrixProjection, _check_count)


def full_matrix_projection(input, size=0, param_attr=None):
    return FullMatrixProjection(input, size, param_attr)


def trans_full_matrix_projection(input, size=0, param_attr=None):
    return TransFullMatrixProjection(input, size, param_attr)


def table_projection(input, size=0, param_attr=None):
    return TableProjection(input, size, param_attr)


def identity_projection(input, offset=None, size=None):
    if offset is None:
        return IdentityProjection(input)
    return IdentityOffsetProjection(input, offset, size)


def dotmul_projection(input, param_attr=None):
    return DotMulProjection(input, param_attr)


def scaling_projection(input, param_attr=None):
    return ScalingProjection(input, param_attr)


def context_projection(input, context_len, context_start=None, padding_attr=None):
    """Paddle's defaults: ``context_start = -(context_len - 1) // 2``; ``padding_attr``
    unset, None or True gives a trainable padding starting at zero (Paddle's
    ``wrap_bias_attr_default`` on it), False zeros, a ParamAttr a trainable padding."""
    if context_start is None:
        context_len = _check_count(context_len, "context_projection: context_len", 1)
        context_start = -(context_len - 1) // 2
    return ContextProjection(input, context_len, context_start, padding_attr)


def dotmul_operator(a=None, b=None, scale=1, **kwargs):
    """``x=`` and ``y=`` are accepted for ``a`` and ``b`` (Paddle's deprecated names)."""
    unknown = set(kwargs) - {"x", "y"}
    if unknown:
        raise ValueError(f"dotmul_operator: unexpected argument(s) {sorted(unknown)}")
    return DotMulOperator(kwargs.get("x", a), kwargs.get("y", b), scale)


def conv_operator(img, filter, filter_size, num_filters, num_channels=None, stride=1,
                  padding=0, filter_size_y=None, stride_y=None, padding_y=None, trans=False):
    if trans:
        raise ValueError("conv_operator(trans=True) (Paddle's ConvTransOperator) is not "
                         "supported; only the convolution")
    return ConvOperator(img, filter, filter_size, num_filters, num_channels, stride, padding,
                        filter_size_y, stride_y, padding_y)



__all__ = ["context_projection", "conv_operator", "dotmul_operator", "dotmul_projection",
           "full_matrix_projection", "identity_projection", "scaling_projection",
           "table_projection", "trans_full_matrix_projection"]
