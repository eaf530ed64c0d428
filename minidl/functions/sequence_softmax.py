"""Softmax over the rows of each sequence (Paddle's ``SequenceSoftmax`` activation, of a
layer of size 1): row ``r`` of sequence ``s`` becomes ``exp(x_r) / sum of exp over s``.

As Paddle's softmax, the shifted input ``x - max over the sequence`` is clipped at ``-64``
before ``exp``. Written with ``xp`` directly (``reduceat`` over the sequence starts).
"""

from ..core.tensor import Function
from ..core.xp import get_array_module

#: Paddle's softmax floor on the shifted input (as ``act_softmax``)
MIN_SHIFTED = -64.0


class SequenceSoftmax(Function):
    """``x: (R, 1)`` -> ``(R, 1)``, normalised within each sequence of ``starts``; keeps the
    output for backward: ``gx = y * (gy - sum over the sequence of gy * y)``."""

    def __init__(self, starts):
        self.starts = starts

    def forward(self, x):
        xp = get_array_module(x)
        starts = xp.asarray(self.starts[:-1])
        lengths = xp.asarray(self.starts[1:] - self.starts[:-1])
        column = x.reshape(-1)
        peak = xp.repeat(xp.maximum.reduceat(column, starts), lengths)
        e = xp.exp(xp.maximum(column - peak, MIN_SHIFTED))
        y = (e / xp.repeat(xp.add.reduceat(e, starts), lengths)).reshape(x.shape)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        xp = get_array_module(gy)
        starts = xp.asarray(self.starts[:-1])
        lengths = xp.asarray(self.starts[1:] - self.starts[:-1])
        dot = xp.repeat(xp.add.reduceat((gy * y).reshape(-1), starts), lengths)
        return y * (gy - dot.reshape(y.shape))


def sequence_softmax(x, starts):
    return SequenceSoftmax(starts)(x)


__all__ = ["SequenceSoftmax", "sequence_softmax"]
