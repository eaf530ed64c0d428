"""``sampling_id``: one id per row drawn at random from the row's probabilities."""

from ..backends import kernel
from ..backends.numpy_ref import sampling_id as _reference  # noqa: F401  (registers the kernel)
from ..core.random import get_rng
from ..core.tensor import Tensor
from .base import Layer, default_name
from .sequence import check_dense, one_layer, rows


class SamplingIdLayer(Layer):
    """Paddle's ``sampling_id``: row i gives id ``j`` with probability ``x[i, j]`` (rows
    are expected to sum to one, e.g. a softmax output; see the ``sampling_id`` kernel for
    rows that do not).

    Output ``(N,)`` int64 ids, like an ``integer_value`` data layer; ``size`` is the input's
    size (the range of the ids). The draws come from the run's random state (``paddle.init
    (seed=...)`` makes them repeatable). Not differentiable: nothing flows back through it.
    """

    type = "sampling_id"

    def __init__(self, input, name=None, layer_attr=None):
        name = name or default_name("sampling_id_layer")
        input = one_layer(input, "input", name)
        check_dense(input, name, self.type)
        super().__init__(name, [input], input.size, layer_attr=layer_attr)

    def forward(self, ctx, xs):
        probs = rows(xs[0], self).data
        rng = ctx.rng if ctx.rng is not None else get_rng()
        return Tensor(kernel("sampling_id")(probs, rng.random(probs.shape[0])))


def sampling_id(input, name=None, layer_attr=None):
    """v2's ``paddle.layer.sampling_id`` (``sampling_id_layer``)."""
    return SamplingIdLayer(input, name, layer_attr)
