"""Sparse inference for pruned networks: CSR fc layers, direct sparse convolution and
pruned recurrent layers (``lstmemory``, ``grumemory``: a CSR product per step).

* :mod:`.layout` -- CSR layouts built from dense weights, once per parameter value;
* :mod:`.plan` -- per layer, the dense or the sparse forward (``paddle.infer(sparse=...)``),
  chosen by a measured break-even on this machine under ``'auto'``.

Training stays dense (pruned weights are zeros held by masks); only inference changes.

    plan = paddle.sparse.explain(output_layer, parameters, samples)  # minidl.training.inference
    print(plan)     # per layer: dense or sparse, density, measured times, why
"""

from .layout import CsrWeight, conv_layout, fc_layout, recurrent_layout
from .plan import SparsePlan, clear_measurements, sparse_mode

__all__ = ["CsrWeight", "SparsePlan", "clear_measurements", "conv_layout", "fc_layout",
           "recurrent_layout", "sparse_mode"]
