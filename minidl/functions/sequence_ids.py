"""Index-valued operations (``kmax_seq_score``, ``eos``): kernels in
``backends/numpy_ref/sequence_ids.py``. Their outputs are new leaf Tensors -- no gradient
flows back through an index, as in Paddle."""

from ..backends import kernel
from ..backends.numpy_ref import sequence_ids as _kernels  # noqa: F401  registers them
from ..core.tensor import Tensor


def kmax_seq_score(scores, unit_starts, beam_size):
    """``(U, beam_size)``: the positions of each unit's best scores, -1 past its length."""
    return Tensor(kernel("kmax_seq_score")(scores.data, unit_starts, int(beam_size)))


def eos_check(ids, eos_id):
    """``(R,)`` int64: 1 where ``ids`` equals ``eos_id``, else 0."""
    return Tensor(kernel("eos_check")(ids.data, int(eos_id)))
