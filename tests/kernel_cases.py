"""Input generators for the automatic kernel check (``test_kernel_registry.py``).

``CASES[op]`` is a hypothesis strategy drawing ``(args, kwargs)`` for the kernel of ``op``
as NumPy arrays / Python values. When a backend registers a kernel for ``op``, the
registry test draws inputs here, runs the backend's kernel and the ``numpy`` reference,
and compares them. Registering a kernel without a case here fails that test, on purpose:
every fast kernel must be checked against the definition.

``TOLERANCE[op]`` overrides the default float32 tolerance (rtol=1e-4, atol=1e-5).
"""

import numpy as np
from hypothesis import strategies as st

CASES = {}
TOLERANCE = {}


def arrays(shape, seed, low=-1.0, high=1.0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, size=shape).astype(dtype)


@st.composite
def _matmul(draw):
    m, k, n = (draw(st.integers(1, 17)) for _ in range(3))
    seed = draw(st.integers(0, 2**16))
    return (arrays((m, k), seed), arrays((k, n), seed + 1)), {}


CASES["matmul"] = _matmul()
