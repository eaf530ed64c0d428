"""Shared by the tests of the book's chapters: the example scripts of ``examples/`` loaded as
modules, and training a few passes while recording the cost (the dataset fixtures
``offline``, ``home`` and ``offline_cache`` are in ``conftest.py``)."""

import importlib.util
import pathlib

import numpy as np

import minidl as paddle

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def load_example(name):
    """``examples/<name>.py`` as a module (its ``main()`` not run)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_passes(cost, parameters, optimizer, samples, batch_size, passes, feeding=None,
                 extra_layers=None):
    """Mean training cost of each pass (in sample order, no shuffling)."""
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters, update_equation=optimizer,
                                 extra_layers=extra_layers)
    costs, per_pass = [], []

    def handler(event):
        if isinstance(event, paddle.event.EndIteration):
            costs.append(event.cost)
        if isinstance(event, paddle.event.EndPass):
            per_pass.append(float(np.mean(costs)))
            costs.clear()

    trainer.train(paddle.batch(lambda: iter(samples), batch_size), num_passes=passes,
                  event_handler=handler, feeding=feeding)
    assert np.all(np.isfinite(per_pass))
    return per_pass


def falls(costs):
    """Every pass lowers the cost, and the last is clearly below the first."""
    return all(b < a for a, b in zip(costs, costs[1:])) and costs[-1] < 0.9 * costs[0]
