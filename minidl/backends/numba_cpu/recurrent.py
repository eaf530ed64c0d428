"""Numba ``lstm_forward`` / ``lstm_backward`` / ``gru_forward`` / ``gru_backward``.

Same signatures, equations and outputs as the references (``backends/numpy_ref/recurrent.py``,
which loop over one sequence and one row at a time). Here the loop runs over TIME, once per
timestep of the longest sequence, and each step handles every sequence still running at
once, as PyTorch's ``PackedSequence`` does; the plan of which packed row each running
sequence reads at each step is ``packed_steps.py``. Per step:

* the recurrent product ``h[t-1] @ w`` is one BLAS call from Python (``gemm.py``, cut
  across Numba's threads; a Numba loop over the same 64 x 512 x 2048 product took 15x
  longer) over the running sequences'
  previous outputs, kept contiguous in a time-major copy of ``h`` (``h_steps``);
* one Numba pass over the running sequences adds the input row and the bias, applies the
  gates and writes the results straight into the packed output rows (and ``h_steps``).

Backward runs the steps in reverse. The gradient reaching ``h[t-1]`` is one BLAS product of
the step's gate gradients with ``w.T``; the weight gradient is ONE large product at the end,
``h_prev.T @ dz`` over every step at once (the gate gradients are also kept time-major for
it). A pass runs on one thread below ``packed_steps.SERIAL_BELOW`` values per step
(``threads.py``). The passes apply the activations of ``recurrent_activations.py`` (a
rational float32 ``tanh``, vectorised by LLVM).

The kernels themselves: ``lstm.py`` and ``gru.py``; importing this module registers them.
"""

from .gru import gru_backward, gru_forward
from .lstm import lstm_backward, lstm_forward

__all__ = ["gru_backward", "gru_forward", "lstm_backward", "lstm_forward"]
