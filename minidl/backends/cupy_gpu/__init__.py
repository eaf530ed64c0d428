"""CuPy kernels for the ``gpu`` backend.

Every reference kernel already runs on the GPU through ``xp = cupy`` (GEMM through
``cupy.matmul``, i.e. cuBLAS; im2col, pooling, batch norm, activations and costs as CuPy
array code). This package registers CUDA RawKernels where a dedicated kernel pays:
depthwise convolution (``depthwise.py``, source in ``kernels/depthwise.cu``), and a library
kernel where one exists: sparse fc inference through cuSPARSE (``sparse.py``).

Importing it needs no CuPy and no GPU: CuPy is imported when a kernel first runs.
"""

from . import depthwise, sparse  # noqa: F401
