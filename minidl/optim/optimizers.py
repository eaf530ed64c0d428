"""The ``paddle.optimizer`` classes: settings checked at construction, plus the updater factory.

Every class takes the shared keywords of Paddle v2's ``Optimizer``::

    learning_rate=1e-3, learning_rate_decay_a=0., learning_rate_decay_b=0.,
    learning_rate_schedule='poly', learning_rate_args='', regularization=None,
    model_average=None, gradient_clipping_threshold=None, batch_size (ignored)

>>> opt = Momentum(momentum=0.9, learning_rate=0.1 / 128,
...                regularization=L2Regularization(0.0005 * 128))
>>> updater = opt.create_updater(network.param_specs)

The update formulas are in :mod:`minidl.optim.rules`, the schedules in
:mod:`minidl.optim.schedules`, the engine in :mod:`minidl.optim.updater`.

Departures from Paddle v2's C++ (documented where they happen): the learning-rate schedule
applies to every rule (Paddle's Adam, Adamax and AdaGrad kept the base rate whatever the
schedule); L2 decay applies to Adam and Adamax (Paddle ignored it there).
"""

from . import rules
from .average import ModelAverage
from .checks import non_negative, positive, unit_interval
from .regularization import L2Regularization
from .schedules import make_schedule
from .updater import Updater


class Optimizer:
    """Base of the update equations; subclasses set ``self.rule``."""

    #: momentum of the parameters whose ParamAttr sets none
    default_momentum = 0.0

    def __init__(self, learning_rate=1e-3, learning_rate_decay_a=0.0, learning_rate_decay_b=0.0,
                 learning_rate_schedule="poly", learning_rate_args="", regularization=None,
                 model_average=None, gradient_clipping_threshold=None, batch_size=None):
        # batch_size: accepted like Paddle v2 ("not important for python library")
        owner = type(self).__name__
        self.learning_rate = non_negative(owner, "learning_rate", learning_rate)
        self.learning_rate_schedule = learning_rate_schedule
        self.schedule = make_schedule(learning_rate_schedule, self.learning_rate,
                                      learning_rate_decay_a, learning_rate_decay_b,
                                      learning_rate_args)
        self.regularization = regularization
        self.l2_rate = _l2_rate(owner, regularization)
        if model_average is not None and not isinstance(model_average, ModelAverage):
            raise ValueError(f"{owner}: model_average={model_average!r} must be a "
                             "ModelAverage or None")
        self.model_average = model_average
        self.gradient_clipping_threshold = None if gradient_clipping_threshold is None else \
            non_negative(owner, "gradient_clipping_threshold", gradient_clipping_threshold)

    def create_updater(self, param_specs):
        """An :class:`~minidl.optim.updater.Updater` for ``param_specs`` (name -> ParamSpec)."""
        return Updater(self, param_specs)

    def __repr__(self):
        return (f"{type(self).__name__}({self.rule!r}, learning_rate={self.learning_rate}, "
                f"schedule={self.schedule!r}, l2={self.l2_rate}, "
                f"clip={self.gradient_clipping_threshold}, average={self.model_average!r})")


def _l2_rate(owner, regularization):
    """The global L2 rate of ``regularization`` (None, an L2Regularization, or a list of one)."""
    if regularization is None:
        return 0.0
    items = list(regularization) if isinstance(regularization, (list, tuple)) \
        else [regularization]
    if len(items) > 1 or not all(isinstance(item, L2Regularization) for item in items):
        raise ValueError(f"{owner}: regularization={regularization!r} must be None or one "
                         "L2Regularization")
    return items[0].rate if items else 0.0


class Momentum(Optimizer):
    """SGD with momentum: ``mom = mu*mom - lr*(g + d*w); w += mom`` (:class:`MomentumRule`).

    ``momentum=None`` means 0 (plain SGD), as in Paddle. ``sparse=True`` selected Paddle's
    sparse-momentum updater, whose dense path is this same rule; it is accepted and kept.
    """

    def __init__(self, momentum=None, sparse=False, **kw):
        super().__init__(**kw)
        self.momentum = 0.0 if momentum is None else unit_interval("Momentum", "momentum",
                                                                    momentum)
        self.default_momentum = self.momentum
        if not isinstance(sparse, bool):
            raise ValueError(f"Momentum: sparse={sparse!r} must be True or False")
        self.sparse = sparse
        self.rule = rules.MomentumRule()


class Adam(Optimizer):
    """Adam, see :class:`~minidl.optim.rules.AdamRule`."""

    def __init__(self, beta1=0.9, beta2=0.999, epsilon=1e-8, **kw):
        super().__init__(**kw)
        self.rule = rules.AdamRule(unit_interval("Adam", "beta1", beta1),
                                   unit_interval("Adam", "beta2", beta2),
                                   positive("Adam", "epsilon", epsilon))


class Adamax(Optimizer):
    """Adamax, see :class:`~minidl.optim.rules.AdamaxRule`."""

    def __init__(self, beta1=0.9, beta2=0.999, **kw):
        super().__init__(**kw)
        self.rule = rules.AdamaxRule(unit_interval("Adamax", "beta1", beta1),
                                     unit_interval("Adamax", "beta2", beta2))


class AdaGrad(Optimizer):
    """AdaGrad with Paddle's ``ada_epsilon`` 1e-6, see :class:`~minidl.optim.rules.AdaGradRule`."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.rule = rules.AdaGradRule(epsilon=1e-6)


class DecayedAdaGrad(Optimizer):
    """AdaGrad with a decaying sum, see :class:`~minidl.optim.rules.DecayedAdaGradRule`."""

    def __init__(self, rho=0.95, epsilon=1e-06, **kw):
        super().__init__(**kw)
        self.rule = rules.DecayedAdaGradRule(unit_interval("DecayedAdaGrad", "rho", rho),
                                             positive("DecayedAdaGrad", "epsilon", epsilon))


class AdaDelta(Optimizer):
    """AdaDelta, see :class:`~minidl.optim.rules.AdaDeltaRule`."""

    def __init__(self, rho=0.95, epsilon=1e-06, **kw):
        super().__init__(**kw)
        self.rule = rules.AdaDeltaRule(unit_interval("AdaDelta", "rho", rho),
                                       positive("AdaDelta", "epsilon", epsilon))


class RMSProp(Optimizer):
    """Paddle's centred RMSProp, see :class:`~minidl.optim.rules.RMSPropRule`."""

    def __init__(self, rho=0.95, epsilon=1e-6, **kw):
        super().__init__(**kw)
        self.rule = rules.RMSPropRule(unit_interval("RMSProp", "rho", rho),
                                      positive("RMSProp", "epsilon", epsilon))


__all__ = ["Optimizer", "Momentum", "Adam", "Adamax", "AdaGrad", "DecayedAdaGrad", "AdaDelta",
           "RMSProp", "L2Regularization", "ModelAverage"]
