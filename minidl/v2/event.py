"""``paddle.event``: the events a trainer sends to ``event_handler``.

Defined in :mod:`minidl.training.events`; this module gives it v2's name.
"""

from ..training.events import *  # noqa: F403
from ..training.events import __all__  # noqa: F401
