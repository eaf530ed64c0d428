"""``recurrent``: the simple (Elman) recurrent layer, a full matrix through time.

For each sequence, with ``W: (size, size)`` and the bias ``b`` (if any)::

    out[t] = act(in[t] + b + out[t-1] @ W)     out[t-1] taken as absent at the first row
    reverse=True: out[t] = act(in[t] + b + out[t+1] @ W), from the last row to the first

The input is usually already projected (an ``fc`` or ``mixed`` layer with a linear
activation), so the layer's size is its input's. The output keeps the input's sequence
layout (nested too: the recurrence runs over whole sequences). Parameters as v2 names them::

    _<name>.w0     dims [size, size]    initial std 1/sqrt(size)
    _<name>.wbias  dims [1, size]       unless bias_attr=False
"""

import math

from .activations import BaseActivation, SequenceSoftmax, Tanh
from ..functions.activation import NEEDS
from ..functions.simple_recurrent import simple_recurrent
from .base import Layer, as_param_attr, default_name, with_layout
from .sequence import _layout_of, _require_sequence, check_dense, one_layer, rows


def _step_activation(act, name):
    """``act`` (default Tanh) checked: it is applied to each row inside the recurrence."""
    act = Tanh() if act is None else act
    if isinstance(act, type) and issubclass(act, BaseActivation):
        act = act()
    if not isinstance(act, BaseActivation) or isinstance(act, SequenceSoftmax) or \
            (act.kernel_name != "linear" and act.kernel_name not in NEEDS):
        raise ValueError(f"layer {name} (recurrent): act={act!r} must be a per-row activation "
                         "such as paddle.activation.Tanh() (the default), Sigmoid(), Relu() or "
                         "Linear()")
    return act


class RecurrentLayer(Layer):
    """Paddle's ``recurrent`` layer (``RecurrentLayer``); see the module docstring."""

    type = "recurrent"
    per_timestep = False    # each row depends on the rows before it

    def __init__(self, input, act=None, bias_attr=None, param_attr=None, name=None,
                 reverse=False, layer_attr=None):
        name = name or default_name("recurrent_layer")
        input = one_layer(input, "input", name)
        step_act = _step_activation(act, name)
        if not isinstance(reverse, bool):
            raise ValueError(f"layer {name} (recurrent): reverse={reverse!r} must be True or "
                             "False")
        check_dense(input, name, self.type)
        _require_sequence(input, name, self.type, "runs over each sequence")
        weight_attr = as_param_attr(param_attr, f"layer {name} param_attr")
        bias_attr = None if bias_attr is False else \
            as_param_attr(bias_attr, f"layer {name} bias_attr")
        # the activation runs inside the recurrence, so the base class applies none
        super().__init__(name, [input], input.size, layer_attr=layer_attr)
        self.step_act = step_act
        self.reverse = reverse
        self.weight = self.add_param("w0", (self.size, self.size), weight_attr,
                                     default_std=1.0 / math.sqrt(self.size))
        self.bias = None if bias_attr is None else \
            self.add_param("wbias", (1, self.size), bias_attr, is_bias=True)

    def forward(self, ctx, xs):
        layout = _layout_of(xs[0], self.inputs[0], self)
        bias = None if self.bias is None else ctx.param(self.bias)
        y = simple_recurrent(rows(xs[0], self), ctx.param(self.weight), bias, layout.starts,
                             self.reverse, self.step_act.kernel_name)
        return with_layout(y, layout)


def recurrent(input, act=None, bias_attr=None, param_attr=None, name=None, reverse=False,
              layer_attr=None):
    """v2's ``paddle.layer.recurrent`` (``recurrent_layer``): ``act`` defaults to Tanh, a
    bias is made unless ``bias_attr=False``; default name ``__recurrent_layer_N__``."""
    return RecurrentLayer(input, act, bias_attr, param_attr, name, reverse, layer_attr)
