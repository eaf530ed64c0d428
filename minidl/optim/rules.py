"""Update rules: one small class per ``learning_method`` of Paddle.

Each rule updates one parameter in place from its gradient, following Paddle's
``paddle/math/TrainingAlgorithmOp.cu`` (``sgdUpdate``, ``adagradApply``, ...) term by term.

Notation (element-wise, every array has the parameter's shape)::

    w      value, updated in place             g      gradient: the SUM over the batch
    lr     global rate (after the schedule) x the parameter's ParamAttr learning_rate
    mu     momentum of the parameter           d      L2 decay rate of the parameter
    t      1-based batch number (Adam's bias correction; first batch of RMSProp)

Where L2 decay enters: for Momentum and the adaptive-rate rules Paddle adds ``d*w`` to the
gradient in the *momentum step only* -- the accumulated squares use the raw ``g``. For Adam
and Adamax see their docstrings.

``apply`` returns the per-element adaptive rate ``r`` of the rules that have one (Paddle's
``PARAMETER_LEARNING_RATE`` buffer) or None; the L1 regularizer scales its shrink by it.
With ``want_rate=False`` (no L1 shrink follows) a rule may skip building that array.

All arithmetic goes through ``xp = get_array_module(w)`` with in-place updates on the slot
arrays, so the same code runs on NumPy and CuPy arrays. On the ``cpu`` backend Momentum and
AdaGrad run the same arithmetic as one Numba loop instead (:mod:`.fused_steps`).
"""

from ..core.xp import get_array_module
from .fused_steps import adagrad_update, momentum_update, runs_fused


class UpdateRule:
    """How a parameter moves given its gradient; ``slots`` are the rule's state arrays."""

    name = "rule"
    #: names of the state arrays, each shaped like the parameter, starting at zero
    slots = ()
    #: whether ParamAttr/optimizer momentum takes part (Paddle's ``mom`` buffer)
    uses_momentum = True

    def init_slots(self, value):
        xp = get_array_module(value)
        return {slot: xp.zeros_like(value) for slot in self.slots}

    def apply(self, value, grad, state, lr, momentum, decay, step, want_rate=True):
        """Update ``value`` in place; return the adaptive rate array or None."""
        raise NotImplementedError

    def __repr__(self):
        hyper = ", ".join(f"{k}={v}" for k, v in vars(self).items())
        return f"{type(self).__name__}({hyper})"


def momentum_step(value, grad, mom, lr, momentum, decay, rate=None):
    """Paddle's ``sgdUpdate``: ``mom = mu*mom - lr*r*(g + d*w);  w += mom``.

    One temporary and in-place passes: the update reads every weight-sized array a few
    times, which at small batches costs as much as the products of the step itself.
    """
    xp = get_array_module(value)
    step = grad if decay == 0 else grad + decay * value
    scaled = rate * step if rate is not None else step * lr
    if rate is not None:
        scaled *= lr
    if momentum == 0:                       # plain SGD: mom = 0 - lr*r*step
        xp.subtract(0.0, scaled, out=mom)
    else:
        mom *= momentum
        mom -= scaled
    value += mom


def running_average(average, rho, new, first=False):
    """``average = rho * average + (1 - rho) * new``, in place; on the ``first`` batch the
    whole of ``new`` is added (the slot is still zero then, so the average starts at ``new``
    rather than at a too small ``(1 - rho) * new``)."""
    average *= rho
    average += (1.0 if first else 1.0 - rho) * new


class MomentumRule(UpdateRule):
    """SGD with momentum (Paddle ``momentum``)::

        mom = mu * mom - lr * (g + d * w)
        w   = w + mom

    With ``mu = 0`` this is plain SGD: ``w -= lr * (g + d*w)``.
    """

    name = "momentum"
    slots = ("momentum",)

    def apply(self, value, grad, state, lr, momentum, decay, step, want_rate=True):
        if runs_fused(value, grad, state["momentum"]):
            momentum_update(value, grad, state["momentum"], lr, momentum, decay)
        else:
            momentum_step(value, grad, state["momentum"], lr, momentum, decay)
        return None


