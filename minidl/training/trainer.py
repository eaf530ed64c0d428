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

Guards (on by default):

* **Non-finite values.** Every batch the trainer checks the cost and each gradient: an fc
  weight gradient its layer bounded in backward (``minidl.functions.certified_matmul``) is
  proven finite without being read; every other one by its squared norm (a NaN or inf
  anywhere makes it non-finite). At the first NaN or inf it raises
  :class:`NonFiniteError` naming the pass, the batch, the first layer (in forward order)
  whose output was not finite -- for a data layer, the samples -- or the first parameter
  whose gradient was not, *before* the update: parameters, optimizer state and batch-norm
  statistics keep their values from before that batch, and ``save_parameter_to_tar``
  refuses to write NaN or inf. ``paddle.init(check_nan_inf=False)`` turns both checks off
  (their cost: ``benchmarks/nan_check.py``).
* **Empty input.** A pass whose reader yields no minibatch, an empty minibatch, a
  minibatch that is not a list of samples, or ``test()`` over no samples raise an error
  that says so (with the pass and batch), instead of training nothing in silence.
"""

import copy
import math
import numbers
from collections import defaultdict

import numpy as np

from . import events
from ..core import Tensor, as_numpy, no_grad
from ..core import settings
from ..core.xp import get_array_module
from ..core.row_sparse import RowSparseGrad
from ..core.tensor import backward as run_backward
from ..distributed import data_parallel, get_comm
from .evaluators import ClassificationError, host_outputs
from .evaluators import declared as declared_evaluators
from .feeding import Feeder, FeedError
from ..functions.basic import add, sum_all
from ..functions.certified_matmul import GradientBound
from ..hooks.runtime import build_update_hooks
from ..layers.batch_norm_folding import foldable_pairs
from ..layers.cost import CostLayer
from ..layers.data import DataLayer
from ..layers.graph import Network, RunContext


class NonFiniteError(FloatingPointError):
    """A batch's cost or gradients held NaN or inf; the batch's update was not applied.

    ``pass_id``, ``batch_id``: where; ``layer``: the first layer (forward order) whose output
    was not finite, or None; ``parameter``: the parameter found at fault (non-finite values,
    or the first non-finite gradient), or None.
    """

    def __init__(self, message, pass_id=None, batch_id=None, layer=None, parameter=None):
        super().__init__(message)
        self.pass_id, self.batch_id = pass_id, batch_id
        self.layer, self.parameter = layer, parameter


def _all_finite(arrays):
    """True when no array holds NaN or inf. Cheap: each array's squared norm (one BLAS dot
    product, which NaN or inf anywhere makes non-finite) and one host transfer.

    A norm that overflows float32 without any inf element is checked again element by
    element, so the answer is exact."""
    arrays = list(arrays)
    if not arrays:
        return True
    total = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for array in arrays:
            flat = _dense_part(array).reshape(-1)
            total = total + get_array_module(flat).dot(flat, flat)   # on the device for CuPy
    if math.isfinite(float(total)):
        return True
    return all(bool(_finite(array)) for array in arrays)


#: a gradient bound below this proves float32 entries finite, with room for the rounding of
#: the float32 sums that computed them
_PROVEN_LIMIT = float(np.finfo(np.float32).max) / 4


def _unproven(grads, bounds):
    """The gradients whose finiteness their layers' bounds do not prove (those are read)."""
    return [grad for name, grad in grads.items()
            if name not in bounds or not bounds[name].proves_finite(_PROVEN_LIMIT)]


def _finite(array):
    array = _dense_part(array)
    return get_array_module(array).isfinite(array).all()


def _dense_part(grad):
    """The stored values of a gradient: the rows of a RowSparseGrad, else the array."""
    return grad.values if isinstance(grad, RowSparseGrad) else grad


