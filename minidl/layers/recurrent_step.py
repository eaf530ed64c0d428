"""Layers for one timestep inside a ``recurrent_group``: ``lstm_step``, ``gru_step``,
``gru_step_naive`` and ``get_output`` (v2's ``lstm_step_layer``, ``gru_step_layer``,
``gru_step_naive_layer``, ``get_output_layer``).

They compute one step of the same cells as the fused ``lstmemory`` / ``grumemory`` (the
equations are in ``backends/numpy_ref/recurrent_step.py``); the recurrence itself is the
group's: the previous output or cell comes in through a ``memory``::

    def step(x):                               # x: one timestep, 3 * H projections
        h_prev = paddle.layer.memory(name='gru', size=H)
        return paddle.layer.gru_step(name='gru', input=x, output_mem=h_prev, size=H)

Parameters, as Paddle stores them (inside a group the layer name gets ``@<group>``)::

    gru_step   _<name>.w0     dims [H, 3H]   memory: the (H, 2H) gate weight, then the
                                             (H, H) candidate weight
               _<name>.wbias  dims [1, 3H]   update, reset, candidate
    lstm_step  _<name>.wbias  dims [1, 3H]   peepholes checkI, checkF, checkO (the gate
                                             weights and biases live in the input layer)

``lstm_step`` has two outputs: its output ``h`` and ``'state'``, the new cell ``c``, which
``get_output(input=lstm, arg_name='state')`` gives as a layer of its own.
"""

import math
import numbers

from ..backends.numpy_ref.recurrent_step import STEP_ACTIVATIONS
from ..core import config
from ..functions.recurrent_step import DeferredWeightGrad
from ..functions.recurrent_step import gru_step as gru_step_function
from ..functions.recurrent_step import lstm_step as lstm_step_function
from .activations import BaseActivation, Linear, Sigmoid, Tanh
from .attrs import ParamAttr
from .base import SEQUENCE_LEVELS, Layer, as_param_attr, default_name
from .mixed import mixed
from .mixed_terms import dotmul_operator, full_matrix_projection, identity_projection


def _step_act(act, default, what, name):
    """``act`` (default ``default``) checked: Paddle's step kernels offer four activations."""
    act = BaseActivation.accept(default if act is None else act)
    if not isinstance(act, BaseActivation) or act.kernel_name not in STEP_ACTIVATIONS:
        raise ValueError(f"layer {name}: {what}={act!r} is not available in a step layer; "
                         "Paddle's recurrent kernels take paddle.activation.Tanh(), Sigmoid(), "
                         "Relu() or Linear()")
    return act


def _layer(value, what, name):
    if not isinstance(value, Layer):
        raise ValueError(f"layer {name}: {what} must be a layer, got {value!r:.80}")
    return value


def _check_rows(layer, parents):
    """Step layers compute on rows of one kind (a timestep of each running sequence)."""
    for parent in parents:
        if parent.seq_level:
            raise ValueError(f"layer {layer} computes one timestep, but its input {parent.name} "
                             f"is a {SEQUENCE_LEVELS[parent.seq_level]}; use it inside a "
                             "recurrent_group, whose step sees one timestep of each sequence")


def _bias_attr(bias_attr, name):
    """Paddle's default bias (``wrap_bias_attr_default``): None/True -> a bias starting at
    zero; False -> none; a ParamAttr -> that bias."""
    if bias_attr is False:
        return None
    if bias_attr is None or bias_attr is True:
        return ParamAttr(initial_std=0.0, initial_mean=0.0)
    return as_param_attr(bias_attr, f"layer {name} bias_attr")


