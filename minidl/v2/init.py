"""``paddle.init(**kw)``: choose the backend, seed the random state, accept v2 flags.

The choices are stored in :mod:`minidl.core.settings`, where the engine reads them.
"""

import os
import warnings

from ..backends import set_backend
from ..core import random as _random
from ..core import settings
from ..distributed import get_comm
from ..sparse_inference.plan import sparse_mode

_warned_trainer_count = False
# v2 flags that scripts pass and minidl accepts without effect
_ACCEPTED = {"log_period", "dot_period", "show_parameter_stats_period", "save_dir",
             "log_error_clipping", "parallel_nn", "use_mkldnn", "use_mkl_packed"}
_KNOWN = set(settings.DEFAULTS) | _ACCEPTED


def _from_environment():
    """Paddle read ``PADDLE_INIT_<KEY>`` environment variables as defaults."""
    found = {}
    for key, value in os.environ.items():
        if key.startswith("PADDLE_INIT_"):
            name = key[len("PADDLE_INIT_"):].lower()
            if name in ("use_gpu", "print_all_ranks"):
                found[name] = value.lower() in ("1", "true", "yes")
            elif name in ("trainer_count", "gpu_id", "seed"):
                found[name] = int(value)
            elif name == "mpi_timeout":
                found[name] = float(value)
            else:
                found[name] = value
    return found


def init(**kwargs):
    """Initialise minidl as ``paddle.init`` did.

    ``use_gpu=True`` selects the ``gpu`` backend (or raises, saying what is missing);
    ``backend=`` names one of ``numpy``, ``cpu``, ``gpu``; ``seed=`` makes runs
    reproducible; ``trainer_count > 1`` is accepted with a warning (one process trains).
    ``sparse=`` (``'auto'`` by default, ``True`` or ``False``) is the default of
    ``paddle.infer(..., sparse=...)``: whether pruned fc/conv layers run sparse kernels
    (``'auto'``: per layer, where measured faster on this machine; see ``minidl.sparse``).

    Several processes train together under MPI (``mpiexec -n N``, :mod:`minidl.distributed`):
    ``distributed=None`` (default) uses MPI when an MPI launcher started more than one rank,
    ``'mpi'`` always, ``'none'`` never (each process trains alone); ``mpi_timeout=`` is how
    long (seconds, default 600) a rank waits for the others before aborting the job;
    ``print_all_ranks=True`` keeps the standard output of every rank, not only rank 0's.
    The MPI world size takes the place of ``trainer_count``.
    """
    global _warned_trainer_count
    options = {**_from_environment(), **kwargs}
    unknown = set(options) - _KNOWN
    if unknown:
        warnings.warn(f"paddle.init: ignoring unknown options {sorted(unknown)}", stacklevel=2)
    backend = options.get("backend")
    if options.get("use_gpu"):
        if backend not in (None, "gpu"):
            raise ValueError(f"paddle.init: use_gpu=True contradicts backend={backend!r}")
        backend = "gpu"
    if backend is not None:
        set_backend(backend)
    if options.get("distributed") not in (None, "mpi", "none"):
        raise ValueError(f"paddle.init: distributed={options['distributed']!r} must be None, "
                         "'mpi' or 'none'")
    trainer_count = int(options.get("trainer_count", 1))
    if trainer_count > 1 and not _warned_trainer_count:
        warnings.warn(f"paddle.init(trainer_count={trainer_count}): minidl trains in one "
                      "process per MPI rank; the count is ignored (run the script with "
                      "mpiexec -n N to train on N processes)", stacklevel=2)
        _warned_trainer_count = True
    if "sparse" in options:
        options["sparse"] = sparse_mode(options["sparse"], "paddle.init: sparse")
    if options.get("seed") is not None:
        _random.seed(int(options["seed"]))
    settings.update(**{key: options[key] for key in settings.DEFAULTS if key in options})
    settings.update(backend=backend or settings.get("backend"))
    # under MPI: join the job now, so that only the main rank prints from here on
    get_comm()
