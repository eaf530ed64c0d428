"""Reference kernels of the simple recurrent layer (``paddle.layer.recurrent``).

A batch of sequences travels as packed rows ``x: (R, H)`` plus host offsets ``starts``
(``minidl/core/sequence.py``). The layer's weight ``w: (H, H)`` multiplies the previous
output from the right, and the optional bias ``(H,)`` is added to every row::

    z[t] = x[t] + bias + y[t-1] @ w        (no y[t-1] term at a sequence's first row)
    y[t] = act(z[t])

With ``reverse`` each sequence runs from its last row to its first: ``y[t]`` reads
``y[t+1]``, and the last row has no recurrent term. Each sequence starts afresh.

The kernels walk the timesteps, and at step ``t`` take row ``t`` of EVERY sequence long
enough to have one in a single matrix product: the sequences are independent, so stepping
them together computes exactly what stepping them one after another would.

``act`` is an activation kernel name of ``backends/numpy_ref/activation.py`` (``linear``:
the identity). Its derivative is given both ``z`` and ``y``, so any of them works.
"""

from ...core.xp import get_array_module
from ..registry import register
from . import activation


def _activation(act):
    """``(forward(z), gradient(z, y, gy))`` of the activation kernel name ``act``."""
    if act == "linear":
        return (lambda z: z), (lambda z, y, gy: gy)
    return getattr(activation, f"act_{act}"), getattr(activation, f"act_{act}_grad")


def timestep_rows(starts, reverse):
    """For each step ``t`` of the longest sequence: ``(t, rows, previous)`` -- the row of
    step ``t`` in every sequence that has one, and the rows those read (step ``t - 1``, in
    the direction of the run). ``starts: (S + 1,)`` host offsets; the arrays are int64.

        starts [0, 2, 5], forward:  t=0 rows [0, 2]   t=1 rows [1, 3] previous [0, 2]
                                    t=2 rows [4]      previous [3]
        reverse:                    t=0 rows [1, 4]   t=1 rows [0, 3] previous [1, 4] ...
    """
    begins, ends = starts[:-1], starts[1:]
    lengths = ends - begins
    steps = []
    for t in range(int(lengths.max(initial=0))):
        alive = lengths > t
        if reverse:
            rows = ends[alive] - 1 - t
            steps.append((t, rows, rows + 1))
        else:
            rows = begins[alive] + t
            steps.append((t, rows, rows - 1))
    return steps


@register("simple_rnn_forward")
def simple_rnn_forward(x, w, bias, starts, reverse, act):
    """``(y, z)``: the outputs and their pre-activations, both ``(R, H)``.

    Notation: ``x: (R, H)``, ``w: (H, H)``, ``bias: (H,)`` or None, ``starts: (S + 1,)``.
    """
    xp = get_array_module(x)
    forward, _ = _activation(act)
    z = x.copy() if bias is None else x + bias
    y = xp.empty_like(z)
    for t, rows, previous in timestep_rows(starts, reverse):
        rows = xp.asarray(rows)
        if t > 0:
            z[rows] += y[xp.asarray(previous)] @ w
        y[rows] = forward(z[rows])
    return y, z


@register("simple_rnn_backward")
def simple_rnn_backward(gy, w, z, y, starts, reverse, act):
    """``(gx, gw, gbias)`` of ``simple_rnn_forward`` (backpropagation through time).

    Notation: ``gy: (R, H)`` the gradient of ``y``; ``w``, ``z``, ``y`` as in forward ->
    ``gx: (R, H)`` (also the gradient of ``z``), ``gw: (H, H)``, ``gbias: (H,)``::

        g[t]      = gy[t] + gz[t+1] @ w.T       (the next step read y[t])
        gz[t]     = act'(z[t], y[t]) * g[t]
        gw        = sum over t > 0 of y[t-1].T @ gz[t]
        gbias     = sum over every row of gz
    """
    xp = get_array_module(gy)
    _, gradient = _activation(act)
    g = gy.copy()                 # the gradient of y, completed as later steps are undone
    gz = xp.zeros_like(z)
    gw = xp.zeros_like(w)
    for t, rows, previous in reversed(timestep_rows(starts, reverse)):
        rows = xp.asarray(rows)
        gz[rows] = gradient(z[rows], y[rows], g[rows])
        if t > 0:
            previous = xp.asarray(previous)
            # within one step the previous rows are distinct: plain += loses nothing
            g[previous] += gz[rows] @ w.T
            gw += y[previous].T @ gz[rows]
    return gz, gw, gz.sum(axis=0)
