"""Training runs shared by the MPI scripts (run under ``mpiexec -n 2``) and by
``tests/test_distributed.py``, which runs the same functions in one process as the reference.

Small on purpose: a few dozen samples, two fc layers, the NumPy backend (no JIT start-up).
"""

import numpy as np

import minidl as paddle
from minidl.layers.attrs import Hook, ParamAttr

FEATURES, CLASSES = 6, 3


def samples(n, seed=3):
    """``n`` (features, label) pairs with a label a linear model can mostly learn."""
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((n, FEATURES)).astype(np.float32)
    labels = (xs[:, :CLASSES] * [1.0, 0.5, -1.0]).argmax(axis=1)
    return [(xs[i], int(labels[i])) for i in range(n)]


def classifier(pruned=False):
    """fc(16, tanh) -> fc(3, softmax) -> classification cost, with explicit layer names."""
    x = paddle.layer.data("x", paddle.data_type.dense_vector(FEATURES))
    label = paddle.layer.data("label", paddle.data_type.integer_value(CLASSES))
    hooks = [Hook("dynamic_pruning", upper_bound=0.5, inter_pass=1, end_pass=2)] if pruned \
        else None
    hidden = paddle.layer.fc(input=x, size=16, act=paddle.activation.Tanh(), name="hidden",
                             param_attr=ParamAttr(name="hidden.w", update_hooks=hooks))
    out = paddle.layer.fc(input=hidden, size=CLASSES, act=paddle.activation.Softmax(),
                          name="out")
    cost = paddle.layer.classification_cost(input=out, label=label)
    return out, label, cost


def equivalence_run(passes=3):
    """Pruning hooks, a sample-counting learning-rate schedule, ModelAverage, evaluators,
    a shuffled reader and a last batch of one sample (smaller than two ranks).

    Returns what every rank should agree on, and the single process too.
    """
    paddle.init(seed=7, backend="numpy")
    out, label, cost = classifier(pruned=True)
    paddle.evaluator.precision_recall(input=out, label=label, name="precision_recall")
    parameters = paddle.parameters.create(cost)
    optimizer = paddle.optimizer.Momentum(
        momentum=0.9, learning_rate=0.02, learning_rate_schedule="discexp",
        learning_rate_decay_a=0.5, learning_rate_decay_b=25,
        model_average=paddle.optimizer.ModelAverage(average_window=0.5))
    trainer = paddle.trainer.SGD(cost, parameters, optimizer)
    data = samples(41)   # batches of 10, 10, 10, 10, 1
    reader = paddle.batch(paddle.reader.shuffle(lambda: iter(data), buf_size=64), 10,
                          drop_last=False)
    record = {"costs": [], "metrics": [], "pass_metrics": [], "is_main": set(), "rank": set()}

    def handler(event):
        record["is_main"].add(event.is_main)
        record["rank"].add(event.rank)
        if isinstance(event, paddle.event.EndIteration):
            record["costs"].append(event.cost)
            record["metrics"].append(event.metrics)
        if isinstance(event, paddle.event.EndPass):
            record["pass_metrics"].append(event.metrics)

    trainer.train(reader, num_passes=passes, event_handler=handler,
                  feeding={"x": 0, "label": 1})
    test = trainer.test(paddle.batch(lambda: iter(samples(20, seed=4)), 20))
    record.update(
        parameters={name: parameters.get(name) for name in parameters.names()},
        test_cost=test.cost,   # read through ModelAverage's averaged values
        num_samples=trainer.updater.num_samples, learning_rate=trainer.updater.learning_rate())
    return record


def batch_norm_run(data):
    """One training batch of ``data`` through batch_norm: the moving mean and variance."""
    paddle.init(seed=11, backend="numpy")
    x = paddle.layer.data("x", paddle.data_type.dense_vector(FEATURES))
    y = paddle.layer.data("y", paddle.data_type.dense_vector(1))
    normed = paddle.layer.batch_norm(input=x, act=paddle.activation.Linear(), name="bn")
    out = paddle.layer.fc(input=normed, size=1, act=paddle.activation.Linear(), name="fit")
    cost = paddle.layer.square_error_cost(input=out, label=y)
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, parameters, paddle.optimizer.Momentum(learning_rate=0.01))
    batch = [(features, [float(features.sum())]) for features, _ in data]
    trainer.train(lambda: iter([batch]), num_passes=1, feeding={"x": 0, "y": 1})
    return parameters.get("_bn.w1"), parameters.get("_bn.w2")


def plain_run(passes, init_tar=None, on_event=None):
    """Constant-rate SGD (no optimizer state) in a fixed order: resuming from a pass-end
    tarball continues exactly as the uninterrupted run."""
    paddle.init(seed=5, backend="numpy")
    _, _, cost = classifier()
    parameters = paddle.parameters.create(cost)
    if init_tar is not None:
        parameters.init_from_tar(init_tar)
    trainer = paddle.trainer.SGD(cost, parameters, paddle.optimizer.Momentum(learning_rate=0.02))
    data = samples(40)
    trainer.train(paddle.batch(lambda: iter(data), 10), num_passes=passes,
                  event_handler=lambda event: on_event and on_event(trainer, event),
                  feeding={"x": 0, "label": 1})
    return {name: parameters.get(name) for name in parameters.names()}
