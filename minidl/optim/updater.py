"""The update engine the trainer drives: pure array updates, no autograd, no layers.

How the trainer uses it, once per training run::

    updater = optimizer.create_updater(param_specs)   # dict name -> layers.base.ParamSpec
    for pass_id in range(num_passes):
        updater.begin_pass(pass_id)                   # pass_manual schedules; ModelAverage
        for batch in reader():
            lr = updater.learning_rate()              # global rate for this batch (for logs)
            ... forward, backward: grads[name] = SUM of the per-sample gradients ...
            for name in params:
                updater.update(name, values[name], grads[name])   # in place on values[name]
            updater.end_batch(len(batch), values)     # count samples; feed ModelAverage
    averaged = updater.averaged_values(values)        # for test/infer; None without average
    state = updater.state_dict()                      # slots as NumPy arrays (checkpoints)
    updater.load_state_dict(state)

* ``update(name, value, grad)``: ``value`` is a float32 NumPy or CuPy array changed in place;
  ``grad`` (same shape) is left untouched. Static parameters (``ParamSpec.static``) are
  skipped. The order of the steps inside -- element clipping, the rule with its L2 decay, the
  L1 shrink -- is described in :mod:`minidl.optim.regularization`.
* The rate used for a batch is ``schedule(n, pass_id) * ParamAttr.learning_rate`` where ``n``
  counts the samples of the batches *before* it (Paddle calls ``startBatch`` with the samples
  processed so far). ``end_batch`` advances ``n`` by ``batch_size`` and the batch counter ``t``
  that Adam's bias correction and the first-batch rules of RMSProp/DecayedAdaGrad read; ``t`` is
  global, as in Paddle, so call ``end_batch`` once per batch after the updates.
* ``begin_pass(pass_id)`` sets the pass the ``pass_manual`` schedule reads and, if batches ran
  since the previous ``begin_pass``, first closes that pass for ModelAverage (Paddle's
  ``finishPass``: the window limits of :mod:`minidl.optim.average`).
* ``end_batch(batch_size, values)`` feeds ModelAverage the updated values of the non-static
  parameters (pass the values after any hook has re-masked them). ``averaged_values(values)``
  returns a new dict: averaged arrays for those parameters, the given arrays for the others.
* ``state_dict()`` is a flat dict of NumPy arrays: ``"<param>/<slot>"`` for each rule slot
  (e.g. ``"_fc_0__.w0/momentum"``), ``"<param>/average_sum"`` and ``"average_old_sum"`` for
  ModelAverage, counters under keys starting with ``@`` (``@num_samples``, ``@num_batches``,
  ``@pass_id``, ``@average/...``). It round-trips through ``numpy.savez``.

Per-parameter settings come from ``ParamSpec.attr`` (a ParamAttr) and are resolved once here:
``learning_rate`` multiplies the global rate; ``momentum`` replaces the optimizer's (rules
other than Momentum default to 0, as Paddle's ``default_momentum`` was only set by Momentum);
``l2_rate`` replaces the L2Regularization rate; ``l1_rate`` turns on the L1 shrink;
``gradient_clipping_threshold`` replaces the global threshold. As in Paddle, where a
parameter's setting is stored as a number whose unset value is 0, a ``momentum``, ``l2_rate``
or ``gradient_clipping_threshold`` of 0 (or None) means "not set": the optimizer's global
value applies. A parameter cannot switch a global setting off for itself.
"""

import numbers
from dataclasses import dataclass

import numpy as np

from ..core.xp import as_numpy, get_array_module
from .average import ParameterAverager
from .checks import unit_interval
from .regularization import clip_gradient, shrink


@dataclass(frozen=True)
class ParamSettings:
    """What the update of one parameter uses, resolved from its ParamAttr and the optimizer."""

    lr_scale: float = 1.0
    momentum: float = 0.0
    l2: float = 0.0
    l1: float = 0.0
    clip: float = 0.0


