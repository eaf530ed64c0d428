"""Data-parallel training over MPI: ``mpiexec -n N python train.py``.

Every rank runs the whole script. The trainer (``paddle.trainer.SGD``) asks
:func:`get_comm` who it is; under MPI each rank trains on its slice of every batch, the
gradients are summed over the ranks, and every rank applies the same update.

* :mod:`.split` -- which samples of a batch each rank takes;
* :mod:`.comm` -- the communicator: one process, or mpi4py with deadlines on collectives;
* :mod:`.data_parallel` -- the steps the trainer takes (no-ops in one process);
* :mod:`.faults` -- ending the job, with a message, when a rank fails.

See ``docs/distributed.md`` for how to run a job and what is supported.
"""

from .comm import LocalCommunicator, MPICommunicator, get_comm, world_size_from_environment
from .split import local_part, shard_bounds

__all__ = ["LocalCommunicator", "MPICommunicator", "get_comm", "local_part", "shard_bounds",
           "world_size_from_environment"]
