"""``paddle.pooling``: pooling types (``paddle.pooling.Max()``, ...).

Defined in :mod:`minidl.layers.pooling_types`; this module gives it v2's name.
"""

from ..layers.pooling_types import *  # noqa: F403
from ..layers.pooling_types import __all__  # noqa: F401
