"""The attention weights of ``networks.simple_attention``: Paddle's ``fc_layer(size=1,
act=SequenceSoftmaxActivation(), bias_attr=False)`` -- one score per row, normalised over the
rows of each sequence.

A layer of its own because the softmax reads the sequence layout, which an activation object
does not see; the parameter is the fc's (``_<name>.w0``, dims ``(input size, 1)``), so v2
tarballs load.
"""

from ..functions.sequence_softmax import sequence_softmax
from .activations import Linear
from .base import SEQUENCE_LEVELS, with_layout
from .fc import FcLayer


class SequenceSoftmaxFcLayer(FcLayer):
    """``fc`` of size 1 without bias, then a softmax over each sequence's rows."""

    def __init__(self, input, name, param_attr=None, layer_attr=None):
        super().__init__(input, 1, act=Linear(), name=name, param_attr=param_attr,
                         bias_attr=False, layer_attr=layer_attr)
        if self.seq_level == 0:
            raise ValueError(f"layer {name} (fc with sequence softmax): its input is a "
                             f"{SEQUENCE_LEVELS[0]}; the softmax normalises over the rows of "
                             "each sequence")

    def compute(self, ctx, xs):
        scores = super().compute(ctx, xs)
        return with_layout(sequence_softmax(scores, scores.seq.starts), scores.seq)


__all__ = ["SequenceSoftmaxFcLayer"]
