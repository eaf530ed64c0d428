"""Global switches of the autograd core: default dtype and whether a graph is recorded."""

import contextlib

import numpy as np

#: dtype of parameters and activations unless a caller asks otherwise.
#: Gradient checks switch to float64 with :func:`using_dtype`.
default_dtype = np.float32

#: When False, functions compute outputs but record no graph (inference mode).
grad_enabled = True


@contextlib.contextmanager
def no_grad():
    """Run a block without recording a graph: nothing is retained for backward.

    >>> with no_grad():
    ...     y = f(x)       # y.creator is None, intermediates are freed at once
    """
    global grad_enabled
    previous, grad_enabled = grad_enabled, False
    try:
        yield
    finally:
        grad_enabled = previous


@contextlib.contextmanager
def using_dtype(dtype):
    """Temporarily change :data:`default_dtype` (float64 for gradient checks)."""
    global default_dtype
    previous, default_dtype = default_dtype, np.dtype(dtype).type
    try:
        yield
    finally:
        default_dtype = previous
