"""``paddle.event``: what a trainer tells the ``event_handler`` while it runs.

Order within one pass::

    BeginPass
      BeginIteration -> (forward, backward) -> EndForwardBackward -> (update) -> EndIteration
      ... one group per batch ...
    EndPass

``cost`` is the batch's cost sum divided by its size; ``metrics`` maps evaluator names to
values (``{'classification_error_evaluator': 0.12}``). ``evaluator`` is kept for scripts
that print it.

Under MPI every rank fires every event, with the same ``cost`` and ``metrics`` (those of the
whole batch); ``event.rank`` says which rank fires it and ``event.is_main`` is True on rank 0
only (in one process: 0 and True)::

    if isinstance(event, paddle.event.EndPass) and event.is_main:
        trainer.save_parameter_to_tar(f"params_pass_{event.pass_id}.tar")
"""


class Event:
    """What every event has: the rank that fires it (set by the trainer)."""

    rank = 0
    is_main = True


class Metrics:
    """Evaluator results; prints like Paddle's evaluator (``name=value`` pairs).

    An evaluator of several values (``paddle.evaluator.chunk``) gives a dict; each of its
    entries shows as ``<name>.<key>``, as v2's ``getNames()`` listed them
    (``__chunk_evaluator_0__.F1-score``).
    """

    def __init__(self, values):
        self.values = {}
        for name, value in dict(values).items():
            if isinstance(value, dict):
                self.values.update((f"{name}.{key}", each) for key, each in value.items())
            else:
                self.values[name] = value

    def __str__(self):
        return " ".join(f"{k}={v:.6g}" for k, v in self.values.items())

    __repr__ = __str__


class WithMetric(Event):
    def __init__(self, evaluator):
        self.evaluator = evaluator if isinstance(evaluator, Metrics) else Metrics(evaluator or {})

    @property
    def metrics(self):
        return dict(self.evaluator.values)


class BeginPass(Event):
    def __init__(self, pass_id):
        self.pass_id = pass_id


class EndPass(WithMetric):
    """``metrics`` are over the whole pass; ``gm`` is None (no gradient machine here)."""

    def __init__(self, pass_id, evaluator=None, gm=None):
        super().__init__(evaluator)
        self.pass_id = pass_id
        self.gm = gm


class BeginIteration(Event):
    def __init__(self, pass_id, batch_id):
        self.pass_id = pass_id
        self.batch_id = batch_id


class EndForwardBackward(Event):
    """Gradients are computed, parameters not yet updated."""

    def __init__(self, pass_id, batch_id, gm=None):
        self.pass_id = pass_id
        self.batch_id = batch_id
        self.gm = gm


class EndIteration(WithMetric):
    def __init__(self, pass_id, batch_id, cost, evaluator=None, gm=None):
        super().__init__(evaluator)
        self.pass_id = pass_id
        self.batch_id = batch_id
        self.cost = cost
        self.gm = gm


class TestResult(WithMetric):
    """What ``trainer.test`` returns: ``cost`` (sum over samples / samples) and ``metrics``."""

    __test__ = False  # not a pytest class

    def __init__(self, evaluator, cost):
        super().__init__(evaluator)
        self.cost = cost

__all__ = ["Event", "Metrics", "WithMetric", "BeginPass", "EndPass", "BeginIteration",
           "EndForwardBackward", "EndIteration", "TestResult"]
