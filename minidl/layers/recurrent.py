"""Fused recurrent layers: ``lstmemory`` (LSTM with peepholes) and ``grumemory`` (GRU).

Each runs a whole batch of sequences in one layer, over the packed rows (no padding): the
output has one row of ``H`` numbers per input row and keeps the input's sequence layout. Every
sequence starts from a zero state; ``reverse=True`` runs each one from its last row to its
first (the output row t is still the output for input row t).

The input is the gates' input part, already projected (an ``fc`` or ``mixed`` layer with
``4 * H`` / ``3 * H`` outputs and a linear activation); the layer adds the recurrent term
``h[t-1] @ W``. The equations, and the order of the gates within a row, are in
``backends/numpy_ref/recurrent.py``. Parameters, as Paddle v2 stores them (so tarballs load)::

    lstmemory  _<name>.w0     dims [H, H, 4]   memory: the (H, 4H) row-major recurrent weight
               _<name>.wbias  dims [1, 7H]     4H gate biases, then peepholes checkI, checkF,
                                               checkO
    grumemory  _<name>.w0     dims [H, 3H]     memory: the (H, 2H) gate weight, then the
                                               (H, H) candidate weight
               _<name>.wbias  dims [1, 3H]

``act`` is the candidate's activation, ``gate_act`` the gates', ``state_act`` (LSTM) the
cell's before the output gate; each is Tanh, Sigmoid, Relu or Linear (Paddle's recurrent
kernels offer no other). The layer itself has no output activation.
"""

import math

from .activations import BaseActivation, Sigmoid, Tanh
from ..functions.recurrent import ACTIVATIONS, gru, lstm
from ..functions.sparse_recurrent import gru_csr, lstm_csr
from .base import Layer, as_param_attr, default_name, with_layout
from .sequence import _layout_of, _require_sequence, check_dense, one_layer, rows


def _recurrent_act(act, default, what, name):
    """``act`` (default ``default``) as a kernel name, or an error naming the layer."""
    act = default if act is None else act
    if isinstance(act, type) and issubclass(act, BaseActivation):
        act = act()
    if not isinstance(act, BaseActivation) or act.kernel_name not in ACTIVATIONS:
        raise ValueError(f"layer {name}: {what}={act!r} is not available in a recurrent layer; "
                         "Paddle's recurrent kernels take paddle.activation.Tanh(), Sigmoid(), "
                         "Relu() or Linear()")
    return act


def _hidden_size(input, gates, size, name, layer_type):
    """The hidden size ``input.size / gates``, checked (and ``size``, if given, against it)."""
    if input.size % gates:
        raise ValueError(f"layer {name} ({layer_type}): input {input.name} has size "
                         f"{input.size}, which is not {gates} * hidden size; {layer_type}'s "
                         f"input holds the {gates} gates' projections (e.g. an fc layer of size "
                         f"{gates} * H with a linear activation)")
    hidden = input.size // gates
    if size is not None and size != hidden:
        raise ValueError(f"layer {name} ({layer_type}): size={size!r}, but input {input.name} "
                         f"of size {input.size} gives hidden size {input.size} / {gates} = "
                         f"{hidden}; the size follows from the input (leave size out)")
    return hidden


class _RecurrentLayer(Layer):
    """What lstmemory and grumemory share: one sequence input of ``gates * H`` per row, a
    recurrent weight and a bias, an output of ``H`` per row with the input's layout."""

    per_timestep = False    # the rows of a sequence depend on each other
    gates = None

    def __init__(self, input, name, size, reverse, bias_attr, param_attr, layer_attr,
                 weight_dims, weight_compute):
        input = one_layer(input, "input", name)
        hidden = _hidden_size(input, self.gates, size, name, self.type)
        super().__init__(name, [input], hidden, layer_attr=layer_attr)
        check_dense(input, name, self.type)
        _require_sequence(input, name, self.type, "runs over each sequence")
        self.reverse = bool(reverse)
        if bias_attr is False:
            raise ValueError(f"layer {name} ({self.type}): bias_attr=False, but Paddle's "
                             f"{self.type} layer always has a bias of {self.bias_width(hidden)} "
                             "numbers (it aborts without one); leave bias_attr out or give a "
                             "ParamAttr")
        # Paddle's smart default: std 1/sqrt(dims[0]) = 1/sqrt(H)
        self.weight = self.add_param("w0", weight_dims(hidden),
                                     as_param_attr(param_attr, f"layer {name} param_attr"),
                                     default_std=1.0 / math.sqrt(hidden),
                                     compute_shape=weight_compute(hidden))
        self.bias = self.add_param("wbias", (1, self.bias_width(hidden)),
                                   as_param_attr(bias_attr, f"layer {name} bias_attr"),
                                   is_bias=True)

    def forward(self, ctx, xs, csr=None):
        """The output; ``csr``: at inference, a sparse plan's CSR layouts of the pruned
        recurrent weight (``minidl.sparse_inference``), which the steps multiply with
        instead of the dense weight."""
        layout = _layout_of(xs[0], self.inputs[0], self)
        if csr is not None:
            y = self._run_csr(rows(xs[0], self), csr, ctx.param(self.bias), layout.starts)
        else:
            y = self._run(rows(xs[0], self), ctx.param(self.weight), ctx.param(self.bias),
                          layout.starts)
        return with_layout(y, layout)


