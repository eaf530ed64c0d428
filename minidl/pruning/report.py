"""Per-parameter sparsity reports: what each parameter holds, and what its hook aims at.

    rows = sparsity_report(parameters)                # or a trainer, or hooks=...
    print(format_report(rows))

    reporter = SparsityReporter(trainer)              # an event handler
    trainer.train(reader, num_passes=60, event_handler=reporter)
    reporter.history["___fc_layer_0__.w0"]            # [HistoryPoint(pass_id, target, sparsity)]

Every parameter gets a row; those without a hook show ``-`` and target None. A value
counts as zero when it equals 0.0 (so -0.0, which pruning leaves behind, is a zero).

Where the hooks come from:

* ``hooks=`` when given: ``{name: Hook | PruningHook | [...]}``;
* a trainer's ``hooks`` (its runtime ``PruningHook`` objects) when given a trainer;
* otherwise each parameter's own: its layer's ``ParamAttr`` when the parameters were
  created from a network, else the tarball's ``update_hooks``. A tarball keeps only a
  dynamic hook's type and upper bound, so its schedule is unknown: it is described as
  ``dynamic_pruning U=0.8 (schedule not saved)`` and its target is ``U``.

The target at ``pass_id`` is :func:`minidl.hooks.schedule.target_at` (the largest, when a
parameter has several hooks). Without ``pass_id``: a runtime hook's ``current_target``
(what its mask aims at now), otherwise the hook's final sparsity.
"""

import sys
from dataclasses import dataclass

import numpy as np

from .masks import PruningHook
from .schedule import target_at
from ..hooks.spec import Hook


@dataclass
class ReportRow:
    """One parameter: ``size`` values of which ``nonzeros`` are not 0.0."""

    name: str
    shape: tuple
    size: int
    nonzeros: int
    sparsity: float          # zeros / size
    hook: str                # e.g. "pruning 0.8", "-" without hook
    target: float | None     # scheduled sparsity, None without hook
    stored: str | None = None  # "dense" / "compact" when read from a file

    def as_dict(self):
        return {"name": self.name, "shape": list(self.shape), "size": self.size,
                "nonzeros": self.nonzeros, "sparsity": self.sparsity, "hook": self.hook,
                "target": self.target, "stored": self.stored}


@dataclass
class HistoryPoint:
    """A parameter at the end of a pass: the scheduled target and the sparsity reached."""

    pass_id: int
    target: float | None
    sparsity: float


def describe_hook(hook, schedule_known=True):
    """``"pruning 0.8"``, ``"dynamic_pruning log U=0.8 I=3 E=60"``."""
    if hook.type == "pruning":
        return f"pruning {hook.sparsity_ratio:g}"
    if not schedule_known:
        return f"dynamic_pruning U={hook.upper_bound:g} (schedule not saved)"
    return (f"dynamic_pruning {hook.curve} U={hook.upper_bound:g} I={hook.inter_pass} "
            f"E={hook.end_pass}")


def _as_list(hooks):
    if hooks is None:
        return []
    return list(hooks) if isinstance(hooks, (list, tuple)) else [hooks]


def _target(entry, schedule_known, pass_id):
    """Target of one hook entry (a Hook or a PruningHook) at ``pass_id``."""
    hook = entry.hook if isinstance(entry, PruningHook) else entry
    if not schedule_known:
        return hook.sparsity
    if pass_id is not None:
        return target_at(hook, pass_id)
    if isinstance(entry, PruningHook):
        return entry.current_target
    return hook.sparsity


def _hook_entries(parameters, name, hooks, runtime):
    """``(entries, schedule_known)`` for one parameter."""
    if hooks is not None:
        return _as_list(hooks.get(name)), True
    if runtime is not None:
        return _as_list(runtime.get(name)), True
    # a parameter read from a tarball has no spec: its hooks come from the saved config
    return parameters.hooks(name), parameters.spec(name) is not None