class LstmStepLayer(Layer):
    """Paddle's ``lstm_step``: one LSTM step from the gate inputs (``4 * size``) and the
    previous cell (``state``, ``size``); outputs ``h`` and, as ``'state'``, the new cell."""

    type = "lstm_step"
    #: the outputs ``get_output`` can name
    outputs = ("default", "state")

    def __init__(self, input, state, size=None, act=None, name=None, gate_act=None,
                 state_act=None, bias_attr=None, layer_attr=None):
        name = name or default_name("lstm_step")
        input, state = _layer(input, "input", name), _layer(state, "state", name)
        if size is not None and size != state.size:
            raise ValueError(f"layer {name} (lstm_step): size={size!r} must equal the size of "
                             f"its state {state.name}, {state.size}")
        size = state.size
        if input.size != 4 * size:
            raise ValueError(f"layer {name} (lstm_step): input {input.name} has size "
                             f"{input.size}, expected 4 * size = {4 * size} (the candidate, "
                             "input, forget and output gates' inputs)")
        _check_rows(f"{name} (lstm_step)", [input, state])
        self.cell_act = _step_act(act, Tanh(), "act", name)
        self.gate_act = _step_act(gate_act, Sigmoid(), "gate_act", name)
        self.state_act = _step_act(state_act, Tanh(), "state_act", name)
        super().__init__(name, [input, state], size, layer_attr=layer_attr)
        attr = _bias_attr(bias_attr, name)
        self.check = None if attr is None else self.add_param("wbias", (1, 3 * size), attr,
                                                              is_bias=True)

    def forward(self, ctx, xs):
        x, prev_c = xs
        check = None if self.check is None else ctx.param(self.check)
        h, c = lstm_step_function(x, prev_c, check, self.cell_act.kernel_name,
                                  self.gate_act.kernel_name, self.state_act.kernel_name)
        h.extra_outputs = {"state": c}
        return h


class GruStepLayer(Layer):
    """Paddle's ``gru_step``: one GRU step from the gate inputs (``3 * size``) and the
    previous output (``output_mem``, ``size``)."""

    type = "gru_step"

    def __init__(self, input, output_mem, size=None, act=None, name=None, gate_act=None,
                 bias_attr=None, param_attr=None, layer_attr=None):
        name = name or default_name("gru_step")
        input = _layer(input, "input", name)
        output_mem = _layer(output_mem, "output_mem", name)
        size = _size_from_input(input, size, name, "gru_step")
        if output_mem.size != size:
            raise ValueError(f"layer {name} (gru_step): output_mem {output_mem.name} has size "
                             f"{output_mem.size}, expected the layer's size {size}")
        _check_rows(f"{name} (gru_step)", [input, output_mem])
        self.cell_act = _step_act(act, Tanh(), "act", name)
        self.gate_act = _step_act(gate_act, Sigmoid(), "gate_act", name)
        super().__init__(name, [input, output_mem], size, layer_attr=layer_attr)
        self.weight = self.add_param("w0", (size, 3 * size),
                                     as_param_attr(param_attr, f"layer {name} param_attr"),
                                     default_std=1.0 / math.sqrt(size))
        attr = _bias_attr(bias_attr, name)
        self.bias = None if attr is None else self.add_param("wbias", (1, 3 * size), attr,
                                                             is_bias=True)

    def forward(self, ctx, xs):
        x, prev = xs
        bias = None if self.bias is None else ctx.param(self.bias)
        weight = ctx.param(self.weight)
        return gru_step_function(x, prev, weight, bias, self.cell_act.kernel_name,
                                 self.gate_act.kernel_name, self._deferred(ctx, weight))

    def _deferred(self, ctx, weight):
        """Inside a recurrent_group (which gives ``ctx`` a ``deferred_weight_grads`` dict for
        the length of one unrolling): the collector summing this weight's gradient over all
        steps, made at the first step. None elsewhere, or when no gradient is recorded."""
        collectors = ctx.deferred_weight_grads
        if collectors is None or not (config.grad_enabled and weight.requires_grad):
            return None
        entry = collectors.get(self.weight.name)
        if entry is None:
            collector = DeferredWeightGrad()
            entry = collectors[self.weight.name] = (collector, collector(weight))
        return entry


def _size_from_input(input, size, name, layer_type):
    if input.size % 3:
        raise ValueError(f"layer {name} ({layer_type}): input {input.name} has size "
                         f"{input.size}, not a multiple of 3 (the update gate, reset gate and "
                         "candidate inputs)")
    if size is None:
        return input.size // 3
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or \
            3 * size != input.size:
        raise ValueError(f"layer {name} ({layer_type}): size={size!r}, but input {input.name} "
                         f"has size {input.size} = 3 * {input.size // 3}")
    return int(size)


