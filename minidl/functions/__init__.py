"""Differentiable operations: each a :class:`minidl.core.Function` calling backend kernels.

Layers (``minidl.layers``) describe a network; at run time they call these functions.
"""
