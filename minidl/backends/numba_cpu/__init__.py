"""Numba kernels for the ``cpu`` backend.

Importing this package registers them; ops without a Numba kernel fall back to the
NumPy reference (``minidl.backends.kernel_table('cpu')`` lists which is which).

It also settles two process settings that a network alternating Numba kernels with NumPy's
OpenBLAS needs (on few cores it runs several times slower without them); set
``MINIDL_CPU_TUNING=0`` to leave the process alone:

* Numba's OpenMP workers sleep as soon as a parallel loop ends (``OMP_WAIT_POLICY=PASSIVE``,
  given to Numba's threading layer only): by default they spin for milliseconds, on the
  cores the next GEMM's OpenBLAS threads need. The price: waking a sleeping worker costs
  ~0.1 ms (``threads.py``), paid by every parallel kernel. A process that runs pruned
  networks sparse end to end -- Numba kernel after Numba kernel, no BLAS between them --
  is better off with the workers spinning briefly: ``GOMP_SPINCOUNT=10000`` in the
  environment (~0.2 ms; libgomp then ignores the PASSIVE policy). Networks that mix in
  BLAS layers (MobileNet) are slower with it, and the more so the longer the spin.
* glibc keeps freed memory in the heap (``mallopt``: no trimming, blocks up to 32 MB from
  the heap) instead of returning it to the kernel: otherwise every activation freed and
  allocated again is page-faulted back in, which costs more than the batch-norm arithmetic.
"""

import ctypes
import os


def _start_numba_threads_passive():
    """Start Numba's threading layer now, with OpenMP told not to spin, unless the user
    chose a wait policy. The variable is removed again: libraries loaded later (PyTorch's
    own OpenMP, say) see the environment as it was."""
    import numba

    chosen = "OMP_WAIT_POLICY" in os.environ
    if not chosen:
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        numba.get_num_threads()          # loads and starts the threading layer
    finally:
        if not chosen:
            del os.environ["OMP_WAIT_POLICY"]


def _keep_freed_memory():
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:                      # not glibc: nothing to tune
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_trim_threshold, 1 << 30)
    libc.mallopt(m_mmap_threshold, 32 << 20)


if os.environ.get("MINIDL_CPU_TUNING", "1") != "0":
    _start_numba_threads_passive()
    _keep_freed_memory()

from . import conv  # noqa: E402, F401
from . import depthwise  # noqa: E402, F401
from . import norm  # noqa: E402, F401
from . import pool  # noqa: E402, F401
from . import sparse  # noqa: E402, F401
from . import recurrent  # noqa: E402, F401
from . import sparse_recurrent  # noqa: E402, F401
from . import softmax, table_lookup  # noqa: E402, F401
