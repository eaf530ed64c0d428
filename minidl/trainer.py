"""``paddle.trainer.SGD``: the training loop.

Data flows one way through a batch::

    reader -> feeding -> layers (forward) -> cost -> backward
           -> for each parameter: hooks.before_update -> optimizer -> hooks.after_update
           -> batch-norm statistics written back -> events

Costs are per sample and the loss that is differentiated is their *sum* over the batch,
so gradients are sums over the batch -- Paddle's convention, which is why scripts use
``learning_rate=0.1/128`` with batch 128.
"""

from . import event as events
from .core import Tensor, as_numpy, no_grad
from .core.tensor import backward as run_backward
from .evaluator import ClassificationError
from .evaluator import declared as declared_evaluators
from .feeding import Feeder
from .functions.basic import add, sum_all
from .hooks.runtime import build_update_hooks
from .layers.graph import Network, RunContext
from .random import get_rng


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
    ``is_local`` / ``pserver_spec`` are accepted for compatibility; training is local.
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
        parameters.model_average = self._averaged_values

    # -- one batch ------------------------------------------------------------------------
    def _forward(self, feed, is_train, values=None):
        tensors = {}
        for name, spec in self.specs.items():
            array = values[name] if values is not None else self.parameters.value(name)
            tensors[name] = Tensor(array.reshape(spec.compute_shape),
                                   requires_grad=is_train and not spec.static)
        ctx = RunContext(tensors, is_train=is_train, rng=get_rng())
        outputs = self.network.forward(feed, ctx)
        total = None
        for cost in self.cost_layers:
            term = sum_all(outputs[cost.name])
            total = term if total is None else add(total, term)
        return outputs, total, tensors, ctx

    def _evaluate(self, outputs, evaluators):
        host = {}
        for evaluator in evaluators:
            for layer in evaluator.inputs:
                if layer.name not in host:
                    host[layer.name] = as_numpy(outputs[layer.name].data)
        return {evaluator.name: evaluator.add(host) for evaluator in evaluators}

    def _update(self, tensors, ctx):
        for name in self.trainable:
            value = self.parameters.value(name)
            grad = tensors[name].grad
            grad = value * 0 if grad is None else grad.reshape(value.shape)
            self.parameters.set_grad(name, grad)
            for hook in self.hooks.get(name, ()):
                hook.before_update(name, grad)
            self.updater.update(name, value, grad)
            for hook in self.hooks.get(name, ()):
                hook.after_update(name, value)
        # batch-norm moving statistics, computed in forward and written back only now
        for name, new_value in ctx.updates.items():
            value = self.parameters.value(name)
            value[...] = new_value.reshape(value.shape)

    # -- the public loop ----------------------------------------------------------------
    def train(self, reader, num_passes=1, event_handler=None, feeding=None):
        """Run ``num_passes`` passes over ``reader`` (a batched reader: lists of samples)."""
        if not callable(reader):
            raise TypeError("reader must be a callable returning an iterator of minibatches")
        handler = event_handler or (lambda e: None)
        feeder = Feeder(self.network.data_layers, feeding)
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
            for batch_id, minibatch in enumerate(reader()):
                handler(events.BeginIteration(pass_id, batch_id))
                feed = feeder(minibatch)
                outputs, total, tensors, ctx = self._forward(feed, is_train=True)
                run_backward(total)
                batch_metrics = self._evaluate(outputs, self.evaluators)
                handler(events.EndForwardBackward(pass_id, batch_id))
                self._update(tensors, ctx)
                live = {name: self.parameters.value(name) for name in self.trainable}
                self.updater.end_batch(len(minibatch), live)
                cost = float(as_numpy(total.data)) / len(minibatch)
                handler(events.EndIteration(pass_id, batch_id, cost, batch_metrics))
            handler(events.EndPass(pass_id, {e.name: e.result() for e in self.evaluators}))

    def _averaged_values(self):
        """{name: array} of ModelAverage values, or None when averaging is off."""
        live = {name: self.parameters.value(name) for name in self.specs}
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
        """Cost (sum over samples / samples) and metrics over ``reader``, without updates."""
        feeder = Feeder(self.network.data_layers, feeding)
        values = self._averaged_values()
        for evaluator in self.evaluators:
            evaluator.reset()
        cost_sum, samples = 0.0, 0
        with no_grad():
            for minibatch in reader():
                outputs, total, _, _ = self._forward(feeder(minibatch), False, values)
                self._evaluate(outputs, self.evaluators)
                cost_sum += float(as_numpy(total.data))
                samples += len(minibatch)
        cost = cost_sum / samples if samples else float("nan")
        return events.TestResult({e.name: e.result() for e in self.evaluators}, cost)

    def save_parameter_to_tar(self, f):
        self.parameters.to_tar(f)


__all__ = ["SGD"]
