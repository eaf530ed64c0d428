"""minidl: a readable NumPy deep-learning engine with the PaddlePaddle v2 API.

    import minidl as paddle
    paddle.init(use_gpu=False, trainer_count=1)

The namespace is :mod:`minidl.v2`, which mirrors ``paddle.v2``: ``layer``, ``activation``,
``attr``, ``data_type``, ``pooling``, ``parameters``, ``optimizer``, ``trainer``, ``event``,
``evaluator``, ``networks``, ``reader``, ``dataset``, ``topology``, ``plot``, ``infer``,
``batch``. Everything else is the engine, one package per stage of the data flow (see
``docs/architecture.md``): reader/dataset -> training (feeding, trainer, inference) ->
layers -> functions -> backends, with core beneath and optim, hooks, io, sparse, pruning
beside.
"""

import sys

from . import v2
from .v2 import *  # noqa: F403
from .v2 import __all__  # noqa: F401

# ``from minidl.layer import fc`` (as ``from paddle.v2.layer import fc``) finds the v2 module:
# each v2 module is also importable under minidl's own name.
for _name in v2.MODULES:
    sys.modules[f"{__name__}.{_name}"] = getattr(v2, _name)

__version__ = "0.1.0"
