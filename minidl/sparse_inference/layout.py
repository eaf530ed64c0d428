"""Sparse layouts of pruned weights, built once per parameter value.

* fc: Paddle stores ``W: (in, out)`` and computes ``y = x @ W``; the CSR is built over
  ``W.T`` -- one row per output feature, column indices = input features -- stored as
  uint32, or uint16 for a layout too large to stay in cache with at most 65536 inputs
  (``narrow_from``: a batch-1 product that streams from memory, or on some machines
  from the last-level cache, is bound by its bytes per nonzero; one that stays in cache,
  by its loads per nonzero).
* conv: ``W: (F, C/G, kh, kw)`` becomes ``F`` CSR rows whose column indices are offsets
  into the padded, phase-split input frame (``backends/numpy_ref/sparse.py`` defines the
  frame and the offsets); the layout depends on the input size, padding, stride and
  dilation, which are fixed per layer.
* recurrent (``lstmemory``, ``grumemory``): each step's product ``h[t-1] @ W`` is an fc
  product, so its CSR is :func:`fc_layout`'s, over ``W.T``: one for the LSTM's ``(H, 4H)``,
  two for the GRU, whose weight memory holds two matrices (:func:`recurrent_layout`).

:func:`cached` keeps one layout per parameter and geometry, keyed by the parameter's
``Parameters.version`` so it is rebuilt only when the value may have changed.
"""

import weakref
from dataclasses import dataclass

import numpy as np

from ..core.geometry import conv_frame_geometry, conv_offsets
from ..core.xp import as_numpy


@dataclass(frozen=True)
class CsrWeight:
    """A weight as CSR rows: ``indptr (rows + 1,)`` uint32, ``indices``/``values (nnz,)``.

    ``shape`` is the CSR matrix's ``(rows, columns)``; ``weights`` the dense weight's size,
    so ``density = nnz / weights``.
    """

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    shape: tuple
    weights: int

    @property
    def nnz(self):
        return int(self.values.shape[0])

    @property
    def density(self):
        return self.nnz / self.weights if self.weights else 0.0

    @property
    def nbytes(self):
        return self.indptr.nbytes + self.indices.nbytes + self.values.nbytes

    def to(self, xp):
        """The same layout with its arrays on ``xp``'s device (a no-op for NumPy)."""
        if xp is np:
            return self
        return CsrWeight(xp.asarray(self.indptr), xp.asarray(self.indices),
                         xp.asarray(self.values), self.shape, self.weights)


def _indptr(row_of_nonzero, rows):
    indptr = np.zeros(rows + 1, dtype=np.uint32)
    indptr[1:] = np.cumsum(np.bincount(row_of_nonzero, minlength=rows))
    return indptr


#: above this many nonzeros an fc layout stores uint16 columns where they fit (the default
#: ``narrow_from``): its 6 or 8 bytes per nonzero no longer stay in a last-level cache of
#: ~32 MB, and a product that streams from memory is bound by bytes (uint16 9 % faster at
#: 27 M nonzeros, Zen 3); below, uint32 columns, which the batch-1 kernel reads two per
#: load (12-17 % faster in cache on Zen 3)
STREAMED_NONZEROS = 1 << 21
#: the ``narrow_from`` of a machine whose last-level cache feeds a core more slowly than
#: its loads consume (the calibration tells, ``calibration.narrow_columns_from``): narrow
#: columns pay once a layout leaves the cores' L2 (Intel Xeon, 4096 x 4096 at 0.9 and 0.95:
#: uint16 8 % faster; at 0.99, 1.3 MB, uint32 4 % faster)
LEAVES_L2_NONZEROS = 1 << 19


def narrow_columns(nonzeros, bound, narrow_from):
    """Whether an fc layout of ``nonzeros`` with columns below ``bound`` takes uint16
    columns: more than ``narrow_from`` nonzeros, and every column fits."""
    return bound <= 65536 and nonzeros > narrow_from


def _column_indices(indices, bound, narrow_from):
    """The column indices as uint32, or as uint16 (:func:`narrow_columns`)."""
    if bound > np.iinfo(np.uint32).max:
        raise ValueError(f"sparse layout: column bound {bound} does not fit 32-bit indices")
    narrow = narrow_columns(indices.shape[0], bound, narrow_from)
    return indices.astype(np.uint16 if narrow else np.uint32)


