"""Backends: ``numpy`` (reference), ``cpu`` (Numba), ``gpu`` (CuPy). See ``registry.py``."""

from .registry import (BACKENDS, REFERENCE, BackendUnavailable, accelerated_kernel,
                       available_backends,
                       current_backend, default_backend_name, format_kernel_table, get_kernel,
                       kernel_table, own_kernels, register, set_backend)


def kernel(op):
    """Shorthand used by functions: the kernel of ``op`` on the current backend."""
    return get_kernel(op)


def xp():
    """The array module of the current backend (numpy or cupy)."""
    return current_backend().xp


__all__ = ["BACKENDS", "REFERENCE", "BackendUnavailable", "accelerated_kernel",
           "available_backends",
           "current_backend", "default_backend_name", "format_kernel_table", "get_kernel",
           "kernel", "kernel_table", "own_kernels", "register", "set_backend", "xp"]
