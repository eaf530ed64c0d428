"""CuPy kernels for the ``gpu`` backend.

Every reference kernel already runs on the GPU through ``xp = cupy`` (GEMM through
``cupy.matmul``, i.e. cuBLAS; pooling, batch norm, activations and costs as CuPy array
code). This package registers kernels where a GPU-shaped one pays: convolution as im2col
plus one GEMM per group (``conv.py``), CUDA RawKernels for depthwise convolution
(``depthwise.py``, source in ``kernels/depthwise.cu``), a convolution and the batch norm
folded into it at inference (``conv_batch_norm.py``, its pass in ``kernels/scale_shift.cu``),
and sparse fc inference through cuSPARSE (``sparse.py``).

Importing it needs no CuPy and no GPU: CuPy is imported when a kernel first runs.
"""

from . import conv, conv_batch_norm, depthwise, sparse  # noqa: F401
