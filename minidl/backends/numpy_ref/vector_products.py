"""Reference kernels of the layers that multiply two inputs row by row: ``out_prod`` (outer
product), ``linear_comb`` (Paddle's ``convex_comb``: a weighted sum of vectors) and
``tensor`` (a bilinear form per output unit with a learned ``(M, K)`` matrix each).

Every row (sample or timestep) is computed on its own; ``i`` indexes rows.
"""

from ..registry import register


# --- out_prod ----------------------------------------------------------------------------------

@register("out_prod_forward")
def out_prod_forward(a, b):
    """``a: (N, M)``, ``b: (N, K)`` -> ``(N, M*K)``: row i is the ``(M, K)`` matrix
    ``a[i]^T b[i]`` flattened row-major, ``y[i, m*K + k] = a[i, m] * b[i, k]``."""
    return (a[:, :, None] * b[:, None, :]).reshape(a.shape[0], -1)


@register("out_prod_backward")
def out_prod_backward(a, b, gy):
    """``ga[i, m] = sum_k gy[i, m, k] b[i, k]``, ``gb[i, k] = sum_m gy[i, m, k] a[i, m]``
    (``gy`` seen as ``(N, M, K)``)."""
    g = gy.reshape(a.shape[0], a.shape[1], b.shape[1])
    return (g * b[:, None, :]).sum(axis=2), (g * a[:, :, None]).sum(axis=1)


# --- linear_comb (convex_comb) -----------------------------------------------------------------

@register("linear_comb_forward")
def linear_comb_forward(w, v):
    """``w: (N, M)`` weights, ``v: (N, M*D)`` M vectors per row -> ``z: (N, D)``::

        z[i, d] = sum_m w[i, m] * v[i, m*D + d]        (z[i] = w[i] V[i], V[i] = v[i] as (M, D))
    """
    vectors = v.reshape(w.shape[0], w.shape[1], -1)               # (N, M, D)
    return (w[:, :, None] * vectors).sum(axis=1)


@register("linear_comb_backward")
def linear_comb_backward(w, v, gz):
    """``gw[i, m] = <gz[i], V[i, m]>``, ``gv[i, m*D + d] = w[i, m] * gz[i, d]``."""
    vectors = v.reshape(w.shape[0], w.shape[1], -1)               # (N, M, D)
    gw = (vectors * gz[:, None, :]).sum(axis=2)
    gv = (w[:, :, None] * gz[:, None, :]).reshape(v.shape)
    return gw, gv


# --- tensor (bilinear) -------------------------------------------------------------------------

@register("tensor_forward")
def tensor_forward(a, b, w):
    """``a: (N, M)``, ``b: (N, K)``, ``w: (S, M, K)`` -> ``(N, S)``::

        y[i, s] = a[i] W_s b[i]^T = sum_mk a[i, m] w[s, m, k] b[i, k]

    (no bias here: the layer adds its own).
    """
    return ((a[:, None, :, None] * w[None]) * b[:, None, None, :]).sum(axis=(2, 3))


@register("tensor_backward")
def tensor_backward(a, b, w, gy):
    """``(ga, gb, gw)`` of :func:`tensor_forward`::

        ga[i, m]    = sum_s gy[i, s] sum_k w[s, m, k] b[i, k]
        gb[i, k]    = sum_s gy[i, s] sum_m a[i, m] w[s, m, k]
        gw[s, m, k] = sum_i gy[i, s] a[i, m] b[i, k]
    """
    weighted = (gy[:, :, None, None] * w[None]).sum(axis=1)      # (N, M, K): sum_s gy W_s
    ga = (weighted * b[:, None, :]).sum(axis=2)
    gb = (weighted * a[:, :, None]).sum(axis=1)
    gw = (gy[:, :, None, None] * a[:, None, :, None] * b[:, None, None, :]).sum(axis=0)
    return ga, gb, gw
