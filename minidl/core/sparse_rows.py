"""A batch of sparse input vectors (``sparse_binary_vector`` / ``sparse_float_vector``).

Each sample is a vector of ``dim`` entries of which a few are nonzero; the batch keeps them as
CSR rows, never as a dense ``(N, dim)`` array (``dim`` is often a vocabulary of a million)::

    samples   [3, 7]      [0]      [2, 3, 9]         (binary: the indices of the ones)
    indptr    [0, 2, 3, 6]
    indices   [3, 7, 0, 2, 3, 9]
    values    None  (every stored entry is 1)  -- or the floats of a sparse_float_vector

Row ``i`` is ``indices[indptr[i]:indptr[i + 1]]`` (with those ``values``). A layer that can
read sparse input (``fc``, a ``full_matrix_projection``) multiplies these rows by its weight
without densifying them; the others reject sparse input when the network is built.
"""

import numpy as np


class SparseRows:
    """``N`` sparse vectors of ``dim`` entries as CSR arrays.

    Notation: ``indptr: (N + 1,)`` int64, ``indices: (nnz,)`` int64 in ``[0, dim)``,
    ``values: (nnz,)`` float or None (all ones).
    """

    def __init__(self, indptr, indices, values, dim):
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.indices = np.asarray(indices, dtype=np.int64)
        self.values = None if values is None else np.asarray(values)
        self.dim = int(dim)
        nnz = int(self.indptr[-1]) if self.indptr.size else -1
        if self.indptr.ndim != 1 or nnz != self.indices.size or (
                self.values is not None and self.values.size != nnz):
            raise ValueError(f"SparseRows: indptr ends at {nnz} but there are "
                             f"{self.indices.size} indices"
                             + ("" if self.values is None else f" and {self.values.size} values"))

    @property
    def shape(self):
        return (len(self.indptr) - 1, self.dim)

    @property
    def dtype(self):
        return np.dtype(np.float32) if self.values is None else self.values.dtype

    @property
    def ndim(self):
        return 2

    def __len__(self):
        return len(self.indptr) - 1

    def row_of_entries(self):
        """``(nnz,)``: the row each stored entry belongs to."""
        return np.repeat(np.arange(len(self)), np.diff(self.indptr))

    def entry_values(self, dtype):
        """``(nnz,)`` values of the stored entries (ones for binary vectors)."""
        if self.values is None:
            return np.ones(self.indices.size, dtype=dtype)
        return self.values.astype(dtype, copy=False)

    def to_dense(self, dtype=np.float32):
        """The ``(N, dim)`` dense array (for tests and small inputs)."""
        dense = np.zeros(self.shape, dtype=dtype)
        np.add.at(dense, (self.row_of_entries(), self.indices), self.entry_values(dtype))
        return dense

    def __repr__(self):
        kind = "binary" if self.values is None else "float"
        return f"SparseRows({len(self)} rows, dim {self.dim}, {self.indices.size} {kind} entries)"
