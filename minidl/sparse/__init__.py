"""Sparse inference for pruned networks: CSR fc layers and direct sparse convolution.

* :mod:`.layout` -- CSR layouts built from dense weights, once per parameter value;
* :mod:`.plan` -- per layer, the dense or the sparse forward (``paddle.infer(sparse=...)``),
  chosen by a measured break-even on this machine under ``'auto'``.

Training stays dense (pruned weights are zeros held by masks); only inference changes.

    plan = paddle.sparse.explain(output_layer, parameters, samples)
    print(plan)     # per layer: dense or sparse, density, measured times, why
"""

from .layout import CsrWeight, conv_layout, fc_layout
from .plan import SparsePlan, clear_measurements, sparse_mode


def explain(output_layer, parameters, input, feeding=None, sparse="auto"):
    """Run one batch (``input``: a list of sample tuples) and return the :class:`SparsePlan`.

    ``print`` the result for a table of each fc/conv layer's choice and its reason.
    """
    from ..inference import Inference
    inference = Inference(output_layer, parameters, sparse=sparse)
    inference.infer(input, feeding=feeding)
    return inference.sparse_plan


__all__ = ["CsrWeight", "SparsePlan", "clear_measurements", "conv_layout", "explain",
           "fc_layout", "sparse_mode"]
