"""``paddle.op``: arithmetic on layers (``a + b``, ``2 * a``, ``-a``; see
:mod:`minidl.layers.arithmetic`) and v2's unary functions of a layer
(:mod:`minidl.layers.unary_ops`). Importing it enables the operators on every layer.
"""

from ..layers import arithmetic  # noqa: F401  (defines + - * on layers)
from ..layers.unary_ops import (abs, exp, log, reciprocal, relu, sigmoid,  # noqa: A004
                                softmax, sqrt, square, tanh)

__all__ = ["exp", "log", "abs", "sigmoid", "tanh", "square", "relu", "sqrt", "reciprocal",
           "softmax"]
