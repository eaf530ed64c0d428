"""CuPy kernels for the ``gpu`` backend.

Every reference kernel already runs on the GPU through ``xp = cupy`` (GEMM through
``cupy.matmul``, i.e. cuBLAS; im2col, pooling, batch norm, activations and costs as CuPy
array code). This package registers CUDA RawKernels where a dedicated kernel pays:
depthwise convolution (``depthwise.py``, source in ``kernels/depthwise.cu``).

Importing it needs no CuPy and no GPU: CuPy is imported when a kernel first runs.
"""

from . import depthwise  # noqa: F401
