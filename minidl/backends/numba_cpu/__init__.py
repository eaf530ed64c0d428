"""Numba kernels for the ``cpu`` backend.

Importing this package registers them; ops without a Numba kernel fall back to the
NumPy reference (``minidl.backends.kernel_table('cpu')`` lists which is which).
"""

from . import depthwise  # noqa: F401
