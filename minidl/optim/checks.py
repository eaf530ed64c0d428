"""Argument checks shared by the optimizer classes: bad values fail at construction."""

import math
import numbers


def number(owner, argument, value, low=None, high=None, low_open=False, high_open=False):
    """``value`` as a float, or a ValueError naming ``owner``, the argument and the value.

    ``low``/``high`` bound it (inclusive unless ``low_open``/``high_open``).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(float(value)):
        raise ValueError(f"{owner}: {argument}={value!r} must be a finite number")
    value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        span = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise ValueError(f"{owner}: {argument}={value!r} must be in {span}")
    return value


def unit_interval(owner, argument, value):
    """A decay factor such as momentum, beta or rho: a number in ``[0, 1)``."""
    return number(owner, argument, value, low=0.0, high=1.0, high_open=True)


def positive(owner, argument, value):
    return number(owner, argument, value, low=0.0, low_open=True)


def non_negative(owner, argument, value):
    return number(owner, argument, value, low=0.0)
