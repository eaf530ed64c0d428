"""``gated_unit``: a gated linear unit built from v2 layers, as v2 builds it::

    <name>_input_proj = fc(input, size, act)                  (default act: Linear)
    <name>_gate       = fc(input, size, Sigmoid())
    <name>_gated_act  = mixed(dotmul_operator(<name>_input_proj, <name>_gate))

so ``y = act(x W + b) * sigmoid(x V + c)`` element by element, and the parameters are the two
fc layers' (``_<name>_input_proj.w0``, ``.wbias``, ``_<name>_gate.w0``, ``.wbias``).
"""

import numbers

from .activations import Linear, Sigmoid
from .base import Layer, as_extra_attr, as_param_attr, default_name
from .fc import fc
from .mixed import mixed
from .mixed_terms import dotmul_operator


def gated_unit(input, size, act=None, name=None, gate_attr=None, gate_param_attr=None,
               gate_bias_attr=True, inproj_attr=None, inproj_param_attr=None,
               inproj_bias_attr=True, layer_attr=None):
    """v2's ``paddle.layer.gated_unit`` (``gated_unit_layer``); returns the product layer
    ``<name>_gated_act``. ``gate_attr`` / ``inproj_attr`` / ``layer_attr`` are the
    ExtraAttrs of the gate, the projection and the product."""
    name = name or default_name("gated_unit_layer")
    if not isinstance(input, Layer):
        raise ValueError(f"layer {name} (gated_unit): input must be one layer, got {input!r}")
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"layer {name} (gated_unit): size={size!r} must be a positive integer")
    # every attribute checked before the first sub-layer is built: a refusal leaves nothing
    for attr, what in ((gate_param_attr, "gate_param_attr"), (gate_bias_attr, "gate_bias_attr"),
                       (inproj_param_attr, "inproj_param_attr"),
                       (inproj_bias_attr, "inproj_bias_attr")):
        if attr is not False or what.endswith("param_attr"):
            as_param_attr(attr, f"layer {name} (gated_unit): {what}")
    for attr in (gate_attr, inproj_attr, layer_attr):
        as_extra_attr(attr, name)
    projection = fc(input, int(size), act=Linear() if act is None else act,
                    name=f"{name}_input_proj", layer_attr=inproj_attr,
                    param_attr=inproj_param_attr, bias_attr=inproj_bias_attr)
    gate = fc(input, int(size), act=Sigmoid(), name=f"{name}_gate", layer_attr=gate_attr,
              param_attr=gate_param_attr, bias_attr=gate_bias_attr)
    return mixed(name=f"{name}_gated_act", input=dotmul_operator(projection, gate),
                 layer_attr=layer_attr)
