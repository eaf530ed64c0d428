"""``paddle.networks``: ready-made groups of layers (``simple_img_conv_pool``, ...).

Defined in :mod:`minidl.models.networks`; this module gives it v2's name.
"""

from ..models.networks import *  # noqa: F403
from ..models.networks import __all__  # noqa: F401
