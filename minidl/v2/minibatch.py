"""``paddle.minibatch``: ``paddle.batch``: group a reader's samples into mini-batches.

Defined in :mod:`minidl.reader.minibatch`; this module gives it v2's name.
"""

from ..reader.minibatch import *  # noqa: F403
from ..reader.minibatch import __all__  # noqa: F401
