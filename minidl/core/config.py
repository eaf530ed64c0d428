"""Global switches of the autograd core: default dtype and whether a graph is recorded."""

import contextlib

import numpy as np

#: dtype of parameters and activations unless a caller asks otherwise.
#: Gradient checks switch to float64 with :func:`using_dtype`.
default_dtype = np.float32

#: When False, functions compute outputs but record no graph (inference mode).
grad_enabled = True


class no_grad:
    """Run a block without recording a graph: nothing is retained for backward.

    >>> with no_grad():
    ...     y = f(x)       # y.creator is None, intermediates are freed at once

    (A class rather than a generator: inference of one sample enters it on every call, and
    this costs a fraction of a microsecond.)
    """

    __slots__ = ("previous",)

    def __enter__(self):
        global grad_enabled
        self.previous, grad_enabled = grad_enabled, False
        return self

    def __exit__(self, kind, value, traceback):
        global grad_enabled
        grad_enabled = self.previous
        return False


@contextlib.contextmanager
def using_dtype(dtype):
    """Temporarily change :data:`default_dtype` (float64 for gradient checks)."""
    global default_dtype
    previous, default_dtype = default_dtype, np.dtype(dtype).type
    try:
        yield
    finally:
        default_dtype = previous
