"""``paddle.trainer.SGD``: the training loop.

Data flows one way through a batch::

    reader -> feeding -> layers (forward) -> cost -> backward
           -> for each parameter: hooks.before_update -> optimizer -> hooks.after_update
           -> batch-norm statistics written back -> events

Costs are per sample and the loss that is differentiated is their *sum* over the batch,
so gradients are sums over the batch -- Paddle's convention, which is why scripts use
``learning_rate=0.1/128`` with batch 128.

Under MPI (``mpiexec -n N python train.py``) every rank runs this loop on its slice of each
batch and the batch's results are summed over the ranks before the update; in one process
those steps do nothing. See :mod:`minidl.distributed`.
"""

import copy

from . import events
from ..core import Tensor, as_numpy, no_grad
from ..core.tensor import backward as run_backward
from ..distributed import data_parallel, get_comm
from .evaluators import ClassificationError
from .evaluators import declared as declared_evaluators
from .feeding import Feeder
from ..functions.basic import add, sum_all
from ..hooks.runtime import build_update_hooks
from ..layers.graph import Network, RunContext


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def evaluators_for(cost_layers, reachable):
    """The metrics of a network: cost layers' own evaluators plus declared ones it contains."""
    found = []
    for cost in cost_layers:
        if "classification_error_evaluator" in getattr(cost, "evaluators", ()):
            weight = cost.inputs[2] if len(cost.inputs) > 2 else None
            found.append(ClassificationError(cost.inputs[0], cost.inputs[1],
                                             name="classification_error_evaluator",
                                             weight=weight))
    ids = {id(layer) for layer in reachable}
    for evaluator in declared_evaluators:
        if all(id(layer) in ids for layer in evaluator.inputs):
            found.append(evaluator)
    return found


