"""The data movement ``recurrent_group`` unrolls a batch of sequences with.

A group runs its step once per timestep over the sequences still running. It reorders the
packed rows once per batch so that every timestep is one contiguous block of rows (the
sequences sorted by length, longest first, as PyTorch's ``PackedSequence`` does), hands each
step its block, and puts the step outputs back in the input's row order at the end::

    x (packed, input order) --GatherRows--> time-major rows --SplitRows--> x_0, x_1, ...
    step outputs y_0, y_1, ... --MergeRows--> y (packed, input order)

Between steps a memory of a sequence that ended is dropped with ``PrefixRows`` (the ended
sequences are the last rows of a block). All four are plain indexing: written with ``xp``
directly, no kernel to swap. Each keeps only index arrays and shapes for its backward.
"""

from ..core.tensor import Function
from ..core.xp import get_array_module


class GatherRows(Function):
    """``y = x[index]`` along the first axis; ``index: (K,)`` host int64.

    Backward scatters ``gy`` back (adding where ``index`` repeats a row, as beam search
    does); rows never gathered get zeros.
    """

    def __init__(self, index, unique=True):
        self.index = index
        self.unique = unique

    def forward(self, x):
        self.shape, self.dtype = x.shape, x.dtype
        return x[get_array_module(x).asarray(self.index)]

    def backward(self, gy):
        xp = get_array_module(gy)
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        index = xp.asarray(self.index)
        if self.unique:
            gx[index] = gy
        else:
            xp.add.at(gx, index, gy)
        return gx


class SplitRows(Function):
    """``x -> (x[b0:b1], x[b1:b2], ...)`` for ``bounds = [b0, b1, ..., bT]`` (one output per
    block); backward concatenates the blocks' gradients (zeros for an unused block)."""

    def __init__(self, bounds):
        self.bounds = [int(b) for b in bounds]

    def forward(self, x):
        self.shape = x.shape
        b = self.bounds
        return tuple(x[b[i]:b[i + 1]] for i in range(len(b) - 1))

    def backward(self, *gys):
        xp = get_array_module(gys[0])
        gx = xp.concatenate(gys, axis=0)
        if self.bounds[0] or self.bounds[-1] != self.shape[0]:
            full = xp.zeros(self.shape, dtype=gx.dtype)
            full[self.bounds[0]:self.bounds[-1]] = gx
            return full
        return gx


class MergeRows(Function):
    """Blocks ``x_0, x_1, ...`` stacked, then row ``j`` of the stack moved to row
    ``dest[j]``: ``y[dest] = concatenate(xs)``. ``dest`` is a permutation of the output rows
    (host int64). Backward reads ``gy[dest]`` and splits it into the blocks."""

    def __init__(self, dest):
        self.dest = dest

    def forward(self, *xs):
        xp = get_array_module(xs[0])
        stacked = xp.concatenate(xs, axis=0) if len(xs) > 1 else xs[0]
        self.sizes = [len(x) for x in xs]
        y = xp.empty_like(stacked)
        y[xp.asarray(self.dest)] = stacked
        return y

    def backward(self, gy):
        xp = get_array_module(gy)
        stacked = gy[xp.asarray(self.dest)]
        grads, start = [], 0
        for wanted, size in zip(self.needs_input_grad, self.sizes):
            grads.append(stacked[start:start + size] if wanted else None)
            start += size
        return tuple(grads)


class PrefixRows(Function):
    """``y = x[:n]`` (the sequences still running); backward pads ``gy`` with zero rows."""

    def __init__(self, n):
        self.n = int(n)

    def forward(self, x):
        self.shape = x.shape
        return x[:self.n]

    def backward(self, gy):
        gx = get_array_module(gy).zeros(self.shape, dtype=gy.dtype)
        gx[:self.n] = gy
        return gx


def gather_rows(x, index, unique=True):
    return GatherRows(index, unique)(x)


def split_rows(x, bounds):
    pieces = SplitRows(bounds)(x)
    return pieces if isinstance(pieces, tuple) else (pieces,)


def merge_rows(xs, dest):
    return MergeRows(dest)(*xs)


def prefix_rows(x, n):
    return x if int(n) == x.shape[0] else PrefixRows(n)(x)


__all__ = ["GatherRows", "MergeRows", "PrefixRows", "SplitRows", "gather_rows", "merge_rows",
           "prefix_rows", "split_rows"]
