"""Reference kernels of the row-wise math layers: ``cos_sim``, ``dot_prod``, ``scaling``,
``interpolation``, ``power`` and ``sum_to_one_norm`` (Paddle's Neural-Turing-Machine layers).

Each acts on every row (sample or timestep) on its own. Notation: ``x: (N, D)`` rows,
``w: (N, 1)`` one scalar per row (the output of a size-1 layer).
"""

from ...core.xp import get_array_module
from ..registry import register


# --- cos_sim --------------------------------------------------------------------------------

def _blocks(a, b):
    """``b: (M, K*D)`` seen as ``(M, K, D)``: K vectors of ``a``'s width per row."""
    width = a.shape[1]
    return b.reshape(b.shape[0], b.shape[1] // width, width)


@register("cos_sim_forward")
def cos_sim_forward(a, b, scale):
    """Scaled cosine similarity of ``a``'s rows with ``b``'s blocks.

    Notation: ``a: (N, D)``, ``b: (N, K*D)`` or ``(1, K*D)`` (one row, shared by every row
    of ``a``) -> ``y: (N, K)``; ``b_k[i] = b[i, k*D:(k+1)*D]``::

        y[i, k] = scale * <a[i], b_k[i]> / (|a[i]| |b_k[i]|)

    ``K = 1`` is Paddle's ``cos`` layer, ``K > 1`` its ``cos_vm``. A zero vector gives NaN
    (Paddle stopped with a failed check).
    """
    xp = get_array_module(a)
    blocks = _blocks(a, b)                                     # (N or 1, K, D)
    dot = (a[:, None, :] * blocks).sum(axis=2)                 # (N, K)
    norm_a = xp.sqrt((a * a).sum(axis=1))[:, None]             # (N, 1)
    norm_b = xp.sqrt((blocks * blocks).sum(axis=2))            # (N or 1, K)
    return scale * dot / (norm_a * norm_b)


@register("cos_sim_backward")
def cos_sim_backward(a, b, y, gy, scale):
    """``(ga, gb)`` of :func:`cos_sim_forward`, with ``y`` its output::

        ga[i]   = sum_k gy[i, k] * (scale * b_k[i] / (|a[i]| |b_k[i]|)
                                    - y[i, k] * a[i] / |a[i]|^2)
        gb_k[i] =       gy[i, k] * (scale * a[i] / (|a[i]| |b_k[i]|)
                                    - y[i, k] * b_k[i] / |b_k[i]|^2)

    When ``b`` has one row, ``gb`` sums the rows' shares.
    """
    xp = get_array_module(a)
    blocks = _blocks(a, b)                                     # (N or 1, K, D)
    sq_a = (a * a).sum(axis=1)[:, None, None]                  # (N, 1, 1)
    sq_b = (blocks * blocks).sum(axis=2)[:, :, None]           # (N or 1, K, 1)
    norms = xp.sqrt(sq_a) * xp.sqrt(sq_b)                      # (N, K, 1)
    g, out = gy[:, :, None], y[:, :, None]                     # (N, K, 1)
    ga = (g * (scale * blocks / norms - out * a[:, None, :] / sq_a)).sum(axis=1)
    gb = g * (scale * a[:, None, :] / norms - out * blocks / sq_b)      # (N, K, D)
    if b.shape[0] == 1:
        gb = gb.sum(axis=0, keepdims=True)
    return ga, gb.reshape(b.shape)


# --- dot_prod -------------------------------------------------------------------------------

@register("dot_prod_forward")
def dot_prod_forward(a, b):
    """``y: (N, 1)``, ``y[i] = <a[i], b[i]> = sum_j a[i, j] b[i, j]``."""
    return (a * b).sum(axis=1, keepdims=True)


@register("dot_prod_backward")
def dot_prod_backward(a, b, gy):
    """``ga = gy[i] * b[i]``, ``gb = gy[i] * a[i]``."""
    return gy * b, gy * a


# --- scaling --------------------------------------------------------------------------------

@register("scaling_forward")
def scaling_forward(w, x):
    """``y[i] = w[i] * x[i]``: each row times its own scalar."""
    return w * x


@register("scaling_backward")
def scaling_backward(w, x, gy):
    """``gw[i] = <gy[i], x[i]>``, ``gx[i] = w[i] * gy[i]``."""
    return (gy * x).sum(axis=1, keepdims=True), w * gy


# --- interpolation --------------------------------------------------------------------------

@register("interpolation_forward")
def interpolation_forward(w, x1, x2):
    """``y[i] = w[i] * x1[i] + (1 - w[i]) * x2[i]``."""
    return w * x1 + (1 - w) * x2


@register("interpolation_backward")
def interpolation_backward(w, x1, x2, gy):
    """``gw[i] = <gy[i], x1[i] - x2[i]>``, ``gx1 = w gy``, ``gx2 = (1 - w) gy``."""
    return (gy * (x1 - x2)).sum(axis=1, keepdims=True), w * gy, (1 - w) * gy


# --- power ----------------------------------------------------------------------------------

@register("power_forward")
def power_forward(w, x):
    """``y[i, j] = x[i, j] ** w[i]``: every entry of row i to the power ``w[i]``."""
    return x ** w


@register("power_backward")
def power_backward(w, x, y, gy):
    """With ``y`` the forward's output::

        gx[i, j] = gy[i, j] * w[i] * x[i, j] ** (w[i] - 1)
        gw[i]    = sum_j gy[i, j] * y[i, j] * ln(x[i, j])

    An entry with ``y == 0`` (``x == 0``, ``w > 0``) adds nothing to ``gw`` (the limit of
    ``y ln x``); a negative ``x`` gives NaN there, as ``ln`` does.
    """
    xp = get_array_module(x)
    zero = y == 0
    log_x = xp.log(xp.where(zero, 1, x))
    gw = (gy * xp.where(zero, 0, y * log_x)).sum(axis=1, keepdims=True)
    gx = gy * w * x ** (w - 1)
    return gw, gx


# --- sum_to_one_norm ------------------------------------------------------------------------

@register("sum_to_one_norm_forward")
def sum_to_one_norm_forward(x):
    """``y[i, j] = x[i, j] / s[i]`` with ``s[i] = sum_k x[i, k]``: each row sums to one.

    A row summing to 0 gives inf or NaN (Paddle required every sum to be positive).
    """
    return x / x.sum(axis=1, keepdims=True)


@register("sum_to_one_norm_backward")
def sum_to_one_norm_backward(x, y, gy):
    """``gx[i, j] = (gy[i, j] - sum_k gy[i, k] y[i, k]) / s[i]``."""
    total = x.sum(axis=1, keepdims=True)
    return (gy - (gy * y).sum(axis=1, keepdims=True)) / total
