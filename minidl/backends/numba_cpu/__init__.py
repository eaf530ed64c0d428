"""Numba kernels for the ``cpu`` backend.

Importing this package registers them; ops without a Numba kernel fall back to the
NumPy reference (``minidl.backends.kernel_table('cpu')`` lists which is which).

It also settles two process settings; set ``MINIDL_CPU_TUNING=0`` to leave the process
alone:

* one thread pool for all parallel work (``runtime.py``): minidl's matrix products run on
  Numba's OpenMP threads (``gemm.py``), whose workers spin briefly after each parallel
  loop, so that the next kernel does not pay ~0.1 ms to wake them;
* glibc keeps freed memory in the heap (``mallopt``: no trimming, blocks up to 32 MB from
  the heap) instead of returning it to the kernel: otherwise every activation freed and
  allocated again is page-faulted back in, which costs more than the batch-norm arithmetic.
"""

import ctypes
import os

from . import runtime


def _keep_freed_memory():
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:                      # not glibc: nothing to tune
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_trim_threshold, 1 << 30)
    libc.mallopt(m_mmap_threshold, 32 << 20)


if os.environ.get("MINIDL_CPU_TUNING", "1") != "0":
    runtime.start()
    _keep_freed_memory()

from . import conv, conv_batch_norm  # noqa: E402, F401
from . import depthwise  # noqa: E402, F401
from . import norm, norm_train  # noqa: E402, F401
from . import pool  # noqa: E402, F401
from . import sparse, sparse_conv  # noqa: E402, F401
from . import recurrent  # noqa: E402, F401
from . import sparse_recurrent  # noqa: E402, F401
from . import relu, softmax, table_lookup  # noqa: E402, F401
from . import gemm  # noqa: E402, F401
