"""The layers the calibration times: real fc, conv and lstmemory layers at a few
representative sizes, with random weights and inputs, in each batch regime."""

import numpy as np

from ..core.sequence import SequenceLayout
from ..core.tensor import Tensor
from . import sparse_forward as forwards
from .cost_model import Work

#: fc (inputs, outputs); conv (channels, height, width, filters), 3x3, padding 1 (the last
#: one large, as AlexNet's: the dense rate falls on large products, the fit must see it);
#: lstmemory hidden sizes -- each at batch one and many
FC_SHAPES = ((256, 256), (1024, 1024), (4096, 512), (2048, 4096))
CONV_SHAPES = ((3, 32, 32, 64), (16, 32, 32, 32), (64, 16, 16, 64), (128, 8, 8, 128),
               (256, 4, 4, 256), (512, 2, 2, 512), (96, 28, 28, 128))
#: lstmemory (hidden size, sequence length); the last one's 16 MB weight leaves L2 (a
#: fit of the small ones alone once predicted 0.3 ms for 32 dense steps of 1024 units,
#: which take 4-8 ms on a 2-core Zen 3)
RECURRENT_SHAPES = ((64, 16), (128, 8), (256, 4), (1024, 3))
#: batch sizes of the 'many' regime (fc/conv rows; recurrent sequences)
MANY_ROWS, SEQUENCES = 16, 8
DENSITIES = (0.05, 0.3)


def cases(rng, kinds, regimes):
    """(kind, regime, layer, its inputs, {parameter: Tensor}) of every calibration layer
    of ``kinds``, in ``regimes``."""
    from ..layers.activations import Linear, Relu
    from ..layers.conv import ConvLayer
    from ..layers.data import data
    from ..layers.data_types import dense_vector, dense_vector_sequence
    from ..layers.fc import FcLayer
    from ..layers.recurrent import LstmemoryLayer

    def values(layer):
        return {s.name: Tensor(rng.standard_normal(s.compute_shape).astype(np.float32) * 0.1)
                for s in layer.params}

    # explicit names: the calibration never moves the user's default-name counters
    for inputs, outputs in FC_SHAPES if "fc" in kinds else ():
        x = data("calibration_fc_x", dense_vector(inputs))
        layer = FcLayer(x, outputs, act=Relu(), name="calibration_fc")
        for regime, rows in _batches(regimes, MANY_ROWS):
            xs = [Tensor(rng.standard_normal((rows, inputs)).astype(np.float32))]
            yield "fc", regime, layer, xs, values(layer)
    for channels, height, width, filters in CONV_SHAPES if "conv" in kinds else ():
        x = data("calibration_conv_x", dense_vector(channels * height * width), height=height,
                 width=width)
        layer = ConvLayer(x, 3, filters, name="calibration_conv", padding=1, act=Relu())
        for regime, rows in _batches(regimes, MANY_ROWS):
            xs = [Tensor(rng.standard_normal((rows, channels * height * width))
                         .astype(np.float32))]
            yield "conv", regime, layer, xs, values(layer)
    for hidden, steps in RECURRENT_SHAPES if "recurrent" in kinds else ():
        x = data("calibration_recurrent_x", dense_vector_sequence(4 * hidden))
        layer = LstmemoryLayer(x, name="calibration_lstm", act=Linear())
        for regime, sequences in _batches(regimes, SEQUENCES):
            starts = np.arange(sequences + 1) * steps
            xs = [Tensor(rng.standard_normal((sequences * steps, 4 * hidden))
                         .astype(np.float32), seq=SequenceLayout(starts))]
            yield "recurrent", regime, layer, xs, values(layer)


def _batches(regimes, many):
    """(regime, batch size) of ``regimes``."""
    return [(regime, 1 if regime == "one" else many) for regime in regimes]


def work(kind, layer, xs, weights, nonzeros, csr=None):
    """The :class:`Work` of one forward of a calibration layer (``csr``: its sparse
    layouts, for the index width)."""
    sequences = len(xs[0].seq.starts) - 1 if kind == "recurrent" else xs[0].shape[0]
    pixels = layer.size // layer.num_filters if kind == "conv" else 1
    index_bytes = csr[0].indices.dtype.itemsize if csr else 4
    return Work(kind, sequences, xs[0].shape[0], weights, nonzeros, layer.inputs[0].size,
                layer.size // pixels, pixels, index_bytes)


def sparse_step(layer, kind, ctx, xs, csr):
    """One sparse forward of ``layer`` with the layouts ``csr``, as a callable to time."""
    return lambda: forwards.sparse_forward(layer, kind, ctx, xs, csr)