def _count(what, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{what}={value!r} is not allowed: it must be an integer >= {minimum}")
    return int(value)


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

    ``extra_layers``: more layers to run, off the cost's path: outputs for evaluators, or
    more cost layers (GoogLeNet's auxiliary classifiers). As in Paddle, every cost layer of
    the network is trained -- an extra cost adds its gradient -- while the reported cost is
    ``cost``'s alone; parameters of extra layers missing from ``parameters`` are added and
    initialised as ``paddle.parameters.create`` would.
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
        extra_layers = _as_list(extra_layers)
        self.network = Network(self.cost_layers + extra_layers)
        self.extra_costs = [layer for layer in extra_layers if isinstance(layer, CostLayer)
                            and layer not in self.cost_layers]
        self.parameters = parameters
        self.specs = dict(self.network.param_specs)
        main_specs = Network(self.cost_layers).param_specs
        for name, spec in self.specs.items():
            if not parameters.has_key(name):
                if name in main_specs:
                    raise ValueError(f"parameter {name} of layer {spec.owner} is missing from "
                                     "parameters; create them with "
                                     "paddle.parameters.create(cost)")
                parameters.add_initialised(spec)   # only an extra layer uses it
            if tuple(parameters.get_shape(name)) != spec.shape:
                raise ValueError(f"parameter {name}: parameters hold shape "
                                 f"{tuple(parameters.get_shape(name))}, layer {spec.owner} "
                                 f"needs {spec.shape}")
        self.trainable = [name for name, spec in self.specs.items() if not spec.static]
        self.updater = update_equation.create_updater(self.specs)
        self.evaluators = evaluators_for(self.cost_layers, self.network.layers)
        # test() folds each batch norm into its convolution as inference does, except where
        # an evaluator reads the convolution's output
        self._test_foldable = foldable_pairs(self.network.layers, self.network.outputs + [
            layer for evaluator in self.evaluators for layer in evaluator.inputs])
        self.hooks = build_update_hooks(self.specs)
        # testing and inference read averaged values when ModelAverage is on
        parameters.set_average_source(self._averaged_values)
        self.comm = get_comm()   # one process, or this rank of an MPI job

    # -- one batch ------------------------------------------------------------------------
    def _forward(self, feed, is_train, values=None, bound_gradients=False):
        tensors = {}
        for name, spec in self.specs.items():
            array = values[name] if values is not None else self.parameters.value(name)
            tensors[name] = Tensor(array.reshape(spec.compute_shape),
                                   requires_grad=is_train and not spec.static)
        ctx = RunContext(tensors, is_train=is_train, rng=self.comm.rng())
        if bound_gradients:   # fc products then prove their weight gradients finite
            ctx.gradient_bounds = defaultdict(GradientBound)
        ctx.fold_batch_norm = not is_train
        outputs = self.network.forward(feed, ctx, self._test_foldable)
        return outputs, self._cost_sum(outputs, self.cost_layers), tensors, ctx

    @staticmethod
    def _cost_sum(outputs, cost_layers):
        total = None
        for cost in cost_layers:
            term = sum_all(outputs[cost.name])
            total = term if total is None else add(total, term)
        return total

    @staticmethod
    def _host_outputs(outputs, evaluators):
        return host_outputs(outputs, evaluators)

    def _evaluate(self, outputs, evaluators):
        host = self._host_outputs(outputs, evaluators)
        return {evaluator.name: evaluator.add(host) for evaluator in evaluators}

    def _forward_backward(self, feeder, minibatch, check=False):
        """Gradients {name: sum over samples}, batch-norm statistics, cost sum and evaluator
        statistics of ``minibatch`` (this rank's slice of the batch under MPI), and, when
        ``check`` finds a NaN or inf in the cost or a gradient, where it came from (a
        :func:`_diagnose` dict; None otherwise)."""
        for name in self.trainable:   # the last batch's gradients: not kept through this one
            self.parameters.set_grad(name, None)
        if len(minibatch) == 0:   # under MPI, a batch smaller than the number of ranks
            grads = {name: self.parameters.value(name) * 0 for name in self.trainable}
            return grads, {}, 0.0, [None] * len(self.evaluators), None
        outputs, total, tensors, ctx = self._forward(feeder(minibatch), is_train=True,
                                                     bound_gradients=check)
        # the reported cost is the main costs'; training follows every cost layer.
        # Layer-output gradients are freed during the sweep unless an evaluator prints them.
        run_backward(total if not self.extra_costs else
                     add(total, self._cost_sum(outputs, self.extra_costs)),
                     retain_grad=any(e.reads_gradients for e in self.evaluators))
        grads = {}
        for name in self.trainable:
            value, grad = self.parameters.value(name), tensors[name].grad
            if grad is None:
                grads[name] = value * 0
            elif isinstance(grad, RowSparseGrad):   # ParamAttr(sparse_update=True)
                grads[name] = grad.coalesce()
            else:
                grads[name] = grad.reshape(value.shape)
        cost_sum = float(as_numpy(total.data))
        problem = None
        if check and not (math.isfinite(cost_sum) and _all_finite(
                _unproven(grads, ctx.gradient_bounds))):
            problem = self._diagnose(outputs, grads)
        host = self._host_outputs(outputs, self.evaluators)
        stats = [evaluator.batch_stats(host) for evaluator in self.evaluators]
        return grads, ctx.updates, cost_sum, stats, problem

    def _diagnose(self, outputs, grads):
        """Where a non-finite cost or gradient came from: {'text', 'layer', 'parameter'}."""
        for layer in self.network.layers:
            if layer.name not in outputs:
                continue
            data = as_numpy(outputs[layer.name].data)
            bad_rows = ~np.isfinite(data.reshape(len(data), -1)).all(axis=1) \
                if data.ndim and len(data) else np.zeros(0, bool)
            if not bad_rows.any():
                continue
            rows = np.flatnonzero(bad_rows)
            samples = ", ".join(str(i) for i in rows[:5]) + (", ..." if len(rows) > 5 else "")
            where = "this batch" if self.comm.size == 1 else f"rank {self.comm.rank}'s slice"
            if isinstance(layer, DataLayer):
                return {"layer": layer.name, "parameter": None,
                        "text": f"the input: data layer {layer.name} holds NaN or inf in "
                                f"sample(s) {samples} of {where}"}
            for spec in layer.params:
                if not bool(_finite(self.parameters.value(spec.name, write=False))):
                    return {"layer": layer.name, "parameter": spec.name,
                            "text": f"layer {layer.name} ({type(layer).__name__}), whose "
                                    f"parameter {spec.name} already holds NaN or inf (an "
                                    "earlier update made it so: is the learning rate too "
                                    "high?)"}
            return {"layer": layer.name, "parameter": None,
                    "text": f"layer {layer.name} ({type(layer).__name__}): its output is NaN "
                            f"or inf in sample(s) {samples} of {where} although its inputs "
                            "and parameters are finite (overflow, log or division by zero?)"}
        for name in self.trainable:
            if not bool(_finite(grads[name])):
                owner = self.specs[name].owner
                return {"layer": owner, "parameter": name,
                        "text": f"the gradient of parameter {name} (layer {owner}); every "
                                "layer's output was finite"}
        return {"layer": None, "parameter": None,
                "text": "the cost sum over the batch overflowed; every layer's output was "
                        "finite"}

    def _non_finite(self, pass_id, batch_id, problem):
        if problem is None:   # under MPI: this rank's slice was finite, another rank's was not
            problem = {"layer": None, "parameter": None,
                       "text": "another rank's slice of the batch (this rank's was finite)"}
        return NonFiniteError(
            f"NaN or inf at pass {pass_id}, batch {batch_id}, first from {problem['text']}. "
            "The batch's update was not applied: parameters keep their last finite values. "
            "paddle.init(check_nan_inf=False) turns this check off.",
            pass_id, batch_id, problem["layer"], problem["parameter"])

    def _update(self, grads, updates):
        for name in self.trainable:
            value, grad = self.parameters.value(name), grads[name]
            self.parameters.set_grad(name, grad)
            for hook in self.hooks.get(name, ()):
                hook.before_update(name, grad)
            if isinstance(grad, RowSparseGrad):
                self.updater.update_rows(name, value, grad)
            else:
                self.updater.update(name, value, grad)
            for hook in self.hooks.get(name, ()):
                hook.after_update(name, value)
        # batch-norm moving statistics, computed in forward and written back only now
        for name, new_value in updates.items():
            value = self.parameters.value(name)
            value[...] = new_value.reshape(value.shape)

    # -- the public loop ----------------------------------------------------------------
    def train(self, reader, num_passes=1, event_handler=None, feeding=None):
        """Run ``num_passes`` passes over ``reader`` (a batched reader: lists of samples).

        Raises ValueError when a pass's reader yields no minibatch, :class:`FeedError` for an
        empty or malformed minibatch or sample, :class:`NonFiniteError` at a NaN or inf (see
        the module docstring).
        """
        if not callable(reader):
            raise TypeError("reader must be a callable returning an iterator of minibatches "
                            f"(e.g. paddle.batch(reader, batch_size)), got {reader!r:.80}")
        num_passes = _count("trainer.train: num_passes", num_passes, 0)
        check = settings.get("check_nan_inf")
        handler = self._tell_rank(event_handler)
        feeder = Feeder(self.network.data_layers, feeding)
        data_parallel.start_training(self.comm, self.parameters)   # the main rank's values
        for hooks in self.hooks.values():
            for hook in hooks:
                hook.begin_training(self.parameters)
        batches_per_pass = []
        for pass_id in range(num_passes):
            handler(events.BeginPass(pass_id))
            self.updater.begin_pass(pass_id)
            for hooks in self.hooks.values():
                for hook in hooks:
                    hook.begin_pass(pass_id, self.parameters)
            for evaluator in self.evaluators:
                evaluator.reset()
            batches = data_parallel.split_batches(self.comm, _checked(reader, pass_id))
            batch_id = -1
            for batch_id, (minibatch, batch_size) in enumerate(batches):
                handler(events.BeginIteration(pass_id, batch_id))
                try:
                    grads, updates, cost_sum, stats, problem = self._forward_backward(
                        feeder, minibatch, check)
                except FeedError as error:
                    raise FeedError(f"pass {pass_id}, batch {batch_id}: {error}") from None
                if self.comm.size > 1:   # the ranks sum dense arrays
                    grads = {name: grad.to_dense() if isinstance(grad, RowSparseGrad) else grad
                             for name, grad in grads.items()}
                grads, updates, cost_sum, stats = data_parallel.reduce_batch(
                    self.comm, grads, updates, cost_sum, stats, len(minibatch), batch_size)
                if check and (problem is not None or (self.comm.size > 1 and not (
                        math.isfinite(cost_sum) and _all_finite(grads.values())))):
                    raise self._non_finite(pass_id, batch_id, problem)
                batch_metrics = {evaluator.name: evaluator.accumulate(batch)
                                 for evaluator, batch in zip(self.evaluators, stats)}
                handler(events.EndForwardBackward(pass_id, batch_id))
                self._update(grads, updates)
                del grads, updates   # Parameters hold the gradients until the next batch
                live = {name: self.parameters.value(name) for name in self.trainable}
                self.updater.end_batch(batch_size, live)   # the whole batch, on every rank
                handler(events.EndIteration(pass_id, batch_id, cost_sum / batch_size,
                                            batch_metrics))
            if batch_id < 0:
                raise ValueError(_empty_pass_message(pass_id, batches_per_pass))
            batches_per_pass.append(batch_id + 1)
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
        communication), so it may be called on the main rank alone. A reader that yields no
        sample raises ValueError (there is no cost or error rate of nothing).
        """
        if not callable(reader):
            raise TypeError("reader must be a callable returning an iterator of minibatches "
                            f"(e.g. paddle.batch(reader, batch_size)), got {reader!r:.80}")
        feeder = Feeder(self.network.data_layers, feeding)
        values = self._averaged_values()
        # own copies: a test run inside an event handler must not reset the pass's metrics
        evaluators = [copy.copy(evaluator) for evaluator in self.evaluators]
        for evaluator in evaluators:
            evaluator.reset()
        cost_sum, samples = 0.0, 0
        with no_grad():
            for batch_id, minibatch in enumerate(_checked(reader, None)()):
                try:
                    feed = feeder(minibatch)
                except FeedError as error:
                    raise FeedError(f"trainer.test, batch {batch_id}: {error}") from None
                outputs, total, _, _ = self._forward(feed, False, values)
                self._evaluate(outputs, evaluators)
                cost_sum += float(as_numpy(total.data))
                samples += len(minibatch)
        if not samples:
            raise ValueError("trainer.test: the reader yielded no samples, so there is no cost "
                             "or metric to report. " + _EMPTY_HINT)
        return events.TestResult({e.name: e.result() for e in evaluators}, cost_sum / samples)

    def save_parameter_to_tar(self, f):
        """Save the parameters (a file or a path: see ``Parameters.to_tar``).

        Under MPI only the main rank writes; the values are the same on every rank. With
        ``paddle.init(check_nan_inf=True)`` (the default) parameters holding NaN or inf are
        not written: :class:`NonFiniteError` names the first such parameter.
        """
        if settings.get("check_nan_inf"):
            names = self.parameters.names()
            values = [self.parameters.value(name, write=False) for name in names]
            if not _all_finite(values):
                bad = next(name for name, value in zip(names, values) if not bool(_finite(value)))
                raise NonFiniteError(f"save_parameter_to_tar: parameter {bad} holds NaN or inf; "
                                     "nothing was written (paddle.init(check_nan_inf=False) "
                                     "writes them anyway)", parameter=bad)
        if not data_parallel.skip_save(self.comm, f):
            self.parameters.to_tar(f)


_EMPTY_HINT = ("A batched reader yields nothing when its reader has fewer samples than "
               "batch_size and paddle.batch drops the short last batch (drop_last=True, the "
               "default): pass drop_last=False or a smaller batch_size.")


def _empty_pass_message(pass_id, batches_per_pass):
    if batches_per_pass:
        return (f"trainer.train: pass {pass_id}: the reader yielded no minibatch, though pass "
                f"{pass_id - 1} had {batches_per_pass[-1]}. A reader must start again each "
                "time it is called: pass the reader creator (a function returning a new "
                "iterator), not an iterator or a generator object.")
    return (f"trainer.train: pass {pass_id}: the reader yielded no minibatch, so nothing "
            f"would be trained. {_EMPTY_HINT}")


def _checked(reader, pass_id):
    """``reader`` whose minibatches are checked to be non-empty lists of samples."""
    where = "trainer.test" if pass_id is None else f"pass {pass_id}"

    def checked():
        minibatches = reader()
        try:
            minibatches = iter(minibatches)
        except TypeError:
            raise TypeError(f"{where}: reader() returned {minibatches!r:.80}, not an iterator "
                            "of minibatches") from None
        for batch_id, minibatch in enumerate(minibatches):
            if not isinstance(minibatch, (list, tuple)):
                raise FeedError(f"{where}, batch {batch_id}: a minibatch must be a list of "
                                f"samples, got {type(minibatch).__name__} {minibatch!r:.80} "
                                "(wrap the sample reader with paddle.batch)")
            if len(minibatch) == 0:
                raise FeedError(f"{where}, batch {batch_id}: the reader yielded an empty "
                                "minibatch; every minibatch needs at least one sample")
            yield minibatch

    return checked


__all__ = ["SGD", "NonFiniteError"]
