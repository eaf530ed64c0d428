"""The main job: ``python -m minidl.demo`` (98-147 s on the shared 2-core development
machine once Numba's kernels are compiled and cached; the first run compiles them).

The same seed prints the same figures on one machine (threads and BLAS fixed); other
processors and thread counts sum float32 in another order and print other accuracies
(README.md, "The main job", gives the measured spread).

On the real MNIST digits shipped with minidl (4,000 train / 1,000 test):

1. trains the PaddlePaddle book's convolutional network (two conv+pool groups, softmax fc;
   Momentum 0.1/128, momentum 0.9, L2 0.0005*128, batch 128) and prints test accuracy;
2. prunes it with ``Hook('pruning')`` in stages of rising sparsity (static pruning:
   restart from the saved model at each stage);
3. prunes the same trained model in one run with ``Hook('dynamic_pruning')``;
4. prints accuracy, per-layer sparsity and the real bytes of the dense, gzipped and
   compact files of each model.
"""

import argparse
import time

import minidl as paddle
from .models.book_mnist import GROUP_PARAMETERS, build_conv_network
from .pruning import finetune as workflow

TARGETS = {"conv1": 0.5, "conv2": 0.8, "fc": 0.6}


def main(argv=None):
    parser = argparse.ArgumentParser(description="minidl demo: train and prune the book's "
                                                 "MNIST network")
    parser.add_argument("--passes", type=int, default=5, help="training passes")
    parser.add_argument("--prune-passes", type=int, default=6,
                        help="fine-tuning passes of each pruning method")
    parser.add_argument("--prune-lr", type=float, default=0.1,
                        help="fine-tuning rate (x 1/128) while pruning")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-prune", action="store_true", help="train only")
    args = parser.parse_args(argv)

    paddle.init(seed=args.seed)
    print(paddle.dataset.mnist.SUBSET_INFO)
    print(f"backend: {paddle.backends.current_backend().name}\n")
    started = time.perf_counter()
    data = workflow.Data(paddle.dataset.mnist.subset_train(), paddle.dataset.mnist.subset_test())

    print("1. training the book's convolutional network")
    dense = workflow.train_step("dense", build_conv_network, data, args.passes,
                                learning_rate=0.1)
    print(f"test accuracy after {args.passes} passes: {100 * dense.accuracy:.2f} %")
    if args.no_prune:
        return dense.accuracy
    pretrained = dense.tarball()

    stages = 2
    print(f"\n2. static pruning to {TARGETS}, {stages} stages")
    static = workflow.static_pruning(build_conv_network, data, pretrained, TARGETS,
                                     stages=stages, learning_rate=args.prune_lr,
                                     passes_per_stage=max(1, args.prune_passes // stages))
    print(f"\n3. dynamic pruning to the same bounds in one run of {args.prune_passes} passes")
    dynamic = workflow.dynamic_pruning(build_conv_network, data, pretrained, TARGETS,
                                       passes=args.prune_passes, inter_pass=1,
                                       end_pass=max(1, args.prune_passes - 1),
                                       learning_rate=args.prune_lr)
    print()
    print(workflow.summary_table(dense, [static, dynamic]))
    print()
    print(workflow.layer_table([dense, static, dynamic],
                               {name: group for group, name in GROUP_PARAMETERS.items()}))
    print(f"\ntotal time {time.perf_counter() - started:.0f} s")
    return dense.accuracy


if __name__ == "__main__":
    main()
