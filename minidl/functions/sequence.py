"""Sequence operations as autograd Functions (kernels in ``backends/numpy_ref/sequence.py``).

Each takes packed rows ``(R, D)`` and host offsets (``starts``) given at construction: the
offsets are constants of the function, like a convolution's stride. The layer chooses them
(sequence starts, subsequence starts or stride windows) and gives the output its layout.
"""

from ..backends import kernel
from ..core.tensor import Function


class SequencePool(Function):
    """Average, sum or sum/sqrt(n) of each group of rows: ``(R, D) -> (S, D)``.

    ``strategy``: ``'average'``, ``'sum'`` or ``'squarerootn'``. Backward needs only the
    offsets, so nothing is saved.
    """

    def __init__(self, starts, strategy):
        self.starts = starts
        self.strategy = strategy

    def forward(self, x):
        return kernel("seq_pool_forward")(x, self.starts, self.strategy)

    def backward(self, gy):
        return kernel("seq_pool_backward")(gy, self.starts, self.strategy)


class SequenceMaxPool(Function):
    """Column-wise maximum of each group of rows: ``(R, D) -> (S, D)``; keeps the winning
    row of every output entry (``argmax: (S, D)`` int64) for backward."""

    def __init__(self, starts):
        self.starts = starts

    def forward(self, x):
        y, argmax = kernel("seq_max_pool_forward")(x, self.starts)
        self.num_rows = x.shape[0]
        self.save_for_backward(argmax)
        return y

    def backward(self, gy):
        (argmax,) = self.saved
        return kernel("seq_max_pool_backward")(gy, argmax, self.num_rows)


class SequenceInstance(Function):
    """The first (``select_first``) or last row of each group: ``(R, D) -> (S, D)``."""

    def __init__(self, starts, select_first):
        self.starts = starts
        self.select_first = bool(select_first)

    def forward(self, x):
        return kernel("seq_instance_forward")(x, self.starts, self.select_first)

    def backward(self, gy):
        return kernel("seq_instance_backward")(gy, self.starts, self.select_first)


class SequenceExpand(Function):
    """Row i repeated over group i: ``(S, D) -> (starts[-1], D)``; backward sums each group
    of the output gradient (the ``sum`` pooling)."""

    def __init__(self, starts):
        self.starts = starts

    def forward(self, x):
        return kernel("seq_expand_forward")(x, self.starts)

    def backward(self, gy):
        return kernel("seq_pool_forward")(gy, self.starts, "sum")


class SequenceConcat(Function):
    """Sequence i of ``a`` then sequence i of ``b``: ``(Ra, D), (Rb, D) -> (Ra + Rb, D)``."""

    def __init__(self, starts_a, starts_b):
        self.starts_a = starts_a
        self.starts_b = starts_b

    def forward(self, a, b):
        return kernel("seq_concat_forward")(a, self.starts_a, b, self.starts_b)

    def backward(self, gy):
        ga, gb = kernel("seq_concat_backward")(gy, self.starts_a, self.starts_b)
        return (ga if self.needs_input_grad[0] else None,
                gb if self.needs_input_grad[1] else None)


def sequence_pool(x, starts, strategy):
    """``strategy``: ``'max'``, ``'average'``, ``'sum'`` or ``'squarerootn'``."""
    if strategy == "max":
        return SequenceMaxPool(starts)(x)
    return SequencePool(starts, strategy)(x)


def sequence_instance(x, starts, select_first):
    return SequenceInstance(starts, select_first)(x)


def sequence_expand(x, starts):
    return SequenceExpand(starts)(x)


def sequence_concat(a, starts_a, b, starts_b):
    return SequenceConcat(starts_a, starts_b)(a, b)