class AdaGradRule(UpdateRule):
    """AdaGrad (Paddle ``adagrad``, Duchi et al. 2011)::

        G   = G + g**2
        r   = 1 / sqrt(G + eps)
        mom = mu * mom - lr * r * (g + d * w)
        w   = w + mom

    ``eps`` is Paddle's ``ada_epsilon`` (1e-6). Paddle split ``G`` over two float32 buffers
    every 16384 batches to limit rounding; one buffer is kept here.
    """

    name = "adagrad"
    slots = ("momentum", "sum_squares")

    def __init__(self, epsilon=1e-6):
        self.epsilon = epsilon

    def apply(self, value, grad, state, lr, momentum, decay, step, want_rate=True):
        total, mom = state["sum_squares"], state["momentum"]
        if runs_fused(value, grad, total, mom):
            adagrad_update(value, grad, total, mom, lr, momentum, decay, self.epsilon)
            return self._rate(total) if want_rate else None
        total += grad * grad
        rate = self._rate(total)
        momentum_step(value, grad, mom, lr, momentum, decay, rate)
        return rate

    def _rate(self, total):
        """``1 / sqrt(G + eps)``, in one new array."""
        xp = get_array_module(total)
        rate = total + self.epsilon
        xp.sqrt(rate, out=rate)
        xp.divide(1.0, rate, out=rate)
        return rate


class _RunningAverageRule(UpdateRule):
    """A rule that keeps running averages that forget at ``rho``, and adds ``epsilon``
    under its square roots."""

    def __init__(self, rho=0.95, epsilon=1e-6):
        self.rho = rho
        self.epsilon = epsilon


class DecayedAdaGradRule(_RunningAverageRule):
    """AdaGrad with a decaying sum (Paddle ``decayed_adagrad``)::

        E   = rho * E + (1 - rho) * g**2        (first batch: E = g**2)
        r   = 1 / sqrt(E + eps)
        mom = mu * mom - lr * r * (g + d * w)
        w   = w + mom

    The first batch takes the whole ``g**2`` so the first estimate is not too small.
    """

    name = "decayed_adagrad"
    slots = ("momentum", "mean_square")

    def apply(self, value, grad, state, lr, momentum, decay, step, want_rate=True):
        xp = get_array_module(value)
        mean_square = state["mean_square"]
        running_average(mean_square, self.rho, grad * grad, first=step == 1)
        rate = 1.0 / xp.sqrt(mean_square + self.epsilon)
        momentum_step(value, grad, state["momentum"], lr, momentum, decay, rate)
        return rate


class AdaDeltaRule(_RunningAverageRule):
    """AdaDelta (Paddle ``adadelta``, Zeiler 2012)::

        Eg  = rho * Eg + (1 - rho) * g**2
        r   = sqrt((Edx + eps) / (Eg + eps))
        Edx = rho * Edx + (1 - rho) * (g * r)**2
        mom = mu * mom - lr * r * (g + d * w)
        w   = w + mom

    Unlike the paper, the step is still scaled by ``lr`` (use ``learning_rate=1`` for the
    paper's rule).
    """

    name = "adadelta"
    slots = ("momentum", "mean_square", "mean_square_delta")

    def apply(self, value, grad, state, lr, momentum, decay, step, want_rate=True):
        xp = get_array_module(value)
        rho, eps = self.rho, self.epsilon
        mean_square, mean_delta = state["mean_square"], state["mean_square_delta"]
        running_average(mean_square, rho, grad * grad)
        rate = xp.sqrt((mean_delta + eps) / (mean_square + eps))
        scaled = grad * rate
        running_average(mean_delta, rho, scaled * scaled)
        momentum_step(value, grad, state["momentum"], lr, momentum, decay, rate)
        return rate