class LstmemoryLayer(_RecurrentLayer):
    """Paddle's ``lstmemory`` (``LstmLayer``): an LSTM with peepholes over each sequence."""

    type = "lstmemory"
    gates = 4

    def __init__(self, input, name=None, size=None, reverse=False, act=None, gate_act=None,
                 state_act=None, bias_attr=None, param_attr=None, layer_attr=None):
        name = name or default_name("lstmemory")
        self.cell_act = _recurrent_act(act, Tanh(), "act", name)
        self.gate_act = _recurrent_act(gate_act, Sigmoid(), "gate_act", name)
        self.state_act = _recurrent_act(state_act, Tanh(), "state_act", name)
        super().__init__(input, name, size, reverse, bias_attr, param_attr, layer_attr,
                         weight_dims=lambda h: (h, h, 4), weight_compute=lambda h: (h, 4 * h))

    @staticmethod
    def bias_width(hidden):
        return 7 * hidden

    def _run(self, x, w, bias, starts):
        return lstm(x, w, bias, starts, self.reverse, self.cell_act.kernel_name,
                    self.gate_act.kernel_name, self.state_act.kernel_name)

    def _run_csr(self, x, csr, bias, starts):
        return lstm_csr(x, csr, bias, starts, self.reverse, self.cell_act.kernel_name,
                        self.gate_act.kernel_name, self.state_act.kernel_name)


class GrumemoryLayer(_RecurrentLayer):
    """Paddle's ``grumemory`` (``GatedRecurrentLayer``): a GRU over each sequence."""

    type = "gated_recurrent"
    gates = 3

    def __init__(self, input, size=None, name=None, reverse=False, act=None, gate_act=None,
                 bias_attr=None, param_attr=None, layer_attr=None):
        name = name or default_name("gru")
        self.cell_act = _recurrent_act(act, Tanh(), "act", name)
        self.gate_act = _recurrent_act(gate_act, Sigmoid(), "gate_act", name)
        super().__init__(input, name, size, reverse, bias_attr, param_attr, layer_attr,
                         weight_dims=lambda h: (h, 3 * h), weight_compute=lambda h: (h, 3 * h))

    @staticmethod
    def bias_width(hidden):
        return 3 * hidden

    def _run(self, x, w, bias, starts):
        return gru(x, w, bias, starts, self.reverse, self.cell_act.kernel_name,
                   self.gate_act.kernel_name)

    def _run_csr(self, x, csr, bias, starts):
        return gru_csr(x, csr, bias, starts, self.reverse, self.cell_act.kernel_name,
                       self.gate_act.kernel_name)


def lstmemory(input, name=None, size=None, reverse=False, act=None, gate_act=None,
              state_act=None, bias_attr=None, param_attr=None, layer_attr=None):
    """v2's ``lstmemory``: hidden size ``input.size / 4``; ``act`` and ``state_act`` default
    to Tanh, ``gate_act`` to Sigmoid; default name ``__lstmemory_N__``."""
    return LstmemoryLayer(input, name, size, reverse, act, gate_act, state_act, bias_attr,
                          param_attr, layer_attr)


def grumemory(input, size=None, name=None, reverse=False, act=None, gate_act=None,
              bias_attr=None, param_attr=None, layer_attr=None):
    """v2's ``grumemory``: hidden size ``input.size / 3``; ``act`` defaults to Tanh,
    ``gate_act`` to Sigmoid; default name ``__gru_N__``."""
    return GrumemoryLayer(input, size, name, reverse, act, gate_act, bias_attr, param_attr,
                          layer_attr)
