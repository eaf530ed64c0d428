"""Reference kernels of pruned recurrent layers at inference: ``lstm_forward_csr`` and
``gru_forward_csr``.

They compute what ``lstm_forward`` / ``gru_forward`` compute (``recurrent.py`` states the
equations), only forward and only the output ``h``, with the recurrent weight given as CSR
rows in the convention of ``csr_matmul`` (``sparse.py``): the step's product
``h[t-1] @ w`` is ``csr_matmul(w.T)`` of ``h[t-1]``, so the CSR holds ``w.T``, one row per
gate column and ``H`` columns -- ``minidl.sparse_inference.layout.fc_layout(w)`` builds it::

    lstm_forward_csr:  w (H, 4H)                       -> one CSR of 4H rows x H columns
    gru_forward_csr:   w_gate (H, 2H), w_state (H, H)  -> a CSR of 2H x H, then one of H x H
                       (the two matrices Paddle's GRU weight memory holds, see
                       ``recurrent.gru_weight_views``)

The values are float32, so both kernels compute in float32 (``x`` and ``bias`` are cast).
Here the CSR rows are made dense again and the dense reference runs: the definition, not a
fast path (the ``cpu`` backend's kernels in ``numba_cpu/sparse_recurrent.py`` multiply with
the CSR rows at each step).
"""

from ...core.geometry import check_csr
from ...core.xp import get_array_module
from ..registry import register
from .recurrent import gru_forward, gru_weight_join, lstm_forward
from .sparse import csr_to_dense


def csr_weight(indptr, indices, values, shape, what):
    """The dense weight ``w`` whose transpose ``(rows, cols) = shape`` the CSR arrays hold."""
    check_csr(indptr, indices, values, None, what)
    if len(indptr) - 1 != shape[0]:
        raise ValueError(f"{what}: the CSR weight has {len(indptr) - 1} rows, expected "
                         f"{shape[0]} (one per gate column)")
    return csr_to_dense(indptr, indices, values, shape).T


def _float32(*arrays):
    return tuple(get_array_module(a).asarray(a, dtype="float32") for a in arrays)


@register("lstm_forward_csr")
def lstm_forward_csr(x, indptr, indices, values, bias, starts, reverse, act, gate_act,
                     state_act):
    """``h`` of ``lstm_forward(x, w, bias, ...)`` with ``w.T`` as CSR rows.

    Notation: ``x: (R, 4H)``; CSR ``(4H, H)``; ``bias: (7H,)``; ``starts: (S + 1,)``
    -> ``h: (R, H)`` float32.
    """
    x, bias = _float32(x, bias)
    hidden = x.shape[1] // 4
    w = csr_weight(indptr, indices, values, (4 * hidden, hidden), "lstm_forward_csr")
    return lstm_forward(x, w, bias, starts, reverse, act, gate_act, state_act)[0]


@register("gru_forward_csr")
def gru_forward_csr(x, gate_indptr, gate_indices, gate_values, state_indptr, state_indices,
                    state_values, bias, starts, reverse, act, gate_act):
    """``h`` of ``gru_forward(x, w, bias, ...)`` with ``w_gate.T`` and ``w_state.T`` as CSR
    rows.

    Notation: ``x: (R, 3H)``; CSRs ``(2H, H)`` and ``(H, H)``; ``bias: (3H,)``;
    ``starts: (S + 1,)`` -> ``h: (R, H)`` float32.
    """
    x, bias = _float32(x, bias)
    hidden = x.shape[1] // 3
    w_gate = csr_weight(gate_indptr, gate_indices, gate_values, (2 * hidden, hidden),
                        "gru_forward_csr (gate weight)")
    w_state = csr_weight(state_indptr, state_indices, state_values, (hidden, hidden),
                         "gru_forward_csr (candidate weight)")
    w = gru_weight_join(w_gate, w_state)
    return gru_forward(x, w, bias, starts, reverse, act, gate_act)[0]
