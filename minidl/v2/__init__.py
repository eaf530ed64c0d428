"""The PaddlePaddle v2 API: one module per ``paddle.v2`` module, each naming engine pieces.

``import minidl.v2 as paddle`` and ``import minidl as paddle`` give the same namespace.
Nothing here computes anything; each module re-exports, under v2's names, what the engine
packages define (layers, training, models, reader, dataset, optim, ...). Reading a v2 script
top-down, a name such as ``paddle.layer.fc`` leads here, and from here to its definition.
"""

from .. import backends, dataset, pruning, reader
from ..reader.minibatch import batch
from ..training import progress
from ..training.inference import infer
from . import (activation, attr, data_feeder, data_type, evaluator, event, image, inference,
               layer, minibatch, networks, op, optimizer, parameters, plot, pooling, sparse,
               topology, trainer)
from .init import init

#: the v2 module names (``paddle.<name>``) this package provides
MODULES = ("activation", "attr", "data_feeder", "data_type", "evaluator", "event", "image",
           "inference", "layer", "minibatch", "networks", "op", "optimizer", "parameters", "plot",
           "pooling", "sparse", "topology", "trainer")

__all__ = ["activation", "attr", "backends", "batch", "data_feeder", "data_type", "dataset",
           "evaluator", "event", "image", "infer", "inference", "init", "layer", "minibatch",
           "networks", "op", "optimizer",
           "parameters", "plot", "pooling", "progress", "pruning", "reader", "sparse", "topology",
           "trainer"]
