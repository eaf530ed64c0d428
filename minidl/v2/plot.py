"""``paddle.plot``: ``Ploter``: training curves.

Defined in :mod:`minidl.training.plot`; this module gives it v2's name.
"""

from ..training.plot import *  # noqa: F403
from ..training.plot import __all__  # noqa: F401
