"""``paddle.attr``: ``ParamAttr`` / ``ExtraAttr`` and the update hooks they carry.

Defined in :mod:`minidl.layers.attrs`; this module gives it v2's name.
"""

from ..layers.attrs import *  # noqa: F403
from ..layers.attrs import __all__  # noqa: F401
