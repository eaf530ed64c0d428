"""``Hook``: the declarative description of a pruning hook, validated on construction."""

import math
import numbers

HOOK_TYPES = ("pruning", "dynamic_pruning")
CURVES = ("log", "paddle", "cubic", "linear")


def _ratio(argument, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value) \
            or not 0.0 <= float(value) < 1.0:
        raise ValueError(f"Hook argument {argument}={value!r} must be a number in [0, 1)")
    return float(value)


def _count(argument, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"Hook argument {argument}={value!r} must be an integer >= {minimum}")
    return int(value)


class Hook:
    """An update hook of a parameter.

    >>> Hook('pruning', sparsity_ratio=0.8)
    >>> Hook('dynamic_pruning', upper_bound=0.8, inter_pass=3, end_pass=60, curve='log')

    ``dynamic_pruning`` also accepts the keyword spellings of Paddle's pull request,
    ``sparsity_upper_bound`` and ``interval_pass``; its defaults are ``inter_pass=3``,
    ``end_pass=60``, ``curve='log'``. An argument of the other hook type is rejected
    (``Hook('pruning', sparsity_ratio=0.5, inter_pass=2)`` raises): it would be ignored.
    """

    #: the arguments each hook type takes (besides ``type``)
    ARGUMENTS = {"pruning": ("sparsity_ratio",),
                 "dynamic_pruning": ("upper_bound", "sparsity_upper_bound", "inter_pass",
                                     "interval_pass", "end_pass", "curve")}

    def __init__(self, type, sparsity_ratio=None, upper_bound=None, inter_pass=None,
                 end_pass=None, curve=None, sparsity_upper_bound=None, interval_pass=None):
        if type not in HOOK_TYPES:
            raise ValueError(f"Hook type {type!r} is not supported; expected one of {HOOK_TYPES}")
        self.type = type
        given = {"sparsity_ratio": sparsity_ratio, "upper_bound": upper_bound,
                 "sparsity_upper_bound": sparsity_upper_bound, "inter_pass": inter_pass,
                 "interval_pass": interval_pass, "end_pass": end_pass, "curve": curve}
        foreign = [name for name, value in given.items()
                   if value is not None and name not in self.ARGUMENTS[type]]
        if foreign:
            other = "dynamic_pruning" if type == "pruning" else "pruning"
            raise ValueError(
                f"Hook({type!r}) does not take {', '.join(foreign)} (only Hook({other!r}) "
                f"does); Hook({type!r}) takes {', '.join(self.ARGUMENTS[type])}")
        if type == "pruning":
            if sparsity_ratio is None:
                raise ValueError("Hook('pruning') needs sparsity_ratio, a number in [0, 1)")
            self.sparsity_ratio = _ratio("sparsity_ratio", sparsity_ratio)
            return
        if upper_bound is not None and sparsity_upper_bound is not None:
            raise ValueError("Hook('dynamic_pruning'): give upper_bound or sparsity_upper_bound, "
                             "not both")
        if inter_pass is not None and interval_pass is not None:
            raise ValueError("Hook('dynamic_pruning'): give inter_pass or interval_pass, "
                             "not both")
        bound = upper_bound if upper_bound is not None else sparsity_upper_bound
        if bound is None:
            raise ValueError("Hook('dynamic_pruning') needs upper_bound, a number in [0, 1)")
        self.upper_bound = _ratio("upper_bound", bound)
        interval = inter_pass if inter_pass is not None else interval_pass
        self.inter_pass = _count("inter_pass", 3 if interval is None else interval, 1)
        self.end_pass = _count("end_pass", 60 if end_pass is None else end_pass, 1)
        if self.end_pass < self.inter_pass:
            raise ValueError(f"Hook argument end_pass={self.end_pass!r} must be >= "
                             f"inter_pass={self.inter_pass}")
        curve = "log" if curve is None else curve
        if curve not in CURVES:
            raise ValueError(f"Hook argument curve={curve!r} is unknown; expected one of {CURVES}")
        self.curve = curve

    @property
    def sparsity(self):
        """The final sparsity: ``sparsity_ratio`` or ``upper_bound``."""
        return self.sparsity_ratio if self.type == "pruning" else self.upper_bound

    def __repr__(self):
        if self.type == "pruning":
            return f"Hook('pruning', sparsity_ratio={self.sparsity_ratio})"
        return (f"Hook('dynamic_pruning', upper_bound={self.upper_bound}, "
                f"inter_pass={self.inter_pass}, end_pass={self.end_pass}, curve={self.curve!r})")

    def __eq__(self, other):
        return isinstance(other, Hook) and vars(self) == vars(other)

    def __hash__(self):
        return hash(repr(self))


HookAttr = Hook


def as_hook_list(update_hooks):
    """None, a Hook or a list of Hooks -> list of Hooks (anything else is an error)."""
    if update_hooks is None:
        return []
    hooks = list(update_hooks) if isinstance(update_hooks, (list, tuple)) else [update_hooks]
    for hook in hooks:
        if not isinstance(hook, Hook):
            raise ValueError(f"update_hooks must be Hook objects, got {hook!r}")
    return hooks
