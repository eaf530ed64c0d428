"""Recognize digits, as in the PaddlePaddle book (chapter 2), in paddle.v2 style.

    python examples/mnist.py --model conv --passes 5
    python examples/mnist.py --model mlp --full     # the full MNIST (downloaded or in place)

By default it trains on the 5,000-image MNIST subset shipped with minidl (4,000 train /
1,000 test); ``--full`` reads the upstream MNIST files (see README, "Datasets").
"""

import argparse

import minidl as paddle
from minidl.models.book_mnist import MODELS


def main(model="conv", passes=5, full=False, seed=1, save=None, verbose=True):
    paddle.init(use_gpu=False, trainer_count=1, seed=seed)
    images = paddle.layer.data(name="pixel", type=paddle.data_type.dense_vector(784))
    label = paddle.layer.data(name="label", type=paddle.data_type.integer_value(10))
    predict = MODELS[model](images)
    cost = paddle.layer.classification_cost(input=predict, label=label)

    parameters = paddle.parameters.create(cost)
    optimizer = paddle.optimizer.Momentum(
        learning_rate=0.1 / 128.0, momentum=0.9,
        regularization=paddle.optimizer.L2Regularization(rate=0.0005 * 128))
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters, update_equation=optimizer)

    mnist = paddle.dataset.mnist
    train_reader = mnist.train if full else mnist.subset_train
    test_reader = mnist.test if full else mnist.subset_test
    if verbose:
        print("data:", "full MNIST" if full else mnist.SUBSET_INFO)

    def event_handler(event):
        if isinstance(event, paddle.event.EndPass):
            result = trainer.test(reader=paddle.batch(test_reader(), batch_size=128,
                                                      drop_last=False))
            if verbose:
                error = result.metrics["classification_error_evaluator"]
                print(f"pass {event.pass_id}: test cost {result.cost:.4f}, "
                      f"accuracy {100 * (1 - error):.2f} %")

    trainer.train(
        reader=paddle.batch(paddle.reader.shuffle(train_reader(), buf_size=8192),
                            batch_size=128),
        event_handler=event_handler, num_passes=passes)
    result = trainer.test(reader=paddle.batch(test_reader(), batch_size=128, drop_last=False))
    accuracy = 1 - result.metrics["classification_error_evaluator"]
    if save:
        trainer.save_parameter_to_tar(save)  # by path: atomic, the old file survives a crash
    return accuracy, parameters


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="conv")
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--full", action="store_true", help="use the full upstream MNIST")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--save", help="write the trained parameters to this tarball")
    args = parser.parse_args()
    accuracy, _ = main(args.model, args.passes, args.full, args.seed, args.save)
    print(f"test accuracy: {100 * accuracy:.2f} %")
