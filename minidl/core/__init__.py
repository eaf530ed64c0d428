"""The base every other package builds on: the autograd core (Tensor, Function, backward,
no-grad mode, gradient checks), array-module helpers, shared geometry, the random state and
the process-wide settings."""

from . import settings
from .config import no_grad, using_dtype
from .tensor import Function, Node, Tensor, as_tensor, backward
from .xp import as_numpy, get_array_module

__all__ = ["Function", "Node", "Tensor", "as_tensor", "backward", "no_grad", "settings",
           "using_dtype", "as_numpy", "get_array_module"]