class GetOutputLayer(Layer):
    """Paddle's ``get_output``: another output of a layer with several (``lstm_step``'s
    ``'state'``)."""

    type = "get_output"

    def __init__(self, input, arg_name, name=None, layer_attr=None):
        name = name or default_name("get_output_layer")
        input = _layer(input, "input", name)
        outputs = getattr(input, "outputs", ("default",))
        if arg_name not in outputs:
            raise ValueError(f"layer {name} (get_output): arg_name={arg_name!r} is not an output "
                             f"of {input.name} ({input.type}), whose outputs are "
                             f"{', '.join(repr(o) for o in outputs)}")
        super().__init__(name, [input], input.size, layer_attr=layer_attr)
        self.arg_name = arg_name

    def forward(self, ctx, xs):
        if self.arg_name == "default":
            return xs[0]
        return xs[0].extra_outputs[self.arg_name]


def lstm_step(input, state, size=None, act=None, name=None, gate_act=None, state_act=None,
              bias_attr=None, layer_attr=None):
    """v2's ``lstm_step`` (``lstm_step_layer``); ``act`` and ``state_act`` default to Tanh,
    ``gate_act`` to Sigmoid; default name ``__lstm_step_N__``."""
    return LstmStepLayer(input, state, size, act, name, gate_act, state_act, bias_attr,
                         layer_attr)


def gru_step(input, output_mem, size=None, act=None, name=None, gate_act=None, bias_attr=None,
             param_attr=None, layer_attr=None):
    """v2's ``gru_step`` (``gru_step_layer``); ``size`` defaults to ``input.size / 3``."""
    return GruStepLayer(input, output_mem, size, act, name, gate_act, bias_attr, param_attr,
                        layer_attr)


def gru_step_naive(input, output_mem, size=None, name=None, act=None, gate_act=None,
                   bias_attr=None, param_attr=None, layer_attr=None):
    """v2's ``gru_step_naive`` (``gru_step_naive_layer``): the GRU step built from mixed
    layers, named as Paddle names them (``<name>_update``, ``<name>_reset``,
    ``<name>_reset_output``, ``<name>_output_candidate`` and ``<name>``). Each gate owns its
    weight and bias."""
    name = name or default_name("gru_step_naive")
    input = _layer(input, "input", name)
    output_mem = _layer(output_mem, "output_mem", name)
    size = _size_from_input(input, size, name, "gru_step_naive")
    if isinstance(bias_attr, ParamAttr) and bias_attr.name is not None:
        raise ValueError(f"layer {name} (gru_step_naive): do not name bias_attr "
                         f"({bias_attr.name!r}): the two gates and the candidate would share "
                         "one bias")
    act = Tanh() if act is None else act
    gate_act = Sigmoid() if gate_act is None else gate_act
    bias = True if bias_attr is None else bias_attr

    def gate(suffix, offset):
        return mixed(name=f"{name}_{suffix}", size=size, layer_attr=layer_attr, bias_attr=bias,
                     act=gate_act,
                     input=[identity_projection(input=input, offset=offset),
                            full_matrix_projection(input=output_mem, param_attr=param_attr)])

    update_gate = gate("update", 0)
    reset_gate = gate("reset", size)
    reset_output = mixed(name=f"{name}_reset_output", bias_attr=False,
                         input=dotmul_operator(a=output_mem, b=reset_gate))
    candidate = mixed(name=f"{name}_output_candidate", size=size, layer_attr=layer_attr,
                      bias_attr=bias, act=act,
                      input=[identity_projection(input=input, offset=2 * size),
                             full_matrix_projection(input=reset_output, param_attr=param_attr)])
    return mixed(name=name, act=Linear(),
                 input=[identity_projection(output_mem),
                        dotmul_operator(a=output_mem, b=update_gate, scale=-1.0),
                        dotmul_operator(a=candidate, b=update_gate)])


def get_output(input, arg_name, name=None, layer_attr=None):
    """v2's ``get_output`` (``get_output_layer``); default name ``__get_output_layer_N__``."""
    return GetOutputLayer(input, arg_name, name, layer_attr)


__all__ = ["GetOutputLayer", "GruStepLayer", "LstmStepLayer", "get_output", "gru_step",
           "gru_step_naive", "lstm_step"]
