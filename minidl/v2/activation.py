"""``paddle.activation``: activation types for ``act=`` (``paddle.activation.Relu()``, ...).

Defined in :mod:`minidl.layers.activations`; this module gives it v2's name.
"""

from ..layers.activations import *  # noqa: F403
from ..layers.activations import __all__  # noqa: F401
