"""The autograd core: Tensor, Function, backward, no-grad mode, gradient checks."""

from .config import no_grad, using_dtype
from .tensor import Function, Node, Tensor, as_tensor, backward
from .xp import as_numpy, get_array_module

__all__ = ["Function", "Node", "Tensor", "as_tensor", "backward", "no_grad", "using_dtype",
           "as_numpy", "get_array_module"]
