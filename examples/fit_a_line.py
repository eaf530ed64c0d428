"""Linear regression on the UCI housing data, as in the PaddlePaddle book (chapter 1).

    python examples/fit_a_line.py              # infer with the real Paddle tarball
    python examples/fit_a_line.py --train      # train first (needs housing.data, see README)

The tarball ``examples/data/fit_a_line.tar`` was written by PaddlePaddle v2 itself; minidl
loads it byte for byte and predicts with it.
"""

import argparse
import os

import numpy as np

import minidl as paddle

TARBALL = os.path.join(os.path.dirname(__file__), "data", "fit_a_line.tar")


def network():
    x = paddle.layer.data(name="x", type=paddle.data_type.dense_vector(13))
    y_predict = paddle.layer.fc(input=x, size=1, act=paddle.activation.Linear())
    y = paddle.layer.data(name="y", type=paddle.data_type.dense_vector(1))
    cost = paddle.layer.square_error_cost(input=y_predict, label=y)
    return x, y_predict, cost


def train(cost, parameters, passes=30):
    optimizer = paddle.optimizer.Momentum(momentum=0)
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters, update_equation=optimizer)

    def event_handler(event):
        if isinstance(event, paddle.event.EndPass) and event.pass_id % 10 == 0:
            result = trainer.test(reader=paddle.batch(paddle.dataset.uci_housing.test(), 2))
            print(f"pass {event.pass_id}, test cost {result.cost:.4f}")

    trainer.train(reader=paddle.batch(paddle.reader.shuffle(paddle.dataset.uci_housing.train(),
                                                            buf_size=500), batch_size=2),
                  feeding={"x": 0, "y": 1}, event_handler=event_handler, num_passes=passes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true")
    args = parser.parse_args()
    paddle.init(use_gpu=False, trainer_count=1, seed=1)
    x, y_predict, cost = network()
    if args.train:
        parameters = paddle.parameters.create(cost)
        train(cost, parameters)
    else:
        parameters = paddle.parameters.Parameters.from_tar(TARBALL)
    w = parameters.get("___fc_layer_0__.w0")[:, 0]
    b = parameters.get("___fc_layer_0__.wbias")[0, 0]
    print("w0 =", np.array2string(w, precision=4), " b =", b)
    try:
        samples = [(features,) for features, _ in paddle.dataset.uci_housing.test()()][:5]
    except paddle.dataset.common.DatasetNotFound:
        print("(housing.data not available offline: predicting on normalised example inputs)")
        samples = [(np.full(13, v, np.float32),) for v in (-0.2, 0.0, 0.2)]
    predictions = paddle.infer(output_layer=y_predict, parameters=parameters, input=samples)
    for (features,), predicted in zip(samples, predictions[:, 0]):
        print(f"predicted {predicted:8.3f}   x.w0 + b = {features @ w + b:8.3f}")


if __name__ == "__main__":
    main()
