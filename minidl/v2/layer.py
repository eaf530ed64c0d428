"""``paddle.layer``: the v2 layer builders (implemented in ``minidl.layers``).

Builders describe the network; nothing is computed until a trainer or ``infer`` runs it.
"""

from ..layers.base import reset_names
from ..layers.data import data
from ..layers.fc import fc
# -- conv / pool (minidl/layers/conv.py, minidl/layers/pool.py) --
from ..layers.conv import img_conv
from ..layers.depthwise import img_depthwise_conv
from ..layers.pool import img_pool
# -- normalisation, dropout, concat, addto, max_id, costs --
from ..layers.cost import (classification_cost, cross_entropy_cost, regression_cost,
                           square_error_cost)
from ..layers.misc import addto, concat, dropout, max_id
from ..layers.norm import batch_norm, img_cmrnorm

__all__ = ["data", "fc", "reset_names", "img_conv", "img_depthwise_conv", "img_pool",
           "batch_norm", "img_cmrnorm", "dropout", "concat", "addto", "max_id",
           "classification_cost", "cross_entropy_cost", "square_error_cost", "regression_cost"]