def resolve_settings(optimizer, spec):
    """ParamSpec -> :class:`ParamSettings`, or a ValueError naming the parameter."""
    attr = spec.attr
    momentum = 0.0
    if optimizer.rule.uses_momentum:
        momentum = attr.momentum or optimizer.default_momentum
        unit_interval(f"parameter {spec.name}", "ParamAttr momentum", momentum)
    l1 = attr.l1_rate or 0.0
    if l1 and momentum:
        # Paddle: "Parameter cannot support momentum if it use L1 decay."
        raise ValueError(f"parameter {spec.name}: l1_rate={l1} needs momentum 0 (got "
                         f"momentum={momentum}); Paddle does not combine L1 with momentum")
    clip = attr.gradient_clipping_threshold
    return ParamSettings(
        lr_scale=1.0 if attr.learning_rate is None else attr.learning_rate,
        momentum=momentum,
        l2=attr.l2_rate or optimizer.l2_rate,
        l1=l1,
        clip=clip or optimizer.gradient_clipping_threshold or 0.0)


class Updater:
    """Optimizer state for one set of parameters; see the module docstring for its use."""

    def __init__(self, optimizer, param_specs):
        self.optimizer = optimizer
        self.rule = optimizer.rule
        self.schedule = optimizer.schedule
        self.specs = dict(param_specs)
        #: name -> ParamSettings for every parameter that is updated (static ones are absent)
        self.settings = {name: resolve_settings(optimizer, spec)
                         for name, spec in self.specs.items() if not spec.static}
        self.slots = {}
        self.num_samples = 0
        self.num_batches = 0
        self.pass_id = 0
        self._batches_in_pass = 0
        self.averager = None if optimizer.model_average is None \
            else ParameterAverager(optimizer.model_average)

    # --- the training loop ---------------------------------------------------------------

    def begin_pass(self, pass_id):
        if isinstance(pass_id, bool) or not isinstance(pass_id, numbers.Integral) \
                or pass_id < 0:
            raise ValueError(f"begin_pass: pass_id={pass_id!r} must be an integer >= 0")
        if self._batches_in_pass and self.averager is not None:
            self.averager.finish_pass()
        self._batches_in_pass = 0
        self.pass_id = int(pass_id)

    def learning_rate(self):
        """The global rate of the coming batch (before any ParamAttr learning_rate)."""
        return self.schedule(self.num_samples, self.pass_id)

    def update(self, name, value, grad):
        """One step of parameter ``name``: ``value`` changes in place."""
        if name not in self.specs:
            raise ValueError(f"optimizer update: unknown parameter {name!r}; the updater was "
                             f"created for {sorted(self.specs)}")
        settings = self.settings.get(name)
        if settings is None:  # static parameter
            return
        if value.shape != grad.shape:
            raise ValueError(f"optimizer update of {name}: gradient shape {grad.shape} != "
                             f"value shape {value.shape}")
        self._apply(settings, value, grad, self._state(name, value))

    def update_rows(self, name, value, grad):
        """One step of ``name`` for a :class:`~minidl.core.row_sparse.RowSparseGrad`
        (``ParamAttr(sparse_update=True)``): only the rows the gradient touches change, and
        only their optimizer slots -- a row not looked up in a batch keeps its value, its
        momentum and its L2 decay until it is (a "lazy" update, so a step costs the rows used,
        not the size of the table)."""
        settings = self.settings.get(name)
        if settings is None:
            return
        if tuple(value.shape) != grad.shape:
            raise ValueError(f"optimizer update of {name}: gradient shape {grad.shape} != "
                             f"value shape {value.shape}")
        grad = grad.coalesce()
        xp = get_array_module(value)
        rows = xp.asarray(grad.rows)
        state = self._state(name, value)
        touched, touched_state = value[rows], {slot: array[rows] for slot, array in state.items()}
        self._apply(settings, touched, grad.values.astype(value.dtype, copy=False), touched_state)
        value[rows] = touched
        for slot, array in touched_state.items():
            state[slot][rows] = array

    def _apply(self, settings, value, grad, state):
        """Clip, then the rule with its decay (and the L1 shrink), in place on ``value`` and
        ``state``."""
        lr = self.learning_rate() * settings.lr_scale
        grad = clip_gradient(grad, settings.clip)
        step = self.num_batches + 1
        if settings.l1:
            # Paddle's OptimizerWithRegularizer: the rule runs without decay, then L1 and L2
            # act on the updated value
            rate = self.rule.apply(value, grad, state, lr, settings.momentum, 0.0, step)
            shrink(value, lr, rate, settings.l1, settings.l2)
        else:
            self.rule.apply(value, grad, state, lr, settings.momentum, settings.l2, step,
                            want_rate=False)

    def end_batch(self, batch_size, values=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size < 1:
            raise ValueError(f"end_batch: batch_size={batch_size!r} must be an integer >= 1")
        self.num_samples += int(batch_size)
        self.num_batches += 1
        self._batches_in_pass += 1
        if self.averager is not None:
            if values is None:
                raise ValueError("end_batch: ModelAverage needs the updated values")
            self.averager.accumulate({name: value for name, value in values.items()
                                      if name in self.settings})

    def averaged_values(self, values):
        """ModelAverage's parameters for test/infer (a new dict), or None without it."""
        if self.averager is None:
            return None
        return self.averager.averaged(values)

    def _state(self, name, value):
        """The rule's slot arrays of ``name``, created at zero or moved to ``value``'s device."""
        state = self.slots.get(name)
        if state is None:
            state = self.slots[name] = self.rule.init_slots(value)
            return state
        xp = get_array_module(value)
        for slot, array in state.items():
            if array.shape != value.shape:
                raise ValueError(f"optimizer state {name}/{slot} has shape {array.shape}, "
                                 f"the parameter {value.shape}")
            if get_array_module(array) is not xp or array.dtype != value.dtype:
                state[slot] = xp.asarray(array, dtype=value.dtype)
        return state

    # --- checkpoints ---------------------------------------------------------------------

    def state_dict(self):
        """Flat dict of NumPy arrays (copies); see the module docstring for the keys."""
        state = {"@num_samples": np.asarray(self.num_samples),
                 "@num_batches": np.asarray(self.num_batches),
                 "@pass_id": np.asarray(self.pass_id),
                 "@batches_in_pass": np.asarray(self._batches_in_pass)}
        for name, slots in self.slots.items():
            for slot, array in slots.items():
                state[f"{name}/{slot}"] = np.array(as_numpy(array))
        if self.averager is not None:
            for key, value in self.averager.state(lambda a: np.array(as_numpy(a))).items():
                state[key] = np.asarray(value)
        return state

    def load_state_dict(self, state):
        """Replace all state by ``state`` (from :meth:`state_dict`); checks it fits."""
        try:
            self.num_samples = int(state["@num_samples"])
            self.num_batches = int(state["@num_batches"])
            self.pass_id = int(state["@pass_id"])
            self._batches_in_pass = int(state.get("@batches_in_pass", 0))
        except KeyError as missing:
            raise ValueError(f"optimizer state lacks the counter {missing}") from None
        slots, sums = {}, {}
        for key, array in state.items():
            if key.startswith("@"):
                continue
            name, _, slot = key.rpartition("/")
            if name not in self.settings:
                raise ValueError(f"optimizer state {key!r}: {name!r} is not a trained "
                                 "parameter of this updater")
            if slot in self.rule.slots:
                slots.setdefault(name, {})[slot] = np.array(array)
            elif slot in ("average_sum", "average_old_sum") and self.averager is not None:
                sums[(name, slot)] = np.array(array, dtype=np.float64)
            else:
                raise ValueError(f"optimizer state {key!r}: {self.rule.name} has no slot "
                                 f"{slot!r} (slots: {self.rule.slots})")
        for name, found in slots.items():
            if set(found) != set(self.rule.slots):
                raise ValueError(f"optimizer state of {name} has slots {sorted(found)}, "
                                 f"{self.rule.name} needs {sorted(self.rule.slots)}")
        self.slots = slots
        if self.averager is not None:
            if "@average/num_updates" not in state:
                raise ValueError("optimizer state has no ModelAverage counters")
            self.averager.load(state, sums)
