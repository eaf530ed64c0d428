"""Train MobileNet v1 on Oxford 102 Flowers, as PaddlePaddle's v2 demo did.

    python examples/mobilenet_flowers.py                       # the real flowers files
    python examples/mobilenet_flowers.py --tiny                # a tiny generated set (smoke run)
    python examples/mobilenet_flowers.py --prune --init-model mobilenet_flowers.tar.gz

Paddle's settings: batch 40, ``Momentum(momentum=0.9,
regularization=L2Regularization(0.0005 * 40), learning_rate=0.001 / 40)``, 224x224 crops
(``paddle.dataset.flowers``: random crop and flip for training, centre crop for testing).
The real files (``102flowers.tgz``, ``imagelabels.mat``, ``setid.mat``) are read from
``$MINIDL_DATA_HOME/flowers`` or downloaded; when neither works the script says what to put
where.

``--prune`` is Paddle's MobileNet pruning demo: dynamic pruning of every 1x1 (pointwise)
conv weight up to sparsity 0.75 and of the fc weight up to 0.8, along the design's
logarithmic schedule (``--inter-pass``, ``--end-pass``); start it from a trained model
(``--init-model``), as the demo fine-tuned a pretrained one. A sparsity report is printed
after training.

``--tiny`` trains on a small generated set (colour patterns, one per class) at a small width,
input size and batch, so the whole script runs in seconds on a CPU.
"""

import argparse
import sys

import numpy as np

import minidl as paddle
from minidl.layers.attrs import Hook, ParamAttr
from minidl.dataset.common import DatasetNotFound
from minidl.models.mobilenet import image_layer, mobile_net
from minidl.pruning import format_report, sparsity_report

BATCH = 40
POINTWISE_UPPER_BOUND, FC_UPPER_BOUND = 0.75, 0.8


def tiny_flowers(count, input_size, classes, seed):
    """A generated stand-in for the flowers readers: ``count`` samples
    ``(float32[3*S*S], label)``; class ``k`` is a fixed colour pattern plus noise."""
    rng = np.random.default_rng(seed)
    patterns = rng.standard_normal((classes, 3, 1, 1)) * 40 + \
        rng.standard_normal((classes, 1, input_size, input_size)) * 20
    labels = rng.integers(0, classes, count)
    images = patterns[labels] + rng.standard_normal((count, 3, input_size, input_size)) * 10

    def reader():
        for image, label in zip(images, labels):
            yield image.astype(np.float32).reshape(-1), int(label)
    return reader


def pruning_attrs(inter_pass, end_pass):
    """``(pointwise, fc)`` ParamAttrs with the demo's dynamic pruning hooks."""
    def attr(upper_bound):
        return ParamAttr(update_hooks=Hook("dynamic_pruning", sparsity_upper_bound=upper_bound,
                                           interval_pass=inter_pass, end_pass=end_pass))
    return attr(POINTWISE_UPPER_BOUND), attr(FC_UPPER_BOUND)


def readers(tiny, input_size, classes, seed):
    if tiny:
        return (tiny_flowers(8 * classes, input_size, classes, seed),
                tiny_flowers(2 * classes, input_size, classes, seed + 1))
    flowers = paddle.dataset.flowers
    return flowers.train(), flowers.test()


def main(tiny=False, prune=False, passes=None, batch_size=None, scale=None, input_size=None,
         classes=None, inter_pass=3, end_pass=60, init_model=None, save=None, seed=1,
         learning_rate=None, event_handler=None, verbose=True):
    """Train; return ``(test accuracy, trainer)``.

    ``learning_rate`` defaults to Paddle's ``0.001 / batch_size``; ``event_handler`` is
    called with every event after the script's own.
    """
    scale = scale if scale is not None else (0.25 if tiny else 1.0)
    input_size = input_size or (32 if tiny else 224)
    classes = classes or (4 if tiny else 102)
    passes = passes if passes is not None else (3 if tiny else 100)
    batch_size = batch_size or (8 if tiny else BATCH)
    paddle.init(use_gpu=False, trainer_count=1, seed=seed)

    image = image_layer(input_size)
    label = paddle.layer.data(name="label", type=paddle.data_type.integer_value(classes))
    pointwise_attr, fc_attr = pruning_attrs(inter_pass, end_pass) if prune else (None, None)
    out = mobile_net(image, classes, scale, pointwise_attr=pointwise_attr, fc_attr=fc_attr)
    cost = paddle.layer.classification_cost(input=out, label=label)

    parameters = paddle.parameters.create(cost)
    if init_model:
        parameters.init_from_tar(init_model)  # .tar or .tar.gz, read with bounds
    optimizer = paddle.optimizer.Momentum(
        momentum=0.9, regularization=paddle.optimizer.L2Regularization(rate=0.0005 * batch_size),
        learning_rate=learning_rate or 0.001 / batch_size)
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters, update_equation=optimizer)

    train_reader, test_reader = readers(tiny, input_size, classes, seed)
    feeding = {"image": 0, "label": 1}

    def test():
        return trainer.test(reader=paddle.batch(test_reader, batch_size=batch_size,
                                                drop_last=False), feeding=feeding)

    def handle(event):
        if event_handler is not None:
            event_handler(event)
        if not verbose:
            return
        if isinstance(event, paddle.event.EndIteration) and event.batch_id % 10 == 0:
            print(f"pass {event.pass_id}, batch {event.batch_id}, cost {event.cost:.4f}, "
                  f"{event.metrics}")
        if isinstance(event, paddle.event.EndPass):
            result = test()
            print(f"pass {event.pass_id}: test cost {result.cost:.4f}, "
                  f"{result.metrics}")

    trainer.train(reader=paddle.batch(paddle.reader.shuffle(train_reader, buf_size=1024),
                                      batch_size=batch_size),
                  num_passes=passes, event_handler=handle, feeding=feeding)
    accuracy = 1 - test().metrics["classification_error_evaluator"]
    if prune and verbose:
        print(format_report(sparsity_report(trainer)))
    if save:
        trainer.save_parameter_to_tar(save)  # by path: atomic, the old file survives a crash
    return accuracy, trainer


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="train on a tiny generated set")
    parser.add_argument("--prune", action="store_true",
                        help="dynamic pruning of the pointwise convs (0.75) and the fc (0.8)")
    parser.add_argument("--passes", type=int)
    parser.add_argument("--batch-size", type=int, help=f"default {BATCH}; --tiny 8")
    parser.add_argument("--scale", type=float, help="width multiplier (default 1; --tiny 0.25)")
    parser.add_argument("--input-size", type=int, help="multiple of 32 (default 224; --tiny 32)")
    parser.add_argument("--inter-pass", type=int, default=3)
    parser.add_argument("--end-pass", type=int, default=60)
    parser.add_argument("--init-model", help="start from these parameters (a tarball)")
    parser.add_argument("--save", help="write the trained parameters to this tarball")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    try:
        accuracy, _ = main(args.tiny, args.prune, args.passes, args.batch_size, args.scale,
                           args.input_size, None, args.inter_pass, args.end_pass,
                           args.init_model, args.save, args.seed)
    except DatasetNotFound as error:
        sys.exit(f"{error}\n\nTo try the script without the flowers files: "
                 "python examples/mobilenet_flowers.py --tiny")
    print(f"test accuracy: {100 * accuracy:.2f} %")
