"""``paddle.data_feeder``: ``DataFeeder`` converts a minibatch for named data types.

Defined in :mod:`minidl.training.data_feeder`; this module gives it v2's name.
"""

from ..training.data_feeder import *  # noqa: F403
from ..training.data_feeder import __all__  # noqa: F401
