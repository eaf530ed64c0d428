"""``paddle.data_type``: input types of data layers (``dense_vector(784)``, ...).

Defined in :mod:`minidl.layers.data_types`; this module gives it v2's name.
"""

from ..layers.data_types import *  # noqa: F403
from ..layers.data_types import __all__  # noqa: F401
