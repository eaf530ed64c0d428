"""``paddle.inference``: ``paddle.infer`` and the reusable ``Inference``.

Defined in :mod:`minidl.training.inference`; this module gives it v2's name.
"""

from ..training.inference import *  # noqa: F403
from ..training.inference import __all__  # noqa: F401