def sparsity_report(source, hooks=None, pass_id=None):
    """One :class:`ReportRow` per parameter, in the parameters' order.

    ``source``: a ``Parameters`` or a trainer (``paddle.trainer.SGD``). ``hooks``: optional
    ``{name: Hook | PruningHook | list}`` overriding where hooks come from.
    """
    parameters = getattr(source, "parameters", source)
    runtime = getattr(source, "hooks", None) if source is not parameters else None
    rows = []
    for name in parameters.names():
        values = parameters.get(name)
        size = int(values.size)
        nonzeros = int(np.count_nonzero(values))
        entries, known = _hook_entries(parameters, name, hooks, runtime)
        for entry in entries:
            if not isinstance(entry, (Hook, PruningHook)):
                raise TypeError(f"hooks of {name} must be Hook or PruningHook objects, "
                                f"got {entry!r}")
        described = [describe_hook(e.hook if isinstance(e, PruningHook) else e, known)
                     for e in entries]
        targets = [_target(e, known, pass_id) for e in entries]
        rows.append(ReportRow(
            name=name, shape=tuple(values.shape), size=size, nonzeros=nonzeros,
            sparsity=(size - nonzeros) / size if size else 0.0,
            hook="; ".join(described) or "-", target=max(targets) if targets else None))
    return rows


def totals(rows):
    """``(values, nonzeros, overall sparsity)`` of a report."""
    size = sum(row.size for row in rows)
    nonzeros = sum(row.nonzeros for row in rows)
    return size, nonzeros, (size - nonzeros) / size if size else 0.0


def format_report(rows):
    """An aligned text table of ``rows`` with a total line."""
    with_stored = any(row.stored is not None for row in rows)
    header = ["parameter", "shape", "size", "nonzeros", "sparsity", "target", "hook"]
    if with_stored:
        header.insert(6, "stored")
    table = []
    for row in rows:
        cells = [row.name, "x".join(str(d) for d in row.shape), f"{row.size:,}",
                 f"{row.nonzeros:,}", f"{row.sparsity:.4f}",
                 "-" if row.target is None else f"{row.target:.4f}", row.hook]
        if with_stored:
            cells.insert(6, row.stored or "-")
        table.append(cells)
    size, nonzeros, sparsity = totals(rows)
    total = [f"total ({len(rows)} parameters)", "", f"{size:,}", f"{nonzeros:,}",
             f"{sparsity:.4f}", "", ""] + ([""] if with_stored else [])
    widths = [max(len(line[i]) for line in [header, total] + table) for i in range(len(header))]
    numeric = {2, 3, 4, 5}  # right-aligned columns

    def line(cells):
        return "  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "-" * len(line(header))
    return "\n".join([line(header), rule] + [line(c) for c in table] + [rule, line(total)])


class SparsityReporter:
    """An ``event_handler`` recording (and printing) the sparsity report at each EndPass.

    ``history[name]`` is a list of :class:`HistoryPoint`, one per pass, for every
    parameter. ``every_pass``: print every pass (True), never (False), or every n-th
    pass (an int). ``stream``: where to print (None: ``sys.stdout`` at print time).
    ``then``: another handler, called with every event after this one.
    """

    def __init__(self, trainer, every_pass=True, stream=None, then=None):
        if not hasattr(trainer, "parameters") or not hasattr(trainer, "hooks"):
            raise TypeError(f"SparsityReporter needs a trainer (paddle.trainer.SGD), "
                            f"got {trainer!r}")
        self.trainer = trainer
        self.every_pass = int(every_pass)
        self.stream = stream
        self.then = then
        self.history = {}
        self.last_rows = None

    def __call__(self, event):
        from ..training.events import EndPass
        if isinstance(event, EndPass):
            self.record(event.pass_id)
        if self.then is not None:
            self.then(event)

    def record(self, pass_id):
        rows = sparsity_report(self.trainer, pass_id=pass_id)
        for row in rows:
            self.history.setdefault(row.name, []).append(
                HistoryPoint(pass_id, row.target, row.sparsity))
        self.last_rows = rows
        if self.every_pass and pass_id % self.every_pass == 0:
            stream = self.stream if self.stream is not None else sys.stdout
            print(f"Sparsity after pass {pass_id}\n{format_report(rows)}", file=stream)
        return rows
