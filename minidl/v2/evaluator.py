"""``paddle.evaluator``: metrics computed over a pass and shown in ``event.metrics``.

Defined in :mod:`minidl.training.evaluators`; this module gives it v2's name.
"""

from ..training.evaluators import *  # noqa: F403
from ..training.evaluators import __all__  # noqa: F401
