"""Sparse inference for pruned networks: CSR fc layers, direct sparse convolution and
pruned recurrent layers (``lstmemory``, ``grumemory``: a CSR product per step).

Plan, then run: before a batch's forward, the planner walks the network once and decides
per layer dense or sparse; the forward only reads the plan.

* :mod:`.layout` -- CSR layouts built from dense weights, once per parameter value;
* :mod:`.sparse_forward` -- the layers the sparse kernels cover, and their sparse forward;
* :mod:`.timing` -- timing forwards on a shared machine;
* :mod:`.cost_model` -- predicted dense and sparse times from a layer's work;
* :mod:`.calibration` -- the cost model of this machine, fitted once and cached on disk;
* :mod:`.planner` -- the planning pass; :mod:`.plan` -- the Plan it makes, and the rules;
* :mod:`.sparse_plan` -- the plans of one ``Inference``, one per batch shape.

Training stays dense (pruned weights are zeros held by masks); only inference changes.

    plan = paddle.sparse.plan(output_layer, parameters, batch_size=1)  # no samples needed
    print(plan)     # per layer: dense or sparse, density, predicted/measured times, why
"""

from .layout import CsrWeight, conv_layout, fc_layout, recurrent_layout
from .plan import Decision, Plan, clear_measurements, sparse_mode
from .sparse_plan import SparsePlan

__all__ = ["CsrWeight", "Decision", "Plan", "SparsePlan", "clear_measurements", "conv_layout",
           "fc_layout", "recurrent_layout", "sparse_mode"]