class RMSPropRule(_RunningAverageRule):
    """RMSProp as Paddle implemented it (``rmsprop``): the *centred* variant::

        Eg2 = rho * Eg2 + (1 - rho) * g**2      (first batch: Eg2 = g**2)
        Eg  = rho * Eg  + (1 - rho) * g
        r   = 1 / sqrt(Eg2 - Eg**2 + eps)
        mom = mu * mom - lr * r * (g + d * w)
        w   = w + mom

    Subtracting ``Eg**2`` divides by an estimate of the gradient's standard deviation, so
    the rate drops where the gradient's sign keeps changing.
    """

    name = "rmsprop"
    slots = ("momentum", "mean_square", "mean")

    def apply(self, value, grad, state, lr, momentum, decay, step, want_rate=True):
        xp = get_array_module(value)
        rho = self.rho
        mean_square, mean = state["mean_square"], state["mean"]
        running_average(mean_square, rho, grad * grad, first=step == 1)
        running_average(mean, rho, grad)
        rate = 1.0 / xp.sqrt(mean_square - mean * mean + self.epsilon)
        momentum_step(value, grad, state["momentum"], lr, momentum, decay, rate)
        return rate


class AdamRule(UpdateRule):
    """Adam (Paddle ``adam``, Kingma & Ba 2014, Algorithm 1)::

        g'    = g + d * w                               (minidl; see below)
        m     = beta1 * m + (1 - beta1) * g'
        v     = beta2 * v + (1 - beta2) * g'**2
        alpha = lr * sqrt(1 - beta2**t) / (1 - beta1**t)
        w     = w - alpha * m / (sqrt(v) + eps)

    ``eps`` is added to ``sqrt(v)`` of the *uncorrected* ``v`` (Paddle's and the paper's
    "efficient" form). ParamAttr momentum plays no part.

    L2 decay: Paddle v2's ``adamApply`` ignored ``decay_rate`` altogether, so
    ``L2Regularization`` had no effect on Adam (PaddlePaddle issues #2088 and #5836, which
    its maintainers filed as a bug). minidl adds ``d*w`` to the gradient, the ordinary
    L2-penalty gradient, so the regularization the user asked for happens.
    """

    name = "adam"
    slots = ("first_moment", "second_moment")
    uses_momentum = False

    def __init__(self, beta1=0.9, beta2=0.999, epsilon=1e-8):
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    def apply(self, value, grad, state, lr, momentum, decay, step, want_rate=True):
        xp = get_array_module(value)
        b1, b2 = self.beta1, self.beta2
        if decay:
            grad = grad + decay * value
        m, v = state["first_moment"], state["second_moment"]
        running_average(m, b1, grad)
        running_average(v, b2, grad * grad)
        alpha = lr * (1.0 - b2 ** step) ** 0.5 / (1.0 - b1 ** step)
        value -= alpha * (m / (xp.sqrt(v) + self.epsilon))
        return None


class AdamaxRule(UpdateRule):
    """Adamax (Paddle ``adamax``, Kingma & Ba 2014, Algorithm 2)::

        g' = g + d * w                                  (minidl; see AdamRule)
        m  = beta1 * m + (1 - beta1) * g'
        u  = max(beta2 * u, |g'|)
        w  = w - (lr / (1 - beta1**t)) * m / u

    ``u == 0`` only where every gradient so far was 0, hence ``m == 0``: the step is taken
    as 0 there (Paddle divided 0 by 0).
    """

    name = "adamax"
    slots = ("first_moment", "infinity_norm")
    uses_momentum = False

    def __init__(self, beta1=0.9, beta2=0.999):
        self.beta1 = beta1
        self.beta2 = beta2

    def apply(self, value, grad, state, lr, momentum, decay, step, want_rate=True):
        xp = get_array_module(value)
        b1 = self.beta1
        if decay:
            grad = grad + decay * value
        m, u = state["first_moment"], state["infinity_norm"]
        running_average(m, b1, grad)
        u *= self.beta2
        xp.maximum(u, xp.abs(grad), out=u)
        ratio = m / xp.where(u > 0, u, 1.0)
        value -= (lr / (1.0 - b1 ** step)) * ratio
        return None
