"""Argument checks shared by the reader decorators and ``paddle.batch``."""

import numbers


def check_count(caller, name, value, allow_zero=False):
    """Raise ValueError unless ``value`` is an integer > 0 (or >= 0 with ``allow_zero``)."""
    lowest = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lowest:
        wanted = "a non-negative integer" if allow_zero else "a positive integer"
        raise ValueError(f"{caller}: {name} must be {wanted}, got {value!r}")