class SGD:
    """Trains ``cost`` with ``update_equation`` (an optimizer from ``paddle.optimizer``).

    ``extra_layers``: more outputs to compute (e.g. for evaluators not on the cost's path).
    ``is_local`` / ``pserver_spec`` are accepted for compatibility; there are no parameter
    servers: several processes train together under MPI (:mod:`minidl.distributed`).
    """

    def __init__(self, cost, parameters, update_equation, extra_layers=None, is_local=True,
                 pserver_spec=None, use_etcd=True):
        from .parameters import Parameters
        if not isinstance(parameters, Parameters):
            raise TypeError(f"parameters must come from paddle.parameters.create, "
                            f"got {type(parameters).__name__}")
        if not hasattr(update_equation, "create_updater"):
            raise TypeError(f"update_equation must be a paddle.optimizer optimizer, "
                            f"got {update_equation!r}")
        self.cost_layers = _as_list(cost)
        if not self.cost_layers:
            raise ValueError("SGD needs a cost layer")
        self.network = Network(self.cost_layers + _as_list(extra_layers))
        self.parameters = parameters
        self.specs = dict(self.network.param_specs)
        for name, spec in self.specs.items():
            if not parameters.has_key(name):
                raise ValueError(f"parameter {name} of layer {spec.owner} is missing from "
                                 "parameters; create them with paddle.parameters.create(cost)")
            if tuple(parameters.get_shape(name)) != spec.shape:
                raise ValueError(f"parameter {name}: parameters hold shape "
                                 f"{tuple(parameters.get_shape(name))}, layer {spec.owner} "
                                 f"needs {spec.shape}")
        self.trainable = [name for name, spec in self.specs.items() if not spec.static]
        self.updater = update_equation.create_updater(self.specs)
        self.evaluators = evaluators_for(self.cost_layers, self.network.layers)
        self.hooks = build_update_hooks(self.specs)
        # testing and inference read averaged values when ModelAverage is on
        parameters.set_average_source(self._averaged_values)
        self.comm = get_comm()   # one process, or this rank of an MPI job

    # -- one batch ------------------------------------------------------------------------
    def _forward(self, feed, is_train, values=None):
        tensors = {}
        for name, spec in self.specs.items():
            array = values[name] if values is not None else self.parameters.value(name)
            tensors[name] = Tensor(array.reshape(spec.compute_shape),
                                   requires_grad=is_train and not spec.static)
        ctx = RunContext(tensors, is_train=is_train, rng=self.comm.rng())
        outputs = self.network.forward(feed, ctx)
        total = None
        for cost in self.cost_layers:
            term = sum_all(outputs[cost.name])
            total = term if total is None else add(total, term)
        return outputs, total, tensors, ctx

    @staticmethod
    def _host_outputs(outputs, evaluators):
        host = {}
        for evaluator in evaluators:
            for layer in evaluator.inputs:
                if layer.name not in host:
                    host[layer.name] = as_numpy(outputs[layer.name].data)
        return host

    def _evaluate(self, outputs, evaluators):
        host = self._host_outputs(outputs, evaluators)
        return {evaluator.name: evaluator.add(host) for evaluator in evaluators}

    def _forward_backward(self, feeder, minibatch):
        """Gradients {name: sum over samples}, batch-norm statistics, cost sum and evaluator
        statistics of ``minibatch`` (this rank's slice of the batch under MPI)."""
        if len(minibatch) == 0:   # under MPI, a batch smaller than the number of ranks
            grads = {name: self.parameters.value(name) * 0 for name in self.trainable}
            return grads, {}, 0.0, [None] * len(self.evaluators)
        outputs, total, tensors, ctx = self._forward(feeder(minibatch), is_train=True)
        run_backward(total)
        grads = {}
        for name in self.trainable:
            value, grad = self.parameters.value(name), tensors[name].grad
            grads[name] = value * 0 if grad is None else grad.reshape(value.shape)
        host = self._host_outputs(outputs, self.evaluators)
        stats = [evaluator.batch_stats(host) for evaluator in self.evaluators]
        return grads, ctx.updates, float(as_numpy(total.data)), stats

    def _update(self, grads, updates):
        for name in self.trainable:
            value, grad = self.parameters.value(name), grads[name]
            self.parameters.set_grad(name, grad)
            for hook in self.hooks.get(name, ()):
                hook.before_update(name, grad)
            self.updater.update(name, value, grad)
            for hook in self.hooks.get(name, ()):
                hook.after_update(name, value)
        # batch-norm moving statistics, computed in forward and written back only now
        for name, new_value in updates.items():
            value = self.parameters.value(name)
            value[...] = new_value.reshape(value.shape)

    # -- the public loop ----------------------------------------------------------------
    def train(self, reader, num_passes=1, event_handler=None, feeding=None):
        """Run ``num_passes`` passes over ``reader`` (a batched reader: lists of samples)."""
        if not callable(reader):
            raise TypeError("reader must be a callable returning an iterator of minibatches")
        handler = self._tell_rank(event_handler)
        feeder = Feeder(self.network.data_layers, feeding)
        data_parallel.start_training(self.comm, self.parameters)   # the main rank's values
        for hooks in self.hooks.values():
            for hook in hooks:
                hook.begin_training(self.parameters)
        for pass_id in range(num_passes):
            handler(events.BeginPass(pass_id))
            self.updater.begin_pass(pass_id)
            for hooks in self.hooks.values():
                for hook in hooks:
                    hook.begin_pass(pass_id, self.parameters)
            for evaluator in self.evaluators:
                evaluator.reset()
            batches = data_parallel.split_batches(self.comm, reader)
            for batch_id, (minibatch, batch_size) in enumerate(batches):
                handler(events.BeginIteration(pass_id, batch_id))
                grads, updates, cost_sum, stats = self._forward_backward(feeder, minibatch)
                grads, updates, cost_sum, stats = data_parallel.reduce_batch(
                    self.comm, grads, updates, cost_sum, stats, len(minibatch), batch_size)
                batch_metrics = {evaluator.name: evaluator.accumulate(batch)
                                 for evaluator, batch in zip(self.evaluators, stats)}
                handler(events.EndForwardBackward(pass_id, batch_id))
                self._update(grads, updates)
                live = {name: self.parameters.value(name) for name in self.trainable}
                self.updater.end_batch(batch_size, live)   # the whole batch, on every rank
                handler(events.EndIteration(pass_id, batch_id, cost_sum / batch_size,
                                            batch_metrics))
            handler(events.EndPass(pass_id, {e.name: e.result() for e in self.evaluators}))

    def _tell_rank(self, event_handler):
        """``event_handler`` with each event marked with the rank firing it (all ranks do)."""
        def handle(event):
            event.rank, event.is_main = self.comm.rank, self.comm.is_main
            if event_handler is not None:
                event_handler(event)
        return handle

    def _averaged_values(self):
        """{name: array} of ModelAverage values, or None when averaging is off."""
        live = {name: self.parameters.value(name, write=False) for name in self.specs}
        averaged = self.updater.averaged_values(live)
        if averaged is None:
            return None
        # an average over past values would revive pruned weights: re-apply the masks
        for name, hooks in self.hooks.items():
            for hook in hooks:
                if name in averaged:
                    averaged[name] = hook.apply_mask(averaged[name])
        return {**live, **averaged}

    def test(self, reader, feeding=None):
        """Cost (sum over samples / samples) and metrics over ``reader``, without updates.

        Under MPI each rank that calls it reads the whole of ``reader`` by itself (no
        communication), so it may be called on the main rank alone.
        """
        feeder = Feeder(self.network.data_layers, feeding)
        values = self._averaged_values()
        # own copies: a test run inside an event handler must not reset the pass's metrics
        evaluators = [copy.copy(evaluator) for evaluator in self.evaluators]
        for evaluator in evaluators:
            evaluator.reset()
        cost_sum, samples = 0.0, 0
        with no_grad():
            for minibatch in reader():
                outputs, total, _, _ = self._forward(feeder(minibatch), False, values)
                self._evaluate(outputs, evaluators)
                cost_sum += float(as_numpy(total.data))
                samples += len(minibatch)
        cost = cost_sum / samples if samples else float("nan")
        return events.TestResult({e.name: e.result() for e in evaluators}, cost)

    def save_parameter_to_tar(self, f):
        """Save the parameters (a file or a path: see ``Parameters.to_tar``).

        Under MPI only the main rank writes; the values are the same on every rank.
        """
        if not data_parallel.skip_save(self.comm, f):
            self.parameters.to_tar(f)


__all__ = ["SGD"]
