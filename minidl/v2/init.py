"""``paddle.init(**kw)``: choose the backend, seed the random state, accept v2 flags.

The choices are stored in :mod:`minidl.core.settings`, where the engine reads them.
"""

import math
import numbers
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


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def _flag(where, value):
    """A yes/no option: a bool, or one of the usual spellings in an environment variable."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError(f"paddle.init: {where}={value!r} must be True or False "
                     f"(in an environment variable: one of {', '.join(_TRUE + _FALSE[:-1])})")


def _read(value, parse):
    """``value``; a string (from an environment variable) read with ``parse`` where it
    parses, else left as it is for the caller's check to refuse."""
    if isinstance(value, str):
        try:
            return parse(value.strip())
        except ValueError:
            pass
    return value


def _integer(where, value, minimum, meaning):
    """An integer option (an int, or its decimal spelling in an environment variable)."""
    number = _read(value, int)
    if isinstance(number, bool) or not isinstance(number, numbers.Integral) or number < minimum:
        raise ValueError(f"paddle.init: {where}={value!r} is not allowed; {meaning} is an "
                         f"integer >= {minimum}")
    return int(number)


def _seconds(where, value):
    number = _read(value, float)
    if isinstance(number, bool) or not isinstance(number, numbers.Real) \
            or not math.isfinite(number) or number <= 0:
        raise ValueError(f"paddle.init: {where}={value!r} is not allowed; mpi_timeout is a "
                         "number of seconds > 0")
    return float(number)


def _check(name, value, where):
    """The value of option ``name`` checked (``where``: how the error message names it)."""
    if name in ("use_gpu", "print_all_ranks", "check_nan_inf"):
        return _flag(where, value)
    if name == "trainer_count":
        return _integer(where, value, 1, "trainer_count, the number of trainer threads,")
    if name == "gpu_id":
        return _integer(where, value, 0, "gpu_id, a GPU's number,")
    if name == "seed":
        return None if value is None else _integer(where, value, 0, "seed")
    if name == "mpi_timeout":
        return None if value is None else _seconds(where, value)
    return value


def _from_environment():
    """Paddle read ``PADDLE_INIT_<KEY>`` environment variables as defaults (checked here, so
    an error names the variable)."""
    found = {}
    for key, value in os.environ.items():
        if key.startswith("PADDLE_INIT_"):
            name = key[len("PADDLE_INIT_"):].lower()
            found[name] = _check(name, value, f"environment variable {key}")
    return found


def init(**kwargs):
    """Initialise minidl as ``paddle.init`` did.

    ``use_gpu=True`` selects the ``gpu`` backend (or raises, saying what is missing);
    ``backend=`` names one of ``numpy``, ``cpu``, ``gpu``; ``seed=`` seeds the random state
    (initial weights, dropout, shuffling): 1 by default, as Paddle's, so a script starts
    the same way every run; ``seed=0`` seeds from the clock (a different run each time);
    ``trainer_count > 1`` is accepted with a warning (one process trains).
    ``sparse=`` (``'auto'`` by default, ``True`` or ``False``) is the default of
    ``paddle.infer(..., sparse=...)``: whether pruned fc/conv layers run sparse kernels
    (``'auto'``: per layer, where measured faster on this machine; see ``minidl.sparse``).

    Several processes train together under MPI (``mpiexec -n N``, :mod:`minidl.distributed`):
    ``distributed=None`` (default) uses MPI when an MPI launcher started more than one rank,
    ``'mpi'`` always, ``'none'`` never (each process trains alone); ``mpi_timeout=`` is how
    long (seconds, default 600) a rank waits for the others before aborting the job;
    ``print_all_ranks=True`` keeps the standard output of every rank, not only rank 0's.
    The MPI world size takes the place of ``trainer_count``.

    ``check_nan_inf=True`` (default) makes the trainer check every batch's cost and gradients
    and stop with :class:`~minidl.training.trainer.NonFiniteError` at the first NaN or inf,
    before that batch's update; ``False`` skips the check (see ``benchmarks/nan_check.py``
    for what it costs).

    Values are checked here: ``trainer_count`` an integer >= 1, ``gpu_id`` and ``seed``
    integers >= 0, ``mpi_timeout`` seconds > 0, flags True/False; a bad one raises a
    ValueError naming the option (or the ``PADDLE_INIT_*`` variable it came from), its value
    and what is allowed.
    """
    global _warned_trainer_count
    checked = {name: _check(name, value, name) for name, value in kwargs.items()}
    options = {**_from_environment(), **checked}
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
    trainer_count = options.get("trainer_count", 1)
    if trainer_count > 1 and not _warned_trainer_count:
        warnings.warn(f"paddle.init(trainer_count={trainer_count}): minidl trains in one "
                      "process per MPI rank; the count is ignored (run the script with "
                      "mpiexec -n N to train on N processes)", stacklevel=2)
        _warned_trainer_count = True
    if "sparse" in options:
        options["sparse"] = sparse_mode(options["sparse"], "paddle.init: sparse")
    seed = options.get("seed")
    _random.seed(_random.DEFAULT_SEED if seed is None else (None if seed == 0 else seed))
    settings.update(**{key: options[key] for key in settings.DEFAULTS if key in options})
    settings.update(backend=backend or settings.get("backend"))
    # under MPI: join the job now, so that only the main rank prints from here on
    get_comm()
