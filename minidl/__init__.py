"""minidl: a readable NumPy deep-learning engine with the PaddlePaddle v2 API.

    import minidl as paddle
    paddle.init(use_gpu=False, trainer_count=1)

The namespace mirrors ``paddle.v2``: ``layer``, ``activation``, ``attr``, ``data_type``,
``pooling``, ``parameters``, ``optimizer``, ``trainer``, ``event``, ``evaluator``,
``networks``, ``reader``, ``dataset``, ``topology``, ``plot``, ``infer``, ``batch``.
"""

from . import (activation, attr, backends, data_type, dataset, evaluator, event, inference,
               layer, minibatch, networks, optimizer, parameters, plot, pooling, progress,
               reader, sparse, topology, trainer)
from .inference import infer
from .init import init
from .minibatch import batch

__version__ = "0.1.0"

__all__ = ["activation", "attr", "backends", "batch", "data_type", "dataset", "evaluator",
           "event", "infer", "inference", "init", "layer", "minibatch", "networks", "optimizer",
           "parameters", "plot", "pooling", "progress", "reader", "sparse", "topology",
           "trainer"]
