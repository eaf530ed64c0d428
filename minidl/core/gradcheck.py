"""Finite-difference gradient checks (float64), used by every op's tests.

Two checks, as Chainer and HIPS autograd do it:

* :func:`check_directional` -- one random direction ``v`` per call: the analytic
  ``<grad, v>`` must equal the central difference ``(f(x + eps v) - f(x - eps v)) / 2eps``.
  Cheap, so it runs on realistic shapes.
* :func:`check_elementwise` -- every element perturbed in turn; for tiny inputs, where it
  catches a wrong entry that a random direction could average away.

``fn`` takes Tensors and returns one Tensor; the scalar checked is ``sum(fn(...) * w)``
with a fixed random ``w``, so every output element contributes with its own weight.
"""

import numpy as np

from .config import using_dtype
from .tensor import Tensor


def _loss_and_grads(fn, arrays, weight):
    tensors = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(*tensors)
    if weight is None:
        weight = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(weight.astype(out.dtype))
    grads = [t.grad if t.grad is not None else np.zeros_like(t.data) for t in tensors]
    return weight, grads


def _scalar(fn, arrays, weight):
    out = fn(*[Tensor(a) for a in arrays])
    return float(np.sum(out.data * weight))


def check_directional(fn, *arrays, eps=1e-6, rtol=1e-5, atol=1e-7, seed=0, wrt=None):
    """Assert the analytic directional derivative matches finite differences.

    ``wrt``: indices of the inputs to differentiate (default: all). Inputs must be float64.
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    wrt = range(len(arrays)) if wrt is None else wrt
    with using_dtype(np.float64):
        weight, grads = _loss_and_grads(fn, arrays, None)
        rng = np.random.default_rng(seed)
        directions = [rng.standard_normal(a.shape) if i in wrt else np.zeros_like(a)
                      for i, a in enumerate(arrays)]
        plus = _scalar(fn, [a + eps * d for a, d in zip(arrays, directions)], weight)
        minus = _scalar(fn, [a - eps * d for a, d in zip(arrays, directions)], weight)
    numeric = (plus - minus) / (2 * eps)
    analytic = sum(float(np.sum(g * d)) for g, d in zip(grads, directions))
    if not np.isclose(analytic, numeric, rtol=rtol, atol=atol):
        raise AssertionError(f"directional derivative: analytic {analytic!r} != "
                             f"numeric {numeric!r} (rtol={rtol}, atol={atol})")


def check_elementwise(fn, *arrays, eps=1e-6, rtol=1e-5, atol=1e-7, wrt=None):
    """Assert every gradient entry matches its central difference (tiny inputs only)."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    wrt = range(len(arrays)) if wrt is None else wrt
    with using_dtype(np.float64):
        weight, grads = _loss_and_grads(fn, arrays, None)
        for i in wrt:
            numeric = np.zeros_like(arrays[i])
            for index in np.ndindex(arrays[i].shape):
                shifted = [a.copy() for a in arrays]
                shifted[i][index] += eps
                plus = _scalar(fn, shifted, weight)
                shifted[i][index] -= 2 * eps
                minus = _scalar(fn, shifted, weight)
                numeric[index] = (plus - minus) / (2 * eps)
            np.testing.assert_allclose(grads[i], numeric, rtol=rtol, atol=atol,
                                       err_msg=f"gradient of input {i}")
