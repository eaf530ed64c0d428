"""ReLU and its gradient for the ``cpu`` backend: one parallel pass each.

The reference's ``maximum(x, 0)`` and ``gy * (y > 0)`` run on one core, the second through
a temporary boolean array. ReLU follows every convolution of the image networks, so at
MobileNet's sizes (batch 8: up to 3.2 M values per layer) the two passes were 8 % of a
training step. Same values as the reference: a NaN stays NaN (``maximum`` propagates
it), and the gradient multiplies by 1 or 0 (so an infinite ``gy`` where ``y <= 0`` gives
NaN there too, as ``inf * 0`` does in the reference).
"""

import numpy as np
from numba import njit, prange

from ..registry import register
from .norm import SERIAL_BELOW
from .threads import one_thread_below


@njit(parallel=True, cache=True)
def _relu(x, y):
    for i in prange(x.shape[0]):
        v = x[i]
        y[i] = 0 if v <= 0 else v         # NaN fails both tests: it stays NaN


@njit(parallel=True, cache=True)
def _relu_grad(y, gy, gx):
    for i in prange(y.shape[0]):
        gx[i] = gy[i] * (1 if y[i] > 0 else 0)


@register("act_relu", backend="cpu")
def act_relu(x):
    x = np.ascontiguousarray(x)
    y = np.empty_like(x)
    with one_thread_below(x.size, SERIAL_BELOW):
        _relu(x.reshape(-1), y.reshape(-1))
    return y


@register("act_relu_grad", backend="cpu")
def act_relu_grad(x, y, gy):
    y, gy = np.ascontiguousarray(y), np.ascontiguousarray(gy)
    gx = np.empty(gy.shape, dtype=np.result_type(gy, y))
    with one_thread_below(gy.size, SERIAL_BELOW):
        _relu_grad(y.reshape(-1), gy.reshape(-1), gx.reshape(-1))
    return gx
