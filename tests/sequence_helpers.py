"""Shared by the sequence-layer tests: ragged batches and a float64 gradient check of a whole
layer (its inputs and its parameters) through ``Layer.compute``."""

import numpy as np

from minidl.core import Tensor
from minidl.core.gradcheck import check_directional
from minidl.core.sequence import SequenceLayout
from minidl.layers.graph import RunContext

#: the ragged batches every sequence layer is checked on: mixed lengths, and a batch of one
RAGGED_LENGTHS = ([1, 2, 7], [7, 1, 2, 2], [1], [3])


def ragged(rng, lengths, width, dtype=np.float64):
    """``(rows, width)`` random values and the layout of sequences of ``lengths``."""
    layout = SequenceLayout.from_lengths(lengths)
    return rng.standard_normal((layout.num_rows, width)).astype(dtype), layout


def nested(rng, sub_lengths, width, dtype=np.float64):
    """Values and the nested layout of ``sub_lengths`` (a list of subsequence lengths per
    sequence)."""
    layout = SequenceLayout.from_lengths(None, sub_lengths)
    return rng.standard_normal((layout.num_rows, width)).astype(dtype), layout


def run_layer(layer, inputs, params=None, is_train=False):
    """``layer.compute`` on ``inputs`` (a list of ``(array, layout or None)``) with parameter
    arrays ``{name: array}``; returns the output Tensor."""
    tensors = {name: Tensor(value) for name, value in (params or {}).items()}
    ctx = RunContext(tensors, is_train=is_train, rng=np.random.default_rng(0))
    return layer.compute(ctx, [Tensor(x, seq=layout) for x, layout in inputs])


def check_layer_gradients(layer, inputs, params=None, wrt_inputs=None, **tolerances):
    """Float64 directional-derivative check of ``layer`` with respect to the inputs named by
    ``wrt_inputs`` (indices; default: every float input) and every parameter.

    ``inputs``: list of ``(array, layout or None)``; ``params``: ``{name: array}``."""
    params = dict(params or {})
    names = list(params)
    if wrt_inputs is None:
        wrt_inputs = [i for i, (x, _) in enumerate(inputs) if np.issubdtype(x.dtype, np.floating)]
    layouts = [layout for _, layout in inputs]
    fixed = {i: x for i, (x, _) in enumerate(inputs) if i not in wrt_inputs}
    differentiated = [inputs[i][0] for i in wrt_inputs]

    def fn(*tensors):
        xs = [Tensor(fixed[i]) if i in fixed else None for i in range(len(inputs))]
        for i, tensor in zip(wrt_inputs, tensors[:len(wrt_inputs)]):
            xs[i] = tensor
        for x, layout in zip(xs, layouts):
            x.seq = layout
        ctx = RunContext(dict(zip(names, tensors[len(wrt_inputs):])), is_train=False,
                         rng=np.random.default_rng(0))
        return layer.compute(ctx, xs)

    arrays = differentiated + [params[name] for name in names]
    check_directional(fn, *arrays, **tolerances)
