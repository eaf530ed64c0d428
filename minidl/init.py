"""``paddle.init(**kw)``: choose the backend, seed the random state, accept v2 flags."""

import os
import warnings

from . import random as _random
from .backends import set_backend

#: what ``init`` last set; read by the trainer and ``infer``
settings = {"use_gpu": False, "trainer_count": 1, "gpu_id": 0, "backend": None, "seed": None}

_warned_trainer_count = False
_KNOWN = set(settings) | {"sparse", "log_period", "dot_period", "show_parameter_stats_period",
                          "save_dir", "log_error_clipping", "parallel_nn", "use_mkldnn",
                          "use_mkl_packed"}


def _from_environment():
    """Paddle read ``PADDLE_INIT_<KEY>`` environment variables as defaults."""
    found = {}
    for key, value in os.environ.items():
        if key.startswith("PADDLE_INIT_"):
            name = key[len("PADDLE_INIT_"):].lower()
            if name in ("use_gpu",):
                found[name] = value.lower() in ("1", "true", "yes")
            elif name in ("trainer_count", "gpu_id", "seed"):
                found[name] = int(value)
            else:
                found[name] = value
    return found


def init(**kwargs):
    """Initialise minidl as ``paddle.init`` did.

    ``use_gpu=True`` selects the ``gpu`` backend (or raises, saying what is missing);
    ``backend=`` names one of ``numpy``, ``cpu``, ``gpu``; ``seed=`` makes runs
    reproducible; ``trainer_count > 1`` is accepted with a warning (one process trains).
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
    trainer_count = int(options.get("trainer_count", 1))
    if trainer_count > 1 and not _warned_trainer_count:
        warnings.warn(f"paddle.init(trainer_count={trainer_count}): minidl trains in one "
                      "process; the count is ignored", stacklevel=2)
        _warned_trainer_count = True
    if options.get("seed") is not None:
        _random.seed(int(options["seed"]))
    for key in ("use_gpu", "trainer_count", "gpu_id", "backend", "seed", "sparse"):
        if key in options:
            settings[key] = options[key]
    settings["backend"] = backend or settings.get("backend")
