"""``paddle.layer``: the v2 layer builders (implemented in ``minidl.layers``).

Builders describe the network; nothing is computed until a trainer or ``infer`` runs it.
"""

from .layers.base import reset_names
from .layers.data import data
from .layers.fc import fc
# -- conv / pool (minidl/layers/conv.py, minidl/layers/pool.py) --
# -- normalisation, dropout, concat, addto, max_id, costs --

__all__ = ["data", "fc", "reset_names"]
