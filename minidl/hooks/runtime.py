"""Attach the pruning algorithm to parameters: one :class:`~minidl.pruning.masks.PruningHook`
per ``Hook`` in a parameter's ``ParamAttr(update_hooks=...)``.

The masks, their schedule and the five calls through which the trainer drives them are the
pruning algorithm and live in :mod:`minidl.pruning`; this module only turns the declared hooks
of each parameter into running ones.
"""

from ..pruning.masks import PruningHook


def build_update_hooks(specs):
    """{parameter name: [PruningHook, ...]} for every parameter whose ParamAttr has hooks."""
    runtimes = {}
    for name, spec in specs.items():
        hooks = list(spec.attr.update_hooks)
        if hooks and spec.static:
            raise ValueError(f"parameter {name}: update_hooks on a static parameter")
        if hooks:
            runtimes[name] = [PruningHook(name, hook) for hook in hooks]
    return runtimes
