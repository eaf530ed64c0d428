"""Process-wide settings chosen by ``paddle.init``.

Every reader goes through :func:`get`, so a function's dependence on a setting is visible in
its body (``settings.get("sparse")``) rather than hidden in a module attribute; only
``paddle.init`` (:mod:`minidl.v2.init`) writes them, through :func:`update`.

============== ======== =====================================================================
name           default  meaning
============== ======== =====================================================================
use_gpu        False    the ``gpu`` backend was asked for
trainer_count  1        v2's thread count (one process trains; MPI ranks replace it)
gpu_id         0        accepted for v2 scripts
backend        None     ``numpy``, ``cpu`` or ``gpu`` once chosen
seed           None     the seed last given
sparse         'auto'   default of ``paddle.infer(sparse=...)``
distributed    None     ``None`` (MPI when launched by mpiexec), ``'mpi'`` or ``'none'``
mpi_timeout    None     seconds a rank waits for the others (None: the default)
print_all_ranks False   keep every rank's standard output
check_nan_inf  True     the trainer stops at a NaN/inf cost or gradient (before the update)
============== ======== =====================================================================
"""

DEFAULTS = {"use_gpu": False, "trainer_count": 1, "gpu_id": 0, "backend": None, "seed": None,
            "sparse": "auto", "distributed": None, "mpi_timeout": None, "print_all_ranks": False,
            "check_nan_inf": True}

_current = dict(DEFAULTS)


def get(name):
    """The current value of setting ``name`` (one of :data:`DEFAULTS`)."""
    if name not in _current:
        raise KeyError(f"unknown setting {name!r}; settings are {sorted(DEFAULTS)}")
    return _current[name]


def update(**values):
    """Set several settings at once (``paddle.init`` calls this after validating them)."""
    unknown = set(values) - set(DEFAULTS)
    if unknown:
        raise KeyError(f"unknown settings {sorted(unknown)}; settings are {sorted(DEFAULTS)}")
    _current.update(values)


def snapshot():
    """A copy of all settings (tests save and restore them with :func:`update`)."""
    return dict(_current)
