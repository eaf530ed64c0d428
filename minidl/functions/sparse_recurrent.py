"""The fused recurrent layers with a pruned recurrent weight held as CSR rows: inference only.

``minidl.sparse_inference`` builds the CSR layouts (``layout.recurrent_layout``: the rows of
``w.T``, as ``csr_matmul`` takes them) and asks the layer to run with them; the kernels
(``backends/numpy_ref/sparse_recurrent.py``) compute what ``lstm`` / ``gru`` compute, only
the output and without recording a gradient (there is none to take through a layout).
"""

from ..backends import kernel
from ..core.tensor import Tensor


def _bias(x, bias, size):
    if bias is None:
        return x.xp.zeros(size, dtype="float32")
    return bias.data.reshape(-1)


def lstm_csr(x, csr, bias, starts, reverse=False, act="tanh", gate_act="sigmoid",
             state_act="tanh"):
    """``lstm(x, w, bias, starts, ...)`` with ``csr = (CSR of w.T,)``; float32."""
    (w,) = csr
    hidden = x.shape[1] // 4
    return Tensor(kernel("lstm_forward_csr")(x.data, w.indptr, w.indices, w.values,
                                             _bias(x, bias, 7 * hidden), starts, bool(reverse),
                                             act, gate_act, state_act))


def gru_csr(x, csr, bias, starts, reverse=False, act="tanh", gate_act="sigmoid"):
    """``gru(x, w, bias, starts, ...)`` with ``csr = (CSR of w_gate.T, CSR of w_state.T)``
    (Paddle's two matrices, see ``layout.recurrent_layout``); float32."""
    gate, state = csr
    hidden = x.shape[1] // 3
    return Tensor(kernel("gru_forward_csr")(x.data, gate.indptr, gate.indices, gate.values,
                                            state.indptr, state.indices, state.values,
                                            _bias(x, bias, 3 * hidden), starts, bool(reverse),
                                            act, gate_act))
