"""Per-layer sparsities chosen by sensitivity analysis, against hand-picked ones.

    python examples/pruning_choice.py             # about 13 minutes on 2 shared cores
    python examples/pruning_choice.py --quick     # a smoke run: seconds, numbers meaningless

The VGG-style network of pruning_experiment.py on the shipped MNIST subset:

1. Train it dense (or load ``--pretrained``, a dense tarball).
2. ``paddle.pruning.sensitivity`` on 1,000 *training* digits (the test digits score the
   final models, so they play no part in choosing).
3. Three sets of sparsities: (a) pruning_experiment.py's hand-picked ones (conv1-2 0.5,
   conv3-4 0.8, fc 0.99); (b) ``choose(budget=1 point, objective='size')``;
   (c) ``choose(budget=1 point, objective='latency')``.
4. The same fine-tuning for each, from the dense model: the dynamic pruning hook rising to
   the set's sparsities (``hooks_for(choice, dynamic=True, ...)``).
5. A table: test accuracy, sparsity, compact file bytes and the batch-1 inference time with
   ``sparse='auto'`` (median of single-digit calls, best of 3 interleaved rounds).
"""

import argparse
import os
import statistics
import sys
import time

import minidl as paddle
from minidl.layers.base import reset_names
from minidl.models.vgg_mnist import GROUP_PARAMETERS, vgg_mnist
from minidl.pruning import finetune as workflow
from minidl.pruning.report import sparsity_report, totals

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pruning_experiment import STATIC  # noqa: E402  (the hand-picked sparsities)


def batch1_ms(parameters, samples):
    """Median milliseconds of single-digit inference calls (``sparse='auto'``)."""
    reset_names()
    _, prediction = vgg_mnist()
    inference = paddle.inference.Inference(prediction, parameters, sparse="auto")
    inference.infer([samples[0][:1]])     # the planner measures and settles here
    times = []
    for sample in samples:
        start = time.perf_counter()
        inference.infer([sample[:1]])
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def row(label, run, baseline, ms):
    _, _, sparsity = totals(sparsity_report(run.parameters))
    sizes = run.sizes()
    return (f"{label:<24}{100 * run.accuracy:>11.2f}{100 * (run.accuracy - baseline):>+8.2f}"
            f"{100 * sparsity:>10.1f}{sizes.compact_tar:>13,}{sizes.compact_tar_gz:>13,}"
            f"{ms:>12.3f}")


def main(pretrain_passes=8, finetune_passes=6, budget=1.0, quick=False, seed=1,
         pretrained=None):
    paddle.init(seed=seed)
    train, test = paddle.dataset.mnist.subset_train(), paddle.dataset.mnist.subset_test()
    validation_size, ratios, timing_samples = 1000, (0.5, 0.7, 0.8, 0.9, 0.95, 0.99), 200
    if quick:
        train, test = paddle.reader.firstn(train, 256), paddle.reader.firstn(test, 100)
        validation_size, ratios, timing_samples = 100, (0.5, 0.9), 10
    data = workflow.Data(train, test)
    started = time.perf_counter()
    init_tar = None
    if pretrained:
        with open(pretrained, "rb") as f:
            init_tar = f.read()
    dense = workflow.train_step("dense", vgg_mnist, data, 0 if pretrained else pretrain_passes,
                                learning_rate=0.1, init_tar=init_tar)
    validation = paddle.batch(paddle.reader.firstn(train, validation_size), 250,
                              drop_last=False)
    analysis_started = time.perf_counter()
    table = paddle.pruning.sensitivity(dense.trainer.cost_layers[0], dense.parameters,
                                       validation, ratios=ratios)
    analysis_s = time.perf_counter() - analysis_started
    print(f"\n{table}\n(analysis: {analysis_s:.0f} s)\n")
    choices = {"auto, objective=size": paddle.pruning.choose(table, budget, "size"),
               "auto, objective=latency": paddle.pruning.choose(table, budget, "latency")}
    for label, choice in choices.items():
        print(f"{label}\n{choice}\n")

    end_pass = max(1, finetune_passes - 2)
    schedule = {"inter_pass": 1, "end_pass": end_pass}
    hand = {name: paddle.attr.Hook("dynamic_pruning", upper_bound=STATIC[group], **schedule)
            for group, name in GROUP_PARAMETERS.items()}
    hooks = {"hand-picked": hand.get}
    for label, choice in choices.items():
        hooks[label] = paddle.pruning.hooks_for(choice, dynamic=True, **schedule).hook
    runs = {}
    for label, hook_of in hooks.items():
        runs[label] = workflow.train_step(
            label, vgg_mnist, data, finetune_passes, learning_rate=0.01,
            hook_for=lambda group, hook_of=hook_of: hook_of(GROUP_PARAMETERS[group]),
            init_tar=dense.tarball())

    samples = list(paddle.reader.firstn(test, timing_samples)())
    models = {"dense": dense, **runs}
    ms = {label: float("inf") for label in models}
    for _ in range(3):   # interleaved rounds: a busy moment on the machine hits every model
        for label, run in models.items():
            ms[label] = min(ms[label], batch1_ms(run.parameters, samples))
    print(f"{'model':<24}{'accuracy %':>11}{'change':>8}{'sparsity':>10}{'compact tar':>13}"
          f"{'compact gz':>13}{'batch-1 ms':>12}")
    for label, run in models.items():
        print(row(label, run, dense.accuracy, ms[label]))
    print(f"\nsensitivity analysis {analysis_s:.0f} s; total wall time "
          f"{time.perf_counter() - started:.0f} s (a shared 2-core machine: times vary)")
    return table, choices, models, ms


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pretrain-passes", type=int, default=8)
    parser.add_argument("--finetune-passes", type=int, default=6,
                        help="passes of each fine-tuning; the sparsity rises until 2 before")
    parser.add_argument("--budget", type=float, default=1.0,
                        help="summed predicted accuracy loss allowed, in points")
    parser.add_argument("--quick", action="store_true",
                        help="tiny data, 2 ratios, 1 pass each: checks the script runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pretrained", help="start from this dense tarball")
    parser.add_argument("--save-dense", help="write the dense model to this tarball")
    args = parser.parse_args()
    if args.quick:
        args.pretrain_passes, args.finetune_passes = 1, 2   # pass 1 reaches the targets
    _, _, result_models, _ = main(args.pretrain_passes, args.finetune_passes, args.budget,
                                  args.quick, args.seed, args.pretrained)
    if args.save_dense:
        result_models["dense"].parameters.to_tar(args.save_dense)
