"""The plans one ``Inference`` makes: one per batch shape, remade when a weight changes.

:meth:`SparsePlan.plan` returns the :class:`~.plan.Plan` of a network for a fed batch
(made by :func:`.planner.make_plan` the first time that batch shape is seen, and again
when a weight's version, the backend or the dtype changed). ``print(sparse_plan)`` shows
the decisions of every plan made so far.

:meth:`SparsePlan.forward` serves code that runs single layers through
``Layer.compute`` without a network (the layer benchmarks): the layer is planned alone,
for the rows it is given, before it runs.
"""

import numpy as np

from .plan import format_table, sparse_mode
from ..backends import current_backend
from ..core import config
from .planner import batch_shapes, make_plan, stamp


class SparsePlan:
    """The plans of one ``Inference`` (``mode``: True, False or 'auto')."""

    def __init__(self, mode, parameters=None, model=None):
        self.mode = sparse_mode(mode)
        self.parameters = parameters
        self.model = model     # a CostModel, or None: this machine's
        self.plans = {}        # (batch signature, averaged names) -> Plan
        # plan key -> (parameters' generation, backend, dtype) at which its stamp last held
        self._confirmed = {}

    def plan(self, layers, values, feed, samples, averaged=frozenset()):
        """The Plan of ``layers`` for the batch ``feed`` ({data layer name: array or
        Tensor}) of ``samples`` samples; ``values``: {parameter name: Tensor}."""
        signature, dtype = _signature(feed)
        key = (samples, signature, averaged if type(averaged) is frozenset
               else frozenset(averaged))
        known = self.plans.get(key)
        if self._holds(key, known, layers, dtype):
            return known
        self.plans.pop(key, None)   # (re-inserted last: the table shows the latest last)
        shapes = batch_shapes(layers, samples, feed)
        made = self.plans[key] = make_plan(layers, values, self.parameters, self.mode, shapes,
                                           dtype, frozenset(averaged), self.model)
        return made

    def forward(self, layer, ctx, xs):
        """``Layer.compute``'s hook for a layer run on its own: plan it for these inputs
        (once per row count), then read the plan."""
        seq = xs[0].seq
        rows = xs[0].shape[0]
        sequences = len(seq.starts) - 1 if seq is not None else rows
        key = (layer.name, rows, sequences, xs[0].data.dtype.str)
        known = self.plans.get(key)
        if not self._holds(key, known, [layer], xs[0].data.dtype):
            shapes = {layer.name: (rows, sequences)}
            known = self.plans[key] = make_plan([layer], ctx.params, self.parameters,
                                                self.mode, shapes, xs[0].data.dtype,
                                                model=self.model)
        return known.forward(layer, ctx, xs)

    def _holds(self, key, plan, layers, dtype):
        """Whether the plan under ``key`` still holds (:func:`_current`). The stamp reads
        a version per parameter, several microseconds a batch; while the parameters'
        generation, the backend and the dtype are those of its last check, nothing it
        reads can have changed."""
        generation = getattr(self.parameters, "generation", None)
        checked = None if generation is None else (generation, current_backend().name, dtype)
        if plan is not None and checked is not None and self._confirmed.get(key) == checked:
            return True
        holds = _current(plan, layers, self.parameters, dtype)
        if holds and checked is not None:
            self._confirmed[key] = checked
        return holds

    @property
    def decisions(self):
        """{(layer name, batch): Decision} of every plan made so far (the latest wins)."""
        merged = {}
        for plan in self.plans.values():
            for decision in plan.decisions.values():
                merged.pop((decision.layer, decision.batch), None)
                merged[(decision.layer, decision.batch)] = decision
        return merged

    def rows(self, batch=None):
        """The decisions so far (of one ``batch`` size), in the order they were made."""
        return [d for d in self.decisions.values() if batch is None or d.batch == batch]

    def table(self, batch=None):
        lines = [format_table(self.mode, self.rows(batch))]
        for key, plan in self.plans.items():
            samples = key[0]   # a network plan's key: (samples, feed signature, averaged)
            if len(key) == 3 and plan.settling is not None and batch in (None, samples):
                lines.append(f"batch {samples}: {plan.settling.describe()}")
        return "\n".join(lines)

    def __str__(self):
        return self.table()

    __repr__ = __str__


def _signature(feed):
    """``(signature, dtype)`` of a fed batch: each input's name, rows and dtype (what a
    plan is made for), and the first floating dtype among them (the default's if none)."""
    signature, floating = [], None
    for name, fed in feed.items():
        shape, dtype = getattr(fed, "shape", None), getattr(fed, "dtype", None)
        dtype = np.dtype(config.default_dtype if dtype is None else dtype)
        if floating is None and dtype.kind == "f":
            floating = dtype
        signature.append((name, None if shape is None else shape[0], dtype))
    return tuple(signature), np.dtype(config.default_dtype) if floating is None else floating


def _current(plan, layers, parameters, dtype):
    """True when ``plan`` still holds: made for these weight versions, backend and dtype
    (without versions a value change could not be seen: never)."""
    return plan is not None and plan.stamp[0] is not None and \
        plan.stamp == stamp(layers, parameters, dtype)
