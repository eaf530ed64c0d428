"""The optimizer engine behind ``paddle.optimizer``.

    checks.py          argument checks (ValueError at construction)
    schedules.py       learning-rate schedules (constant, poly, caffe_poly, exp, ...)
    rules.py           one update rule per learning method (Momentum, Adam, AdaGrad, ...)
    regularization.py  L2Regularization, element-wise gradient clipping, L1 shrink
    average.py         ModelAverage and its running window sums
    updater.py         the Updater the trainer drives (its docstring is the interface)
    optimizers.py      the public classes
"""

from .average import ModelAverage
from .optimizers import (AdaDelta, AdaGrad, Adam, Adamax, DecayedAdaGrad, Momentum, Optimizer,
                         RMSProp)
from .regularization import L2Regularization
from .updater import Updater

__all__ = ["AdaDelta", "AdaGrad", "Adam", "Adamax", "DecayedAdaGrad", "L2Regularization",
           "ModelAverage", "Momentum", "Optimizer", "RMSProp", "Updater"]
