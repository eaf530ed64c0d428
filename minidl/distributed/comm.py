"""Who this process is in a data-parallel job, and the few collectives the trainer needs.

One small interface, two implementations::

    comm.rank, comm.size, comm.is_main        # is_main: rank 0
    comm.allreduce_sum(array) -> array        # elementwise sum over ranks (a new array)
    comm.allreduce_max(array) -> array        # elementwise max over ranks
    comm.broadcast(array)                     # in place: every rank gets rank 0's values
    comm.allgather(obj) -> [obj of rank 0, obj of rank 1, ...]   # small picklable things
    comm.rng() -> numpy Generator             # the stream this rank's forward pass draws from
    comm.seed_rng(generator)                  # derive that stream (MPI: one per rank)
    comm.abort(message)                       # print and end every rank of the job

* :class:`LocalCommunicator` -- one process; every collective hands back its input.
* :class:`MPICommunicator` -- ``MPI.COMM_WORLD`` of mpi4py. Every collective runs under a
  deadline (``paddle.init(mpi_timeout=...)``) kept by a watchdog thread, so a rank that
  hangs ends the job with a message naming the collective instead of a silent hang.

:func:`get_comm` picks one: MPI when ``paddle.init(distributed='mpi')`` asked for it or the
process was started by an MPI launcher with more than one rank, else local.
"""

import os
import sys
import threading
import time

import numpy as np

from ..core import settings
from ..core.random import get_rng
from .faults import Watchdog

#: environment variables through which MPI launchers announce the world size
#: (MPICH/Hydra, Intel MPI and Slurm's PMI; Open MPI; MVAPICH)
WORLD_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE")

DEFAULT_TIMEOUT = 600.0


class LocalCommunicator:
    """A job of one process: every collective returns its input unchanged."""

    rank = 0
    size = 1
    is_main = True

    def allreduce_sum(self, array):
        return array

    def allreduce_max(self, array):
        return array

    def broadcast(self, array):
        pass

    def allgather(self, obj):
        return [obj]

    def rng(self):
        return get_rng()   # looked up each time: paddle.init(seed=...) replaces it

    def seed_rng(self, generator):
        pass               # one process draws from the shared stream itself

    def abort(self, message, code=1):
        raise SystemExit(f"minidl: {message}")

    def __repr__(self):
        return "LocalCommunicator()"


class MPICommunicator:
    """``comm`` (an mpi4py communicator) with a deadline on every collective.

    ``timeout``: seconds a collective may wait for the other ranks before the job is
    aborted. Collectives wait for the slowest rank's whole step, so the limit is generous.
    The collectives themselves are MPI's blocking ones: MPI drives a large allreduce
    through its rounds fastest while it waits inside the call (polling ``MPI_Test`` from
    Python, sleeping between polls, stalled each round of a 2 MB allreduce).
    """

    def __init__(self, comm, timeout=DEFAULT_TIMEOUT):
        from mpi4py import MPI
        self.MPI = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.is_main = self.rank == 0
        self.timeout = float(timeout)
        self._rng = None
        self._watchdog = Watchdog(self.timeout, self._timed_out)

    # --- collectives ---------------------------------------------------------------------
    def allreduce_sum(self, array):
        return self._allreduce(array, self.MPI.SUM, "allreduce (sum)")

    def allreduce_max(self, array):
        return self._allreduce(array, self.MPI.MAX, "allreduce (max)")

    def _allreduce(self, array, op, what):
        send = np.ascontiguousarray(array)
        result = np.empty_like(send)
        with self._watchdog.guard(what):
            self.comm.Allreduce(send, result, op=op)
        return result

    def broadcast(self, array):
        if not array.flags.c_contiguous:
            raise ValueError("broadcast needs a C-contiguous array (it is filled in place)")
        with self._watchdog.guard("broadcast"):
            self.comm.Bcast(array, root=0)

    def allgather(self, obj):
        with self._watchdog.guard("allgather"):
            return self.comm.allgather(obj)     # mpi4py pickles objects of any size

    def _timed_out(self, what):
        """Called by the watchdog thread while the main thread is stuck in ``what``."""
        self.abort(f"{what} waited {self.timeout:g} s for the other ranks: one of them is "
                   "hung, or not every rank calls trainer.train the same way; aborting the "
                   "job (paddle.init(mpi_timeout=...) sets the limit)")

    # --- the rest --------------------------------------------------------------------------
    def rng(self):
        """This rank's own stream (dropout masks differ between ranks); see ``seed_rng``."""
        return self._rng if self._rng is not None else get_rng()

    def seed_rng(self, generator):
        """Derive this rank's stream from ``generator`` (equal on every rank) without
        drawing from it: its bit generator jumped ahead ``rank + 1`` times (2**127 draws
        each for PCG64), so the ranks' streams never overlap the shared one or each other."""
        self._rng = np.random.Generator(generator.bit_generator.jumped(self.rank + 1))

    def abort(self, message, code=1):
        sys.stdout.flush()
        sys.stderr.write(f"minidl: rank {self.rank} of {self.size}: {message}\n")
        sys.stderr.flush()
        # the launcher forwards our output through a pipe, and MPI_Abort tears the job down
        # at once: without a pause the message is sometimes lost on the way
        time.sleep(0.5)
        if threading.current_thread() is threading.main_thread() \
                or self.MPI.Query_thread() == self.MPI.THREAD_MULTIPLE:
            self.comm.Abort(code)
        # MPI_Abort from the watchdog thread needs full thread support; without it, exit:
        # the launcher sees a rank fail and ends the others
        os._exit(code)

    def __repr__(self):
        return f"MPICommunicator(rank={self.rank}, size={self.size}, timeout={self.timeout:g})"


def world_size_from_environment():
    """The world size an MPI launcher announced, or None when not started by one."""
    for variable in WORLD_SIZE_VARIABLES:
        value = os.environ.get(variable)
        if value and value.isdigit():
            return int(value)
    return None


_mpi_comm = None


def get_comm():
    """The communicator of this process (see the module docstring for the choice)."""
    global _mpi_comm
    if _mpi_comm is not None:
        return _mpi_comm
    mode = settings.get("distributed")
    launched = world_size_from_environment()
    if mode == "none" or (mode != "mpi" and (launched or 1) <= 1):
        return LocalCommunicator()
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise RuntimeError(
            f"minidl: started as one of {launched} MPI ranks (or paddle.init(distributed="
            "'mpi')) but mpi4py cannot be imported; install it with "
            "pip install 'minidl[mpi]', or pass paddle.init(distributed='none') to train "
            f"independently in each process ({error})") from error
    if MPI.COMM_WORLD.Get_size() == 1:
        return LocalCommunicator()
    timeout = float(settings.get("mpi_timeout") or DEFAULT_TIMEOUT)
    _mpi_comm = MPICommunicator(MPI.COMM_WORLD, timeout)
    from .faults import install_fault_handlers
    install_fault_handlers(_mpi_comm, quiet=not settings.get("print_all_ranks"))
    return _mpi_comm
