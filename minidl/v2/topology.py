"""``paddle.topology``: ``Topology``: the network description, serialisable without pickle.

Defined in :mod:`minidl.layers.topology`; this module gives it v2's name.
"""

from ..layers.topology import *  # noqa: F403
from ..layers.topology import __all__  # noqa: F401
