"""``multiplex`` as an autograd Function (kernels in ``backends/numpy_ref/multiplex.py``)."""

from ..backends import kernel
from ..backends.numpy_ref import multiplex as _reference  # noqa: F401  (registers the kernels)
from ..core.tensor import Function
from ..core.xp import as_numpy


class Multiplex(Function):
    """``y[i] = xs[ids[i]][i]``: ``(N,)`` ids and C candidates ``(N, D)`` -> ``(N, D)``.

    The ids get no gradient; each candidate gets ``gy`` at the rows that chose it.
    """

    def forward(self, ids, *xs):
        chosen = as_numpy(ids)
        if chosen.size and (chosen.min() < 0 or chosen.max() >= len(xs)):
            raise ValueError(f"multiplex: ids must lie in [0, {len(xs)}) (one per candidate "
                             f"input), got {sorted(set(chosen.tolist()))}")
        self.save_for_backward(ids)
        return kernel("multiplex_forward")(ids, *xs)

    def backward(self, gy):
        (ids,) = self.saved
        grads = kernel("multiplex_backward")(ids, gy, len(self.needs_input_grad) - 1)
        return (None,) + tuple(g if need else None
                               for g, need in zip(grads, self.needs_input_grad[1:]))


def multiplex(ids, xs):
    return Multiplex()(ids, *xs)
