"""CuPy kernels for the ``gpu`` backend.

The reference kernels already run on the GPU through ``xp = cupy``; this package
registers CUDA RawKernels only where a dedicated kernel is worth it (a later issue).
"""
