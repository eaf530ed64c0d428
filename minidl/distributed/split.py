"""The deterministic split of one minibatch among the ranks of a data-parallel job.

Rank ``r`` of ``size`` takes a contiguous slice; slices differ in length by at most one,
the first ``n % size`` ranks taking the extra sample. When the batch is smaller than the
number of ranks the last ranks get empty slices (they contribute nothing that step)::

    n = 10, size = 4  ->  [0:3] [3:6] [6:8] [8:10]
    n = 2,  size = 4  ->  [0:1] [1:2] [2:2] [2:2]

Every rank reads the same batches and computes the same bounds, so no communication is
needed to agree on who takes which sample.
"""

import numbers


def shard_bounds(n, rank, size):
    """``(start, stop)`` of rank ``rank``'s slice of a batch of ``n`` samples."""
    for name, value, low in (("n", n, 0), ("size", size, 1), ("rank", rank, 0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"shard_bounds: {name}={value!r} must be an integer >= {low}")
    if rank >= size:
        raise ValueError(f"shard_bounds: rank={rank} must be below size={size}")
    base, extra = divmod(n, size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def local_part(minibatch, rank, size):
    """This rank's slice of ``minibatch`` (any sequence: a list of samples from a reader)."""
    start, stop = shard_bounds(len(minibatch), rank, size)
    return minibatch[start:stop]
