"""``paddle.sparse``: pruned fc/conv layers run through sparse kernels at inference.

``explain`` runs one batch and returns the plan (which layers run sparse, and why); the
layouts and the planner are defined in :mod:`minidl.sparse_inference`, ``explain`` in
:mod:`minidl.training.inference`.
"""

from ..sparse_inference import (CsrWeight, SparsePlan, clear_measurements, conv_layout,
                                fc_layout, sparse_mode)
from ..training.inference import explain

__all__ = ["CsrWeight", "SparsePlan", "clear_measurements", "conv_layout", "explain",
           "fc_layout", "sparse_mode"]
