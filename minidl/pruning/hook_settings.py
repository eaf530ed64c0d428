"""The pruning hooks that carry out a :class:`~minidl.pruning.choice_table.Choice`.

    attrs = paddle.pruning.hooks_for(choice)                        # Hook('pruning', ...)
    attrs = paddle.pruning.hooks_for(choice, dynamic=True, inter_pass=1, end_pass=6)
    fc(input=x, size=512, param_attr=attrs.get("___fc_layer_0__.w0"))

The result maps each pruned weight's parameter name to a ``ParamAttr`` named after the
parameter and holding its update hook, so a network rebuilt with them names its parameters
as before (a saved tarball loads into it) and trains with the chosen sparsities. Weights the
choice leaves unpruned get no entry: ``attrs.get(name)`` is then None, a layer's default.
"""

from ..hooks.spec import Hook
from ..layers.attrs import ParamAttr
from .choice_table import Choice


class HookSettings(dict):
    """{parameter name: ParamAttr(name=..., update_hooks=Hook)}; ``hook(name)`` reads one
    hook (None for a weight left unpruned)."""

    def hook(self, name):
        attr = self.get(name)
        return attr.update_hooks[0] if attr is not None else None


def hooks_for(choice, dynamic=False, **schedule):
    """A :class:`HookSettings` with ``Hook('pruning', sparsity_ratio=ratio)`` per pruned
    weight, or with ``dynamic=True`` ``Hook('dynamic_pruning', upper_bound=ratio,
    **schedule)`` (``inter_pass``, ``end_pass``, ``curve``: the dynamic hook's arguments,
    checked by ``Hook``; the static hook takes none).
    """
    if not isinstance(choice, Choice):
        raise TypeError(f"hooks_for needs the Choice paddle.pruning.choose returns, "
                        f"got {choice!r:.80}")
    if not dynamic and schedule:
        raise ValueError(f"hooks_for: {sorted(schedule)} schedule the dynamic hook; give "
                         "dynamic=True, or no schedule for Hook('pruning')")
    settings = HookSettings()
    for name, ratio in choice.sparsities.items():
        hook = (Hook("dynamic_pruning", upper_bound=ratio, **schedule) if dynamic
                else Hook("pruning", sparsity_ratio=ratio))
        settings[name] = ParamAttr(name=name, update_hooks=hook)
    return settings
