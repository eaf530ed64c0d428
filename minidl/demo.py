"""The main job: ``python -m minidl.demo``.

Trains the PaddlePaddle book's convolutional MNIST network (two conv+pool groups and a
softmax fc; Momentum 0.1/128, momentum 0.9, L2 0.0005*128, batch 128) on the real MNIST
digits shipped with minidl and prints the test accuracy after each pass.
"""

import argparse
import time

import minidl as paddle
from minidl.models.book_mnist import convolutional_neural_network


def train(passes=5, seed=1, log=print):
    """Train from scratch; returns (trainer, parameters, test accuracy)."""
    paddle.init(use_gpu=False, trainer_count=1, seed=seed)
    paddle.layer.reset_names()
    images = paddle.layer.data(name="pixel", type=paddle.data_type.dense_vector(784))
    label = paddle.layer.data(name="label", type=paddle.data_type.integer_value(10))
    predict = convolutional_neural_network(images)
    cost = paddle.layer.classification_cost(input=predict, label=label)
    parameters = paddle.parameters.create(cost)
    optimizer = paddle.optimizer.Momentum(
        learning_rate=0.1 / 128.0, momentum=0.9,
        regularization=paddle.optimizer.L2Regularization(rate=0.0005 * 128))
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters, update_equation=optimizer)
    mnist = paddle.dataset.mnist
    test_batches = paddle.batch(mnist.subset_test(), batch_size=128, drop_last=False)
    started = time.perf_counter()

    def on_event(event):
        if isinstance(event, paddle.event.EndPass):
            result = trainer.test(reader=test_batches)
            accuracy = 1 - result.metrics["classification_error_evaluator"]
            train_error = event.metrics["classification_error_evaluator"]
            log(f"pass {event.pass_id}: train error {train_error:.4f}"
                f"  test accuracy {100 * accuracy:.2f} %  ({time.perf_counter() - started:.0f} s)")

    trainer.train(reader=paddle.batch(paddle.reader.shuffle(mnist.subset_train(), buf_size=8192),
                                      batch_size=128),
                  num_passes=passes, event_handler=on_event)
    result = trainer.test(reader=test_batches)
    return trainer, parameters, 1 - result.metrics["classification_error_evaluator"]


def main(argv=None):
    parser = argparse.ArgumentParser(description="minidl demo: the book's MNIST network")
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(f"data: {paddle.dataset.mnist.SUBSET_INFO}")
    print(f"backend: {paddle.backends.current_backend().name}")
    _, _, accuracy = train(args.passes, args.seed)
    print(f"test accuracy after {args.passes} passes: {100 * accuracy:.2f} %")
    return accuracy


if __name__ == "__main__":
    main()
