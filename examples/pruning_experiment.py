"""The design's pruning experiment, reproduced on real digits (the shipped MNIST subset).

    python examples/pruning_experiment.py            # about 15 minutes on 2 cores

1. Train a VGG-style network (4 convs in 2 groups with batch norm, 3 fc layers) and save it.
2. Static pruning, staged as the design describes (restart with rising ratios): first two
   convs 0.5, other convs 0.8, fc 0.99, reached in 4 restarts whose density falls by equal
   factors (fc: 0.68, 0.90, 0.968, 0.99), 2 passes each and 6 for the last.
3. Dynamic pruning in one run from the same trained network, upper bounds 0.6 / 0.831 /
   0.981 on the same layers, logarithmic schedule.

Prints accuracy before and after, per-layer sparsity, file sizes (dense, gzip of dense,
compact, gzip of compact) and wall time, like the design's tables.
"""

import argparse
import time

import minidl as paddle
from minidl.models.vgg_mnist import GROUP_PARAMETERS, vgg_mnist
from minidl.pruning import finetune as workflow

STATIC = {"conv1": 0.5, "conv2": 0.5, "conv3": 0.8, "conv4": 0.8,
          "fc1": 0.99, "fc2": 0.99, "fc3": 0.99}
DYNAMIC = {"conv1": 0.6, "conv2": 0.6, "conv3": 0.831, "conv4": 0.831,
           "fc1": 0.981, "fc2": 0.981, "fc3": 0.981}


def main(pretrain_passes=10, stages=4, stage_passes=2, final_passes=6, dynamic_passes=8,
         seed=1, save_prefix=None, pretrained=None):
    paddle.init(seed=seed)
    data = workflow.Data(paddle.dataset.mnist.subset_train(), paddle.dataset.mnist.subset_test())
    print(paddle.dataset.mnist.SUBSET_INFO)
    started = time.perf_counter()
    if pretrained:   # reuse a saved dense model: fine-tune it for 0 passes to evaluate it
        with open(pretrained, "rb") as f:
            baseline = workflow.train_step("dense", vgg_mnist, data, 0, learning_rate=0.1,
                                           init_tar=f.read())
    else:
        baseline = workflow.train_step("dense", vgg_mnist, data, pretrain_passes,
                                       learning_rate=0.1)
    pretrained = baseline.tarball()
    static = workflow.static_pruning(vgg_mnist, data, pretrained, STATIC, stages=stages,
                                     passes_per_stage=stage_passes, final_passes=final_passes)
    dynamic = workflow.dynamic_pruning(vgg_mnist, data, pretrained, DYNAMIC,
                                       passes=dynamic_passes, inter_pass=1,
                                       end_pass=dynamic_passes - 2)
    print()
    print(workflow.summary_table(baseline, [static, dynamic]))
    print()
    print(workflow.layer_table([baseline, static, dynamic],
                               {name: group for group, name in GROUP_PARAMETERS.items()}))
    gz_ratio = baseline.sizes().dense_tar_gz / static.sizes().dense_tar_gz
    compact_ratio = baseline.sizes().dense_tar / static.sizes().compact_tar
    print(f"\nstatic: gzip dense {gz_ratio:.1f}x smaller than unpruned gzip; "
          f"compact {compact_ratio:.1f}x smaller than unpruned raw")
    print(f"total wall time {time.perf_counter() - started:.0f} s")
    if save_prefix:
        for run in (baseline, static, dynamic):
            run.parameters.to_tar(f"{save_prefix}-{run.label}.tar")
            run.parameters.to_tar(f"{save_prefix}-{run.label}-compact.tar", compact=True)
    return baseline, static, dynamic


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pretrain-passes", type=int, default=10)
    parser.add_argument("--stages", type=int, default=4)
    parser.add_argument("--stage-passes", type=int, default=2)
    parser.add_argument("--final-passes", type=int, default=6,
                        help="passes of the last static stage (the largest cut)")
    parser.add_argument("--dynamic-passes", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--save-prefix", help="write the three models as PREFIX-*.tar")
    parser.add_argument("--pretrained", help="start from this dense tarball instead of training")
    args = parser.parse_args()
    main(args.pretrain_passes, args.stages, args.stage_passes, args.final_passes,
         args.dynamic_passes, args.seed, args.save_prefix, args.pretrained)
