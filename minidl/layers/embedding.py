"""``embedding``: a row of a learned table per integer id (v2's ``embedding_layer``).

Exactly Paddle's construction: a ``mixed`` layer named ``__embedding_<n>__`` holding one
``table_projection``, Linear activation, no bias. The table is the parameter
``_<name>.w0`` of dims ``(number of ids, size)`` -- for an ``integer_value_sequence(V)``
input, ``(V, size)`` -- so a pretrained table loads by that name (``parameters.set``,
``init_from_tar``) or through ``ParamAttr(name=..., initializer=...)``; with
``ParamAttr(is_static=True)`` it is never updated. Ids of a sequence give a sequence of
vectors with the same layout.

Backward scatter-adds the output gradient into the looked-up rows (``table_lookup_grad``);
``ParamAttr(sparse_update=True)`` is accepted and recorded in the parameter's config.
"""

import numbers

from .activations import Linear
from .base import default_name
from .mixed import MixedLayer
from .mixed_terms import table_projection


def embedding(input, size, name=None, param_attr=None, layer_attr=None):
    name = name or default_name("embedding")
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"layer {name} (embedding): size={size!r} must be a positive integer "
                         "(the width of one embedding vector)")
    return MixedLayer(size=size, input=table_projection(input, size, param_attr), name=name,
                      act=Linear(), bias_attr=False, layer_attr=layer_attr)


__all__ = ["embedding"]
