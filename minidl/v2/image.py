"""``paddle.image``: image decoding (BGR, HWC) and v2's simple augmentations.

Defined in :mod:`minidl.dataset.image`; this module gives it v2's name.
"""

from ..dataset.image import *  # noqa: F403
from ..dataset.image import __all__  # noqa: F401
