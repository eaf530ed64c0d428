"""The data-parallel steps the trainer takes; each is a no-op in a job of one process.

One training batch, on every rank of ``size``::

    reader -> the same minibatch of n samples on every rank
           -> split_batches: this rank's slice (minidl.distributed.split), n
           -> forward + backward on the slice: summed gradients, batch-norm statistics,
              cost sum, evaluator statistics
           -> reduce_batch: gradients, cost and evaluator statistics summed over ranks;
              batch-norm statistics averaged (weighted by samples)
           -> the same update on every rank (so parameters stay identical)

Gradients are sums over samples (Paddle's convention), so the sum over ranks of the slices'
gradients is the gradient of the whole batch: the update is the one a single process makes
on that batch, up to float32 rounding (the sum is taken in a different order).

``start_training`` runs once before the first batch: every rank takes the main rank's
parameter values and random state, so an unseeded ``paddle.init`` or a shuffle drawn from
``minidl.random`` still gives every rank the same start and the same batches.
"""

import warnings

import numpy as np

from ..core.xp import as_numpy, get_array_module
from ..core.random import get_rng
from .split import shard_bounds

#: marks "my reader has ended" in the per-batch agreement
END_OF_PASS = -1


def start_training(comm, parameters):
    """Copy the main rank's parameter values and random state to every rank."""
    if comm.size == 1:
        return
    for name in parameters.names():
        value = parameters.value(name)
        host = np.ascontiguousarray(as_numpy(value))
        comm.broadcast(host)
        value[...] = get_array_module(value).asarray(host)
    rng = get_rng()
    rng.bit_generator.state = comm.allgather(rng.bit_generator.state)[0]
    comm.seed_rng(rng)


def split_batches(comm, reader):
    """Yield ``(this rank's slice, n)`` for each minibatch of ``reader()`` (n: its size).

    Readers that disagree (a different number of batches, or batches of different sizes)
    raise the same error on every rank instead of deadlocking: :func:`reduce_batch` checks
    that every rank read a batch of the same size, and the end of the pass that every
    rank's reader has ended.
    """
    if comm.size == 1:
        for minibatch in reader():
            yield minibatch, len(minibatch)
        return
    for minibatch in reader():
        start, stop = shard_bounds(len(minibatch), comm.rank, comm.size)
        yield minibatch[start:stop], len(minibatch)
    # pairs with the other ranks' allgather in reduce_batch if their readers go on
    _check_same_batch([entry["batch"] for entry in comm.allgather({"batch": END_OF_PASS})])


def _check_same_batch(sizes):
    if len(set(sizes)) > 1:
        raise RuntimeError(
            f"the ranks' readers disagree: ranks 0, 1, ... read batches of {sizes} samples "
            f"({END_OF_PASS}: that rank's reader had ended). Every rank must read the same "
            "batches: use the same reader, shuffled with paddle.reader.shuffle (its random "
            "state is shared when train starts) or not at all")


def reduce_batch(comm, grads, updates, cost_sum, stats, local_size, batch_size):
    """Combine one batch's results over the ranks.

    grads:      {name: array} summed gradients of this rank's slice -> summed over ranks
    updates:    {name: array} batch-norm moving statistics -> average weighted by samples
    cost_sum:   float, the slice's summed cost -> summed over ranks
    stats:      [per evaluator: list of floats/arrays, or None] -> summed over ranks
    local_size: samples in this rank's slice (0 when the batch had fewer samples than ranks)
    batch_size: samples in the whole batch this rank read (checked to be the same on all)

    Returns ``(grads, updates, cost_sum, stats)``; the same values on every rank.
    Two collectives: an allgather of the small things (pickled; it also tells a rank with
    an empty slice the statistics' shapes), then one allreduce of every array.
    """
    if comm.size == 1:
        return grads, updates, cost_sum, stats
    shapes = {name: tuple(np.shape(update)) for name, update in updates.items()}
    gathered = comm.allgather({"batch": batch_size, "samples": local_size, "cost": cost_sum,
                               "stats": stats, "shapes": shapes})
    _check_same_batch([entry["batch"] for entry in gathered])
    total = sum(entry["samples"] for entry in gathered)
    cost_sum = sum(entry["cost"] for entry in gathered)     # rank order: equal on every rank
    stats = [_sum_present([entry["stats"][i] for entry in gathered]) for i in range(len(stats))]
    for entry in gathered:
        shapes.update(entry["shapes"])
    pieces = [as_numpy(grad).ravel() for grad in grads.values()]
    for name in sorted(shapes):
        if name in updates:
            pieces.append(as_numpy(updates[name]).ravel() * np.float32(local_size))
        else:
            pieces.append(np.zeros(int(np.prod(shapes[name])), dtype=np.float32))
    summed = comm.allreduce_sum(np.concatenate(pieces))
    offset, reduced_grads, reduced_updates = 0, {}, {}
    xp = get_array_module(*grads.values())   # back to the backend's arrays (CuPy on a GPU)
    for name, grad in grads.items():
        reduced_grads[name] = xp.asarray(summed[offset:offset + grad.size].reshape(grad.shape))
        offset += grad.size
    for name in sorted(shapes):
        size = int(np.prod(shapes[name]))
        average = summed[offset:offset + size].reshape(shapes[name]) / np.float32(total)
        reduced_updates[name] = xp.asarray(average)
        offset += size
    return reduced_grads, reduced_updates, cost_sum, stats


def _sum_present(per_rank):
    """Elementwise sum of the statistics lists of the ranks that had samples."""
    present = [stats for stats in per_rank if stats is not None]
    return [sum(parts) for parts in zip(*present)] if present else None


_warned_save = False


def skip_save(comm, f):
    """True on every rank but the main one: only the main rank writes parameters."""
    global _warned_save
    if comm.is_main:
        return False
    if not isinstance(f, (str, bytes)) and not hasattr(f, "__fspath__") and not _warned_save:
        warnings.warn(f"rank {comm.rank}: save_parameter_to_tar writes on the main rank only; "
                      "this rank opened a file for nothing, and its open() may have emptied "
                      "the main rank's file of the same name. Open the file only when "
                      "event.is_main, or pass a path", stacklevel=3)
        _warned_save = True
    return True
