"""``paddle.parameters``: ``paddle.parameters.create(cost)`` and the ``Parameters`` store.

Defined in :mod:`minidl.training.parameters`; this module gives it v2's name.
"""

from ..training.parameters import *  # noqa: F403
from ..training.parameters import __all__  # noqa: F401
