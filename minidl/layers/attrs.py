"""``paddle.attr``: parameter, layer and hook attributes."""

import numbers

from ..hooks import Hook, HookAttr, as_hook_list


def _check_number(name, value, minimum=None):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"ParamAttr {name}={value!r} must be a number")
    if minimum is not None and value < minimum:
        raise ValueError(f"ParamAttr {name}={value!r} must be >= {minimum}")
    return float(value)


class ParamAttr:
    """How one parameter is initialised, regularised and updated.

    Initialisation: ``initializer(name) -> array`` if given; else uniform in
    ``[initial_min, initial_max]`` if both are given; else normal with ``initial_mean``
    and ``initial_std``; unset values take the layer's default ("smart" initialisation:
    ``1/sqrt(fan_in)`` for fc weights, ``sqrt(2/(k*k*C))`` for conv weights, 0 for biases).
    """

    def __init__(self, name=None, is_static=False, initial_std=None, initial_mean=None,
                 initial_max=None, initial_min=None, l1_rate=None, l2_rate=None,
                 learning_rate=None, momentum=None, gradient_clipping_threshold=None,
                 sparse_update=False, update_hooks=None, initializer=None):
        self.name = name
        self.is_static = bool(is_static)
        self.initial_std = _check_number("initial_std", initial_std, 0.0)
        self.initial_mean = _check_number("initial_mean", initial_mean)
        self.initial_max = _check_number("initial_max", initial_max)
        self.initial_min = _check_number("initial_min", initial_min)
        if (self.initial_max is None) != (self.initial_min is None):
            raise ValueError("ParamAttr: give both initial_min and initial_max, or neither")
        if self.initial_max is not None and self.initial_min > self.initial_max:
            raise ValueError(f"ParamAttr initial_min={initial_min} > initial_max={initial_max}")
        self.l1_rate = _check_number("l1_rate", l1_rate, 0.0)
        self.l2_rate = _check_number("l2_rate", l2_rate, 0.0)
        self.learning_rate = _check_number("learning_rate", learning_rate, 0.0)
        self.momentum = _check_number("momentum", momentum, 0.0)
        self.gradient_clipping_threshold = _check_number(
            "gradient_clipping_threshold", gradient_clipping_threshold, 0.0)
        self.sparse_update = bool(sparse_update)
        self.update_hooks = as_hook_list(update_hooks)
        if self.update_hooks and self.is_static:
            raise ValueError(f"ParamAttr update_hooks={self.update_hooks!r} on a static "
                             "parameter (is_static=True): a static parameter is never updated")
        if initializer is not None and not callable(initializer):
            raise ValueError(f"ParamAttr initializer={initializer!r} must be callable")
        self.initializer = initializer

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items()
                           if v not in (None, False, []))
        return f"ParamAttr({fields})"


Param = ParamAttr


class ExtraAttr:
    """Extra layer attributes: ``drop_rate`` applies Paddle's dropout to the output."""

    def __init__(self, error_clipping_threshold=None, drop_rate=None, device=None):
        if drop_rate is not None and not 0.0 <= drop_rate < 1.0:
            raise ValueError(f"ExtraAttr drop_rate={drop_rate!r} must be in [0, 1)")
        self.error_clipping_threshold = error_clipping_threshold
        self.drop_rate = drop_rate
        self.device = device


Extra = ExtraAttr
ExtraLayerAttribute = ExtraAttr
ParameterAttribute = ParamAttr

__all__ = ["ParamAttr", "Param", "ExtraAttr", "Extra", "Hook", "HookAttr",
           "ParameterAttribute", "ExtraLayerAttribute"]
