"""v2's ``paddle.op`` unary functions: ``exp``, ``log``, ``abs``, ``sigmoid``, ``tanh``,
``square``, ``relu``, ``sqrt``, ``reciprocal`` and ``softmax`` of a layer.

Each builds what v2 built: ``mixed(input=[identity_projection(input)], act=<activation>)``,
named ``__<op>_<n>__`` (``__exp_0__``) unless ``name`` is given; its size is the input's.
``Sqrt`` and ``Reciprocal``, the two activations these need beyond ``paddle.activation``'s,
are defined here.
"""

from .activations import Abs, BaseActivation, Exp, Log, Relu, Sigmoid, Softmax, Square, Tanh
from .base import default_name
from .mixed import mixed
from .mixed_terms import identity_projection
from ..functions.elementwise_math import reciprocal as reciprocal_fn, sqrt as sqrt_fn


class Sqrt(BaseActivation):
    """sqrt(x) (NaN for x < 0)"""

    name = "sqrt"

    def __call__(self, x):
        return sqrt_fn(x)


class Reciprocal(BaseActivation):
    """1 / x"""

    name = "reciprocal"

    def __call__(self, x):
        return reciprocal_fn(x)


def _unary(op_name, activation):
    def op(input, name=None):
        return mixed(input=[identity_projection(input=input)],
                     name=name or default_name(op_name), act=activation())

    op.__name__ = op.__qualname__ = op_name
    op.__doc__ = (f"``{op_name}`` of each value of ``input``: {activation.__doc__}; "
                  f"a mixed layer named ``__{op_name}_<n>__`` by default.")
    return op


exp = _unary("exp", Exp)
log = _unary("log", Log)
abs = _unary("abs", Abs)  # noqa: A001 - v2's name
sigmoid = _unary("sigmoid", Sigmoid)
tanh = _unary("tanh", Tanh)
square = _unary("square", Square)
relu = _unary("relu", Relu)
sqrt = _unary("sqrt", Sqrt)
reciprocal = _unary("reciprocal", Reciprocal)
softmax = _unary("softmax", Softmax)

#: v2's unary ``paddle.op`` functions, in its order
UNARY = ("exp", "log", "abs", "sigmoid", "tanh", "square", "relu", "sqrt", "reciprocal",
         "softmax")

__all__ = ["Sqrt", "Reciprocal", "UNARY", *UNARY]
