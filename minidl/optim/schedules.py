"""Learning-rate schedules, as Paddle's ``LearningRateScheduler.cpp`` defined them.

Notation: ``lr`` is ``learning_rate``, ``a``/``b`` are ``learning_rate_decay_a``/``_b``,
``n`` is the number of samples processed *before* the current batch (Paddle's
``numSamplesProcessed`` passed to ``startBatch``), ``p`` the current pass id (from 0).

    constant     lr
    poly         lr * (1 + a*n) ** -b                 (the default; a = b = 0 is constant)
    caffe_poly   lr * (1 - n/a) ** b  for n <= a, 0 after
    exp          lr * a ** (n/b)
    discexp      lr * a ** floor(n/b)
    linear       max(lr - a*n, b)
    manual       lr * rate_i, i = first segment with n <= seg_i (past the last: the last rate)
    pass_manual  the same, indexed by the pass id p instead of n

``manual`` and ``pass_manual`` read ``learning_rate_args = "seg0:rate0,seg1:rate1,..."``, e.g.
``"10000:1.0,20000:0.1,30000:0.01"``: factor 1 while ``n <= 10000``, 0.1 while
``n <= 20000``, 0.01 from then on.

>>> schedule = make_schedule("discexp", 0.1, a=0.5, b=1000)
>>> schedule(num_samples=2500, pass_id=0)   # 0.1 * 0.5**2
0.025
"""

import bisect
import math

from .checks import non_negative, number, positive

OWNER = "learning_rate_schedule"


class Schedule:
    """A learning-rate schedule: ``schedule(num_samples, pass_id) -> rate``."""

    name = "schedule"
    #: the checks of ``a`` and of ``b`` (from ``optim.checks``; None: any value)
    checks = (None, None)

    def __init__(self, learning_rate, a=0.0, b=0.0):
        self.learning_rate = learning_rate
        self.a = a
        self.b = b
        for argument, value, check in zip(("learning_rate_decay_a", "learning_rate_decay_b"),
                                          (a, b), self.checks):
            if check is not None:
                check(f"{OWNER}={self.name!r}", argument, value)

    def __call__(self, num_samples, pass_id=0):
        raise NotImplementedError

    def __repr__(self):
        return f"<{self.name} schedule lr={self.learning_rate} a={self.a} b={self.b}>"


class Constant(Schedule):
    """``lr`` at every step."""

    name = "constant"

    def __call__(self, num_samples, pass_id=0):
        return self.learning_rate


class Poly(Schedule):
    """``lr * (1 + a*n) ** -b``; ``a >= 0`` keeps the base positive."""

    name = "poly"
    checks = (non_negative, None)

    def __call__(self, num_samples, pass_id=0):
        return self.learning_rate * (1.0 + self.a * num_samples) ** -self.b


class CaffePoly(Schedule):
    """``lr * (1 - n/a) ** b`` while ``n <= a``; 0 once ``n > a`` (training is over).

    ``a`` is the total number of samples to train on (Paddle's log message calls it
    ``decay_b``, but the code compares ``n`` with ``a``).
    """

    name = "caffe_poly"
    checks = (positive, non_negative)

    def __call__(self, num_samples, pass_id=0):
        if num_samples > self.a:
            return 0.0
        return self.learning_rate * (1.0 - num_samples / self.a) ** self.b


class Exp(Schedule):
    """``lr * a ** (n/b)``: multiplied by ``a`` every ``b`` samples, smoothly."""

    name = "exp"
    checks = (non_negative, positive)

    def __call__(self, num_samples, pass_id=0):
        return self.learning_rate * self.a ** (num_samples / self.b)


class DiscExp(Exp):
    """``lr * a ** floor(n/b)``: multiplied by ``a`` once every ``b`` samples."""

    name = "discexp"

    def __call__(self, num_samples, pass_id=0):
        return self.learning_rate * self.a ** math.floor(num_samples / self.b)


class Linear(Schedule):
    """``max(lr - a*n, b)``: falls by ``a`` per sample down to the floor ``b``."""

    name = "linear"
    checks = (non_negative, non_negative)

    def __call__(self, num_samples, pass_id=0):
        return max(self.learning_rate - self.a * num_samples, self.b)


def parse_segments(text, owner):
    """``"seg0:rate0,seg1:rate1,..."`` -> (boundaries, rates), or a ValueError.

    Boundaries are integers (sample counts or pass ids) and must increase; rates are
    non-negative numbers.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{owner}: learning_rate_args={text!r} must be a string "
                         "'seg0:rate0,seg1:rate1,...'")
    boundaries, rates = [], []
    for piece in text.split(","):
        segment, sep, rate = piece.partition(":")
        try:
            if not sep:
                raise ValueError
            boundaries.append(int(segment.strip()))
            rates.append(float(rate.strip()))
        except ValueError:
            raise ValueError(f"{owner}: learning_rate_args={text!r}: piece {piece!r} is not "
                             "'<integer segment>:<rate>'") from None
        non_negative(owner, f"rate of segment {boundaries[-1]} in learning_rate_args",
                     rates[-1])
    if any(later <= earlier for earlier, later in zip(boundaries, boundaries[1:])):
        raise ValueError(f"{owner}: learning_rate_args={text!r}: segment boundaries "
                         f"{boundaries} must increase")
    return boundaries, rates


class Manual(Schedule):
    """``lr * rate_i`` with ``i`` the first segment whose boundary ``n`` does not exceed.

    Boundaries are inclusive (``seg_{i-1} < n <= seg_i`` gives ``rate_i``); past the last
    boundary the last rate stays in force.
    """

    name = "manual"

    def __init__(self, learning_rate, a=0.0, b=0.0, args=""):
        super().__init__(learning_rate, a, b)
        self.boundaries, self.rates = parse_segments(args, f"{OWNER}={self.name!r}")

    def factor(self, position):
        i = bisect.bisect_left(self.boundaries, position)  # first boundary >= position
        return self.rates[min(i, len(self.rates) - 1)]

    def __call__(self, num_samples, pass_id=0):
        return self.learning_rate * self.factor(num_samples)


class PassManual(Manual):
    """:class:`Manual` indexed by the pass id: ``"1:1.0,3:0.1"`` is 1.0 for passes 0-1,
    0.1 from pass 2 on."""

    name = "pass_manual"

    def __call__(self, num_samples, pass_id=0):
        return self.learning_rate * self.factor(pass_id)


SCHEDULES = {cls.name: cls for cls in
             (Constant, Poly, CaffePoly, Exp, DiscExp, Linear, Manual, PassManual)}


def make_schedule(name, learning_rate, a=0.0, b=0.0, args=""):
    """The schedule called ``name`` (Paddle's ``learning_rate_schedule``), checked."""
    if name not in SCHEDULES:
        raise ValueError(f"learning_rate_schedule={name!r} is unknown; expected one of "
                         f"{sorted(SCHEDULES)}")
    learning_rate = non_negative("optimizer", "learning_rate", learning_rate)
    a = number("optimizer", "learning_rate_decay_a", a)
    b = number("optimizer", "learning_rate_decay_b", b)
    cls = SCHEDULES[name]
    if issubclass(cls, Manual):
        return cls(learning_rate, a, b, args=args)
    return cls(learning_rate, a, b)
