"""Parameter update hooks: ``Hook('pruning', ...)`` and ``Hook('dynamic_pruning', ...)``.

A hook is attached with ``ParamAttr(update_hooks=Hook(...))`` (or a list of hooks). Its
arguments are validated here, when the attribute is built -- long before training -- so a
typo fails at graph construction with the argument's name and value.
"""

from .spec import HOOK_TYPES, Hook, HookAttr, as_hook_list

__all__ = ["HOOK_TYPES", "Hook", "HookAttr", "as_hook_list"]
