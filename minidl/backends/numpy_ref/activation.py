"""Reference kernels of the activations, as Paddle v2 computed them.

Each activation ``<name>`` registers two kernels:

* ``act_<name>(x) -> y``
* ``act_<name>_grad(x, y, gy) -> gx`` -- only one of ``x`` / ``y`` is used (the other may
  be ``None``); which one is listed in :data:`minidl.functions.activation.NEEDS`.

Notation: ``x, y, gy, gx`` all have the same shape. Every activation is elementwise except
softmax, which normalises each sample (row ``i`` of ``x`` flattened to ``(N, -1)``).

Paddle's exact definitions (``paddle/math/BaseMatrix.cu``, ``Matrix.cpp``):

* sigmoid clips its input to ``[-40, 13]`` so that ``0 < y < 1`` even in float32;
* softmax subtracts the row maximum and clips the shifted input at ``-64`` before ``exp``,
  so no probability is exactly 0 (``log`` of it stays finite);
* brelu is ``min(max(x, 0), 24)``;
* softrelu is ``ln(1 + exp(x))`` with ``x`` clipped to ``[-40, 40]``; its derivative is
  written through the output, ``1 - exp(-y)`` (= sigmoid of the clipped input);
* stanh is ``1.7159 * tanh(2/3 * x)``.

Derivatives follow Paddle's formulas through ``y`` where Paddle used ``y``; inside the
clipped ranges they are the exact derivatives.
"""

from ...core.xp import get_array_module
from ..registry import register

SIGMOID_RANGE = (-40.0, 13.0)
SOFTMAX_MIN_SHIFTED = -64.0
BRELU_MAX = 24.0
SOFTRELU_CLIP = 40.0
STANH_A, STANH_B = 1.7159, 2.0 / 3.0


# ---- output-based derivatives ---------------------------------------------------------

@register("act_tanh")
def act_tanh(x):
    return get_array_module(x).tanh(x)


@register("act_tanh_grad")
def act_tanh_grad(x, y, gy):
    return gy * (1 - y * y)


@register("act_sigmoid")
def act_sigmoid(x):
    xp = get_array_module(x)
    return 1 / (1 + xp.exp(-xp.clip(x, *SIGMOID_RANGE)))


@register("act_sigmoid_grad")
def act_sigmoid_grad(x, y, gy):
    return gy * y * (1 - y)


@register("act_relu")
def act_relu(x):
    return get_array_module(x).maximum(x, 0)


@register("act_relu_grad")
def act_relu_grad(x, y, gy):
    return gy * (y > 0)


@register("act_brelu")
def act_brelu(x):
    return get_array_module(x).clip(x, 0, BRELU_MAX)


@register("act_brelu_grad")
def act_brelu_grad(x, y, gy):
    return gy * ((y > 0) & (y < BRELU_MAX))


@register("act_softrelu")
def act_softrelu(x):
    xp = get_array_module(x)
    return xp.log1p(xp.exp(xp.clip(x, -SOFTRELU_CLIP, SOFTRELU_CLIP)))


@register("act_softrelu_grad")
def act_softrelu_grad(x, y, gy):
    # d/dx ln(1 + e^x) = 1 - 1/(1 + e^x) = 1 - e^(-y); expm1 keeps it accurate for small y
    return gy * -get_array_module(y).expm1(-y)


@register("act_stanh")
def act_stanh(x):
    return STANH_A * get_array_module(x).tanh(STANH_B * x)


@register("act_stanh_grad")
def act_stanh_grad(x, y, gy):
    # y = a tanh(b x)  =>  y' = a b (1 - tanh^2) = (b / a) (a^2 - y^2)
    return gy * (STANH_B / STANH_A) * (STANH_A * STANH_A - y * y)


@register("act_exponential")
def act_exponential(x):
    return get_array_module(x).exp(x)


@register("act_exponential_grad")
def act_exponential_grad(x, y, gy):
    return gy * y


@register("act_softmax")
def act_softmax(x):
    """Per-sample softmax over all features: ``x: (N, ...)``, each row of ``(N, -1)``."""
    xp = get_array_module(x)
    rows = x.reshape(x.shape[0], -1)
    # one new array, every later step in place in it: at an output layer of a few thousand
    # classes each whole-array temporary costs as much as the arithmetic
    e = rows - rows.max(axis=1, keepdims=True)
    xp.maximum(e, SOFTMAX_MIN_SHIFTED, out=e)
    xp.exp(e, out=e)
    e /= e.sum(axis=1, keepdims=True)
    return e.reshape(x.shape)


@register("act_softmax_grad")
def act_softmax_grad(x, y, gy):
    # J^T gy = y * (gy - <gy, y>) per sample; one new array, reused in place
    rows_y, rows_g = y.reshape(y.shape[0], -1), gy.reshape(gy.shape[0], -1)
    out = rows_g * rows_y
    dot = out.sum(axis=1, keepdims=True)
    get_array_module(y).subtract(rows_g, dot, out=out)
    out *= rows_y
    return out.reshape(gy.shape)


# ---- input-based derivatives (the output has lost what the derivative needs) ------------

@register("act_abs")
def act_abs(x):
    return get_array_module(x).abs(x)


@register("act_abs_grad")
def act_abs_grad(x, y, gy):
    return gy * get_array_module(x).sign(x)  # 0 at x = 0, as Paddle


@register("act_square")
def act_square(x):
    return x * x


@register("act_square_grad")
def act_square_grad(x, y, gy):
    return gy * 2 * x


@register("act_log")
def act_log(x):
    return get_array_module(x).log(x)


@register("act_log_grad")
def act_log_grad(x, y, gy):
    return gy / x
