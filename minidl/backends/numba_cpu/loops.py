"""Inner loops shared by the Numba kernels: small, unsigned, inlined by LLVM.

Index arithmetic is unsigned (``np.uint64``): with signed indices Numba must handle
negative (wrap-around) indices on every access, which kept LLVM from vectorising these
loops (the unrolled correlation below ran about 10x slower). Unsigned constants are spelled
``_1``: a plain ``1`` would make the arithmetic signed again.
"""

import numpy as np
from numba import njit

from .threads import thread_count

U = np.uint64
_0, _1 = U(0), U(1)

#: numbers of taps passed as a tuple, which LLVM unrolls; others loop over an array
UNROLLED_TAPS = (4, 9)
#: parallel chunks per thread: enough to balance uneven tasks, few enough to reuse buffers
CHUNKS_PER_THREAD = 4

_FMA = {"contract"}
# "reassoc" lets LLVM vectorise dot products: it sums in another order than the plain loop
# (the tests compare with a tolerance)
_DOT_MATH = {"reassoc", "contract", "nsz"}


def task_chunks(tasks):
    """How many chunks a ``prange`` over ``tasks`` tasks is cut into (unsigned)."""
    return U(max(1, min(tasks, CHUNKS_PER_THREAD * thread_count())))


def as_taps(offsets):
    """Tap offsets as a tuple (an unrolled loop) for 3x3 filters, else an array."""
    offsets = [U(o) for o in offsets]
    return tuple(offsets) if len(offsets) in UNROLLED_TAPS else np.array(offsets, dtype=U)


@njit(cache=True, fastmath=_FMA)
def correlate(dst, src, weights, offsets, n, accumulate):
    """``dst[p] (+)= sum_t weights[t] * src[p + offsets[t]]`` for ``p < n``.

    With ``offsets`` a tuple Numba knows how many taps there are, LLVM unrolls the sum and
    each ``dst[p]`` stays in a register while its taps are added.
    """
    for p in range(n):
        total = dst[p] if accumulate else dst.dtype.type(0)
        for t in range(len(offsets)):
            total += weights[t] * src[p + offsets[t]]
        dst[p] = total


@njit(cache=True, fastmath=_DOT_MATH)
def dot(u, v, n):
    total = u.dtype.type(0)             # float32 stays float32 (a float64 sum halves the lanes)
    for p in range(n):
        total += u[p] * v[p]
    return total


@njit(cache=True)
def scale_shift(values, n, scale, shift, relu):
    """``values[e] = values[e] * scale + shift`` for ``e < n``, then the ReLU when ``relu``:
    a batch norm with fixed statistics, folded into one scale and shift per channel,
    applied to a convolution's output while it is still in cache (``conv_batch_norm.py``).

    The loop runs over a slice from 0: indexing ``values`` from an offset kept LLVM from
    vectorising it (about 4x slower)."""
    row = values[:n]
    zero = values.dtype.type(0)
    if relu:
        for e in range(row.shape[0]):
            value = row[e] * scale + shift
            row[e] = value if value > zero else zero
    else:
        for e in range(row.shape[0]):
            row[e] = row[e] * scale + shift


@njit(cache=True)
def copy(src, dst, base, n):
    """``dst[base + e] = src[e]`` for ``e < n`` (a vectorised block copy)."""
    for e in range(n):
        dst[base + e] = src[e]


@njit(cache=True, fastmath=_DOT_MATH)
def dots(u, src, offsets, n, sums):
    """``sums[t] += sum_{p < n} u[p] * src[p + offsets[t]]`` for every tap ``t``.

    The 9 taps of a 3x3 filter are summed in one pass (``u`` read once, nine accumulators
    in registers); other sizes take one :func:`dot` per tap.
    """
    if offsets.size != 9:
        for t in range(U(offsets.size)):
            sums[t] += dot(u, src[offsets[t]:], n)
        return
    o0, o1, o2, o3, o4, o5, o6, o7, o8 = (offsets[0], offsets[1], offsets[2], offsets[3],
                                          offsets[4], offsets[5], offsets[6], offsets[7],
                                          offsets[8])
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = u.dtype.type(0)
    for p in range(n):
        g = u[p]
        a0 += g * src[p + o0]
        a1 += g * src[p + o1]
        a2 += g * src[p + o2]
        a3 += g * src[p + o3]
        a4 += g * src[p + o4]
        a5 += g * src[p + o5]
        a6 += g * src[p + o6]
        a7 += g * src[p + o7]
        a8 += g * src[p + o8]
    for t, a in enumerate((a0, a1, a2, a3, a4, a5, a6, a7, a8)):
        sums[t] += a