def fc_layout(weight, narrow_from=STREAMED_NONZEROS):
    """CSR of ``weight.T`` for ``weight: (in, out)`` (Paddle's fc layout); uint16 columns
    above ``narrow_from`` nonzeros where they fit.

    >>> fc_layout(np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]], np.float32)).indptr
    array([0, 2, 3], dtype=uint32)
    """
    weight = np.ascontiguousarray(as_numpy(weight), dtype=np.float32)
    k, f = weight.shape
    # Nonzeros in the stored (in, out) order, then a stable sort by output feature: each
    # CSR row gets its inputs in ascending order. (np.flatnonzero and a radix sort on
    # 16-bit keys: several times faster than np.nonzero on the transposed matrix.)
    flat = np.flatnonzero(weight)
    cols, rows = np.divmod(flat, f)
    order = np.argsort(rows.astype(np.uint16) if f <= 65536 else rows, kind="stable")
    indices = _column_indices(cols[order], k, narrow_from)
    values = weight.reshape(-1)[flat[order]]
    return CsrWeight(_indptr(rows, f), indices, values, (f, k), weight.size)


def recurrent_layout(weight, gates, narrow_from=STREAMED_NONZEROS):
    """The CSR layouts of a recurrent weight ``(H, gates * H)``, one per product of a step
    (``narrow_from`` as :func:`fc_layout`'s).

    ``gates=4`` (``lstmemory``): ``(fc_layout(W),)``. ``gates=3`` (``grumemory``): Paddle's
    memory holds the ``(H, 2H)`` gate weight, then the ``(H, H)`` candidate weight (NOT the
    columns of one matrix, see ``backends/numpy_ref/recurrent.py``), so two layouts.
    """
    weight = np.ascontiguousarray(as_numpy(weight), dtype=np.float32)
    hidden = weight.shape[0]
    if gates == 4:
        return (fc_layout(weight.reshape(hidden, 4 * hidden), narrow_from),)
    flat = weight.reshape(-1)
    return (fc_layout(flat[:2 * hidden * hidden].reshape(hidden, 2 * hidden), narrow_from),
            fc_layout(flat[2 * hidden * hidden:].reshape(hidden, hidden), narrow_from))


def conv_layout(weight, input_shape, stride, padding, dilation, groups):
    """CSR of frame offsets for ``weight: (F, C/G, kh, kw)`` on ``input_shape (C, H, W)``."""
    weight = np.asarray(as_numpy(weight), dtype=np.float32)
    f, cg, kh, kw = weight.shape
    channels, height, width = input_shape
    if cg * groups != channels or f % groups:
        raise ValueError(f"sparse conv layout: filters {weight.shape} with groups={groups} do "
                         f"not fit an input of {channels} channels")
    _, _, hq, wq = conv_frame_geometry((height, width), (kh, kw), stride, padding, dilation)
    columns = stride[0] * stride[1] * channels * hq * wq
    if columns > np.iinfo(np.uint32).max:
        raise ValueError(f"sparse conv layout: a frame of {columns} pixels does not fit "
                         "32-bit offsets")
    # The offset of a tap depends only on its place in the filter (plus its group's first
    # channel): one table of them, indexed by the flat nonzeros' places. (2.8x faster
    # than np.nonzero's four index arrays and the offset arithmetic on every nonzero:
    # 14 against 38 ms for a 512x512x3x3 weight at 0.8.)
    taps = cg * kh * kw
    table = conv_offsets(*np.unravel_index(np.arange(taps), (cg, kh, kw)), channels, (hq, wq),
                         stride, dilation)
    flat = np.flatnonzero(weight)
    rows, tap = np.divmod(flat, taps)
    offsets = table[tap]
    if groups > 1:
        offsets += (rows // (f // groups)) * (cg * hq * wq)
    indptr = np.searchsorted(flat, np.arange(f + 1) * taps).astype(np.uint32)
    return CsrWeight(indptr, offsets.astype(np.uint32), weight.reshape(-1)[flat],
                     (f, columns), weight.size)


# --- one layout per parameter value ---------------------------------------------------

#: Parameters object -> {key: (version, layout)}; weak so dropped parameters free theirs
_CACHE = weakref.WeakKeyDictionary()
_stats = {"built": 0}


def cached(parameters, name, key, build):
    """``build()``'s result, reused while ``parameters.version(name)`` is unchanged.

    ``key`` names what was built from the value (a layout kind and its geometry): one
    parameter may serve several geometries. Without a ``parameters`` object (or one
    without versions) nothing is cached.
    """
    version = getattr(parameters, "version", None)
    if parameters is None or version is None:
        return build()
    store = _CACHE.setdefault(parameters, {})
    current = version(name)
    hit = store.get((name, key))
    if hit is not None and hit[0] == current:
        return hit[1]
    result = build()
    _stats["built"] += 1
    store[(name, key)] = (current, result)
    return result


def builds():
    """How many layouts (and densities) were built so far: tests check reuse with it."""
    return _stats["built"]
