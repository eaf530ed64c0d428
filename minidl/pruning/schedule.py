"""Sparsity schedules of ``Hook('dynamic_pruning')``: which pass changes the mask, and to what.

With upper bound ``U``, interval ``I`` and end pass ``E``:

==========  ===========================================  =========================
curve       s(p) for p < E                                 source
==========  ===========================================  =========================
``log``     ``U ln(1 + p/I) / ln(1 + E/I)``               minidl (default)
``paddle``  ``U ln(2 + p/I) / ln(2 + E/I)``               Paddle's unmerged PR
``cubic``   ``U (1 - (1 - p/E)^3)``                       Zhu & Gupta 2017 (AGP)
``linear``  ``U p / E``
==========  ===========================================  =========================

and ``s(p) = U`` from ``E`` on. Change points are the multiples of ``I`` up to ``E``, and
``E`` itself; between them the mask is left alone, after ``E`` it is frozen.
"""

import math


def scheduled_sparsity(curve, upper_bound, inter_pass, end_pass, pass_id):
    """Target sparsity of pass ``pass_id`` (the value in force at its change point)."""
    U, I, E = upper_bound, inter_pass, end_pass
    p = min(pass_id, E)
    if p >= E:
        return U
    if curve == "log":
        return U * math.log(1 + p / I) / math.log(1 + E / I)
    if curve == "paddle":
        return U * math.log(2 + p / I) / math.log(2 + E / I)
    if curve == "cubic":
        return U * (1 - (1 - p / E) ** 3)
    if curve == "linear":
        return U * p / E
    raise ValueError(f"unknown sparsity curve {curve!r}")


def is_change_point(inter_pass, end_pass, pass_id):
    """True at multiples of ``inter_pass`` up to ``end_pass``, and at ``end_pass``."""
    return pass_id == end_pass or (pass_id <= end_pass and pass_id % inter_pass == 0)


def target_at(hook, pass_id):
    """The sparsity a hook aims at during ``pass_id`` (last change point at or before it)."""
    if hook.type == "pruning":
        return hook.sparsity_ratio
    last = min(pass_id, hook.end_pass)
    while last > 0 and not is_change_point(hook.inter_pass, hook.end_pass, last):
        last -= 1
    return scheduled_sparsity(hook.curve, hook.upper_bound, hook.inter_pass, hook.end_pass, last)
