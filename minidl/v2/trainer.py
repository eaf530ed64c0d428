"""``paddle.trainer``: ``paddle.trainer.SGD``.

Defined in :mod:`minidl.training.trainer`; this module gives it v2's name.
"""

from ..training.trainer import *  # noqa: F403
from ..training.trainer import __all__  # noqa: F401
