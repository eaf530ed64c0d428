"""``paddle.sparse``: pruned fc/conv/recurrent layers run through sparse kernels at inference.

``plan`` returns a network's plan for a batch size without running it (which layers run
sparse, and why); ``explain`` runs one batch and returns the plans it used. The layouts
and the planner are defined in :mod:`minidl.sparse_inference`, ``plan`` and ``explain``
in :mod:`minidl.training.inference`.
"""

from ..sparse_inference import (CsrWeight, Plan, SparsePlan, clear_measurements, conv_layout,
                                fc_layout, sparse_mode)
from ..training.inference import explain, plan

__all__ = ["CsrWeight", "Plan", "SparsePlan", "clear_measurements", "conv_layout", "explain",
           "fc_layout", "plan", "sparse_mode"]
