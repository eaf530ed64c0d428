"""``paddle.optimizer``: update equations, regularization and model averaging.

>>> import minidl as paddle
>>> optimizer = paddle.optimizer.Momentum(
...     momentum=0.9, learning_rate=0.1 / 128,
...     regularization=paddle.optimizer.L2Regularization(rate=0.0005 * 128))

The trainer turns an optimizer into an updater with ``optimizer.create_updater(param_specs)``;
see :mod:`minidl.optim.updater` for that interface and :mod:`minidl.optim.rules` for the
formulas.
"""

from ..optim import (AdaDelta, AdaGrad, Adam, Adamax, DecayedAdaGrad, L2Regularization,
                     ModelAverage, Momentum, Optimizer, RMSProp)

__all__ = ["Momentum", "Adam", "Adamax", "AdaGrad", "DecayedAdaGrad", "AdaDelta", "RMSProp",
           "ModelAverage", "L2Regularization", "Optimizer"]
