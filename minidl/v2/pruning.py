"""``paddle.pruning``: looking at pruned models and choosing what to prune.

Not a ``paddle.v2`` module: minidl's own, beside the v2 ones. Defined in :mod:`minidl.pruning`;
this module gives it a place in the ``paddle`` namespace.
"""

from ..pruning import *  # noqa: F403
from ..pruning import __all__  # noqa: F401
