"""The pruning experiment as reusable steps: pretrain, staged static pruning,
one-run dynamic pruning -- each step a fresh network fine-tuned from a tarball.

A network is described by ``build(hook_for) -> (cost, prediction)`` where
``hook_for(group)`` gives the update hook of a prunable layer group (``'conv1'``, ``'fc1'``,
...) or None. Steps pass trained parameters to each other as tarball bytes, exactly as a
user would with ``to_tar`` / ``init_from_tar``: nothing but the values carries over (the
zeros of a pruned tarball are taken as already pruned by the hooks).
"""

import io
import time
from dataclasses import dataclass, field

from ..training import events
from ..optim import L2Regularization, Momentum
from ..hooks.spec import Hook
from ..layers.base import reset_names
from ..reader.minibatch import batch
from ..training.parameters import create
from ..reader import shuffle
from ..training.trainer import SGD
from .report import sparsity_report
from .sizes import file_sizes


@dataclass
class StepResult:
    """What one training step ends with."""

    label: str
    accuracy: float
    seconds: float
    parameters: object
    trainer: object
    history: list = field(default_factory=list)   # (pass, test accuracy)

    def tarball(self):
        buffer = io.BytesIO()
        self.parameters.to_tar(buffer)
        return buffer.getvalue()

    def report(self):
        return sparsity_report(self.trainer)

    def sizes(self):
        return file_sizes(self.parameters)


@dataclass
class Data:
    """Readers and batch size shared by every step."""

    train: object           # reader creator (a reader of samples)
    test: object
    batch_size: int = 128

    def train_batches(self):
        return batch(shuffle(self.train, buf_size=8192), self.batch_size)

    def test_batches(self):
        return batch(self.test, self.batch_size, drop_last=False)


def momentum(learning_rate, batch_size=128, l2=0.0005):
    """Paddle's convention: rate and L2 scaled by the batch size (gradients are sums)."""
    return Momentum(learning_rate=learning_rate / batch_size, momentum=0.9,
                    regularization=L2Regularization(l2 * batch_size))


def train_step(label, build, data, passes, learning_rate, hook_for=None, init_tar=None,
               log=print):
    """Build, optionally load ``init_tar``, train ``passes`` passes, test after each."""
    reset_names()
    cost, _ = build(hook_for)
    parameters = create(cost)
    if init_tar is not None:
        parameters.init_from_tar(io.BytesIO(init_tar))
    trainer = SGD(cost=cost, parameters=parameters,
                  update_equation=momentum(learning_rate, data.batch_size))
    history = []
    started = time.perf_counter()

    def on_event(event):
        if isinstance(event, events.EndPass):
            accuracy = 1 - trainer.test(data.test_batches()).metrics[
                "classification_error_evaluator"]
            history.append((event.pass_id, accuracy))
            log(f"  [{label}] pass {event.pass_id}: test accuracy {100 * accuracy:.2f} %")

    trainer.train(data.train_batches(), num_passes=passes, event_handler=on_event)
    accuracy = history[-1][1] if history else 1 - trainer.test(
        data.test_batches()).metrics["classification_error_evaluator"]
    return StepResult(label, accuracy, time.perf_counter() - started, parameters, trainer,
                      history)


def stage_ratios(target, stages):
    """Sparsity of each stage: density falls geometrically, ``(1 - target) ** (k / stages)``.

    Equal *factors* of density per restart (0.99 in 4 stages: 0.68, 0.90, 0.968, 0.99),
    so the last restart removes as large a share of the surviving weights as the first --
    an equal split in sparsity would ask the last stage to drop 95 % of the survivors.
    """
    return [1.0 - (1.0 - target) ** (k / stages) for k in range(1, stages + 1)]


def static_pruning(build, data, pretrained_tar, targets, stages=4, passes_per_stage=2,
                   learning_rate=0.01, final_passes=None, log=print):
    """Staged static pruning: restart with rising ratios.

    ``targets``: {group: final sparsity}. Stage ``k`` prunes each group to
    ``stage_ratios(target, stages)[k]`` with ``Hook('pruning')`` and fine-tunes
    ``passes_per_stage`` passes (the last stage ``final_passes`` if given) from the
    previous stage's tarball.
    """
    tar, results = pretrained_tar, []
    schedule = {group: stage_ratios(target, stages) for group, target in targets.items()}
    for k in range(stages):
        ratios = {group: values[k] for group, values in schedule.items()}
        passes = final_passes if final_passes and k == stages - 1 else passes_per_stage
        result = train_step(
            f"static stage {k + 1}/{stages}", build, data, passes, learning_rate,
            hook_for=lambda group, ratios=ratios: (Hook("pruning", sparsity_ratio=ratios[group])
                                                   if group in ratios else None),
            init_tar=tar, log=log)
        tar = result.tarball()
        results.append(result)
    total = results[-1]
    total.seconds = sum(r.seconds for r in results)
    total.label = "static"
    return total


def dynamic_pruning(build, data, pretrained_tar, upper_bounds, passes, inter_pass, end_pass,
                    learning_rate=0.01, curve="log", log=print):
    """One run with ``Hook('dynamic_pruning')``: sparsity rises to ``upper_bounds``."""
    def hook_for(group):
        if group not in upper_bounds:
            return None
        return Hook("dynamic_pruning", upper_bound=upper_bounds[group], inter_pass=inter_pass,
                    end_pass=end_pass, curve=curve)
    result = train_step("dynamic", build, data, passes, learning_rate, hook_for=hook_for,
                        init_tar=pretrained_tar, log=log)
    return result


def summary_table(baseline, runs):
    """The experiment's table: accuracy, sizes and time of the baseline and each pruned run.

    ``change``: test accuracy minus the baseline's, in percentage points (positive: the
    pruned model is better).
    """
    header = (f"{'model':<10}{'accuracy %':>11}{'change':>8}{'sparsity %':>11}"
              f"{'dense tar':>11}{'gzip dense':>12}{'compact':>10}{'gzip cmp':>10}{'time s':>8}")
    lines = [header, "-" * len(header)]
    for run in [baseline, *runs]:
        rows = sparsity_report(run.parameters)
        size = sum(r.size for r in rows)
        zeros = sum(r.size - r.nonzeros for r in rows)
        sizes = run.sizes()
        change = 100 * (run.accuracy - baseline.accuracy)
        lines.append(f"{run.label:<10}{100 * run.accuracy:>11.2f}{change:>+8.2f}"
                     f"{100 * zeros / size:>11.1f}{sizes.dense_tar:>11,}{sizes.dense_tar_gz:>12,}"
                     f"{sizes.compact_tar:>10,}{sizes.compact_tar_gz:>10,}{run.seconds:>8.0f}")
    return "\n".join(lines)


def layer_table(runs, groups_of):
    """Per-layer sparsity reached by each run; ``groups_of``: {parameter name: group}."""
    header = f"{'layer':<8}{'parameter':<28}" + "".join(f"{run.label:>12}" for run in runs)
    lines = [header, "-" * len(header)]
    reports = [{row.name: row for row in sparsity_report(run.parameters)} for run in runs]
    for name, group in groups_of.items():
        cells = "".join(f"{100 * report[name].sparsity:>11.1f}%" for report in reports)
        lines.append(f"{group:<8}{name:<28}{cells}")
    return "\n".join(lines)
