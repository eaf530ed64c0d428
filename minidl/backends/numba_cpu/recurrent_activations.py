"""The activations of the recurrent passes: codes, and float32 / float64 versions in Numba.

The Numba passes (``lstm.py``, ``gru.py``) take each activation as a literal code
(:data:`_CODES`, translated once per call by :func:`_codes`) and apply it to a whole block of
a row at once (:func:`_activate`), choosing the function once per block.

Numba has no vectorised ``exp``/``tanh`` (its scalar ``tanh`` cost ~35 ns, the whole LSTM
step ~8 ms at 64 x 512, six times the BLAS product), so in float32 ``tanh`` is a rational
function, ``x * P(x^2) / Q(x^2)`` on ``|x| <= 9`` (beyond, float32 ``tanh`` is +-1), fitted
here (minimax, relative error 3.4e-7 in float32 arithmetic) and vectorised by LLVM;
``sigmoid(x) = (1 + tanh(x / 2)) / 2`` after Paddle's clip to ``[-40, 13]`` (absolute error
1.8e-7). Float64 uses the exact ``tanh`` and ``exp``.
"""

import numpy as np
from numba import njit, types
from numba.extending import overload

#: activation kernel name -> code the Numba passes take (:func:`_activate` branches once per
#: run of values, so every branch is a plain loop)
_CODES = {"linear": 0, "sigmoid": 1, "tanh": 2, "relu": 3}
_SIGMOID, _TANH, _RELU = _CODES["sigmoid"], _CODES["tanh"], _CODES["relu"]
#: Paddle's sigmoid input range (as the reference activation kernel)
SIGMOID_LOW, SIGMOID_HIGH = -40.0, 13.0
#: the float32 tanh: |x| beyond which it is +-1, and the coefficients of P and Q (in x^2)
TANH_CLAMP = 9.0
TANH_P = (0.999999979, 0.133810355, 3.49560044e-03, 2.06093095e-05, 1.33550271e-08)
TANH_Q = (1.0, 0.467143511, 2.58770276e-02, 3.28565599e-04, 7.77669694e-07)
#: Numba options of every pass (``lstm.py``, ``gru.py``): no ZeroDivisionError check (it keeps
#: LLVM from vectorising the float32 tanh's division) and fused multiply-adds allowed,
#: nothing else (NaN and infinity keep their IEEE meaning)
_OPTIONS = dict(parallel=True, cache=True, error_model="numpy", fastmath={"contract"})


def _tanh(v):
    """tanh of a float32 or float64 scalar (Numba only)."""
    raise NotImplementedError


@overload(_tanh)
def _tanh_typed(v):
    if v != types.float32:
        return lambda v: np.tanh(v)
    f = np.float32
    low, high = f(-TANH_CLAMP), f(TANH_CLAMP)
    p0, p1, p2, p3, p4 = (f(c) for c in TANH_P)
    q0, q1, q2, q3, q4 = (f(c) for c in TANH_Q)
    minus_one, one = f(-1), f(1)

    def rational(v):
        above = low if v < low else v           # NaN fails both tests and stays NaN
        x = high if above > high else above
        s = x * x
        p = (((p4 * s + p3) * s + p2) * s + p1) * s + p0
        q = (((q4 * s + q3) * s + q2) * s + q1) * s + q0
        y = x * p / q
        y_above = minus_one if y < minus_one else y     # the fit overshoots 1 by 2e-7
        return one if y_above > one else y_above
    return rational


def _sigmoid(v):
    """Paddle's sigmoid of a float32 or float64 scalar (Numba only)."""
    raise NotImplementedError


@overload(_sigmoid)
def _sigmoid_typed(v):
    f = np.float32 if v == types.float32 else np.float64
    half, low, high = f(0.5), f(SIGMOID_LOW), f(SIGMOID_HIGH)

    def sigmoid(v):
        above = low if v < low else v           # NaN fails both tests and stays NaN
        x = high if above > high else above
        return half * _tanh(half * x) + half
    return sigmoid


def _relu(v):
    """max(v, 0), NaN kept (Numba only)."""
    raise NotImplementedError


@overload(_relu)
def _relu_typed(v):
    zero = (np.float32 if v == types.float32 else np.float64)(0)
    return lambda v: zero if v < zero else v


@njit(error_model="numpy", fastmath={"contract"}, cache=True)
def _activate(code, values):
    """``values = act(values)`` in place for activation ``code``: the choice is made once
    per call, so each branch is a plain loop LLVM vectorises."""
    if code == _SIGMOID:
        for j in range(values.shape[0]):
            values[j] = _sigmoid(values[j])
    elif code == _TANH:
        for j in range(values.shape[0]):
            values[j] = _tanh(values[j])
    elif code == _RELU:
        for j in range(values.shape[0]):
            values[j] = _relu(values[j])


@njit(error_model="numpy", fastmath={"contract"}, cache=True)
def _derivative(code, y, out):
    """``out = act'`` of activation ``code``, written through its output ``y``."""
    one = _one(y)
    if code == _SIGMOID:
        for j in range(y.shape[0]):
            out[j] = y[j] * (one - y[j])
    elif code == _TANH:
        for j in range(y.shape[0]):
            out[j] = one - y[j] * y[j]
    elif code == _RELU:
        for j in range(y.shape[0]):
            out[j] = _relu_step(y[j])
    else:
        for j in range(y.shape[0]):
            out[j] = one


def _one(values):
    """1 in the dtype of the array ``values`` (Numba only)."""
    raise NotImplementedError


@overload(_one)
def _one_typed(values):
    one = (np.float32 if values.dtype == types.float32 else np.float64)(1)
    return lambda values: one


def _relu_step(y):
    """1 where ``y > 0``, else 0 (Numba only)."""
    raise NotImplementedError


@overload(_relu_step)
def _relu_step_typed(y):
    f = np.float32 if y == types.float32 else np.float64
    zero, one = f(0), f(1)
    return lambda y: one if y > zero else zero



def _codes(*names):
    return tuple(_CODES[name] for name in names)
