"""Op name -> kernel, per backend.

A kernel is a pure function of arrays: no autograd, no layers. The ``numpy`` backend
holds the reference kernel of every op -- it is the definition of what the op computes.
Other backends register faster kernels under the same name and signature::

    @register("conv2d_forward", backend="cpu")
    def conv2d_forward(x, w, stride, padding, dilation, groups): ...

and ``tests/test_kernel_registry.py`` checks every such registration against the
reference automatically. Where a backend has no kernel for an op the reference runs
(through that backend's ``xp``); :func:`kernel_table` shows which kernel serves each op,
so a fallback is always visible.
"""

import importlib
import logging
import os

import numpy as np

log = logging.getLogger("minidl.backends")

REFERENCE = "numpy"

#: backend name -> {op name -> kernel}
_KERNELS = {"numpy": {}, "cpu": {}, "gpu": {}}


class BackendUnavailable(RuntimeError):
    """The requested backend cannot load on this machine; the message says what is missing."""


def register(op, backend=REFERENCE):
    """Decorator: make ``fn`` the kernel of ``op`` on ``backend``."""
    if backend not in _KERNELS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {sorted(_KERNELS)}")

    def decorate(fn):
        _KERNELS[backend][op] = fn
        return fn
    return decorate


class Backend:
    """A named backend: its array module and a loader that imports its kernels."""

    def __init__(self, name, description):
        self.name = name
        self.description = description
        self.xp = None
        self.loaded = False

    def load(self):
        if not self.loaded:
            self.xp = _LOADERS[self.name]()
            self.loaded = True
        return self

    def __repr__(self):
        return f"<backend {self.name}: {self.description}>"


def _load_numpy():
    importlib.import_module("minidl.backends.numpy_ref")
    return np


def _load_cpu():
    try:
        import numba  # noqa: F401
    except Exception as exc:
        raise BackendUnavailable(
            f"backend 'cpu' needs Numba, which failed to import ({exc}); "
            "install it with 'pip install numba' or use backend='numpy'") from exc
    _load_numpy()
    importlib.import_module("minidl.backends.numba_cpu")
    return np


def _load_gpu():
    try:
        import cupy
    except Exception as exc:
        raise BackendUnavailable(
            f"backend 'gpu' needs CuPy, which failed to import ({exc}); install the GPU "
            "extra ('pip install minidl[gpu]', i.e. cupy-cuda12x) on a machine with CUDA") from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        raise BackendUnavailable(f"backend 'gpu': CuPy is installed but CUDA reports no "
                                 f"usable device ({exc})") from exc
    if count < 1:
        raise BackendUnavailable("backend 'gpu': CuPy is installed but no CUDA device is present")
    _load_numpy()
    importlib.import_module("minidl.backends.cupy_gpu")
    return cupy


_LOADERS = {"numpy": _load_numpy, "cpu": _load_cpu, "gpu": _load_gpu}
BACKENDS = {
    "numpy": Backend("numpy", "NumPy reference kernels (the definition of every op)"),
    "cpu": Backend("cpu", "Numba kernels where registered, the NumPy reference elsewhere"),
    "gpu": Backend("gpu", "CuPy: reference kernels through cupy plus CUDA RawKernels"),
}

_current = None


def set_backend(name):
    """Select and load a backend by name; raises :class:`BackendUnavailable` if it cannot."""
    global _current
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}; expected one of {sorted(BACKENDS)}")
    _current = BACKENDS[name].load()
    log.debug("backend %s selected", name)
    return _current


def default_backend_name():
    """``$MINIDL_BACKEND`` if set, else ``cpu`` when Numba imports, else ``numpy``."""
    requested = os.environ.get("MINIDL_BACKEND")
    if requested:
        return requested
    try:
        BACKENDS["cpu"].load()
        return "cpu"
    except BackendUnavailable:
        return "numpy"


def current_backend():
    """The selected backend, choosing the default on first use."""
    if _current is None:
        set_backend(default_backend_name())
    return _current


def available_backends():
    """Names of the backends that load on this machine."""
    names = []
    for name, backend in BACKENDS.items():
        try:
            backend.load()
            names.append(name)
        except BackendUnavailable:
            pass
    return names


def get_kernel(op, backend=None):
    """The kernel serving ``op`` on ``backend`` (default: current), else the reference."""
    backend = current_backend() if backend is None else BACKENDS[backend].load()
    table = _KERNELS[backend.name]
    if op in table:
        return table[op]
    if op in _KERNELS[REFERENCE]:
        return _KERNELS[REFERENCE][op]
    raise KeyError(f"no kernel registered for op {op!r} (not even a reference kernel)")


def accelerated_kernel(op):
    """The current backend's own kernel for ``op``, or None where the NumPy reference
    would serve it (on the ``numpy`` backend, always): for ops that only pay off fast."""
    backend = current_backend()
    if backend.name == REFERENCE:
        return None
    return _KERNELS[backend.name].get(op)


def own_kernels(backend):
    """{op: kernel} registered on ``backend`` itself (no fallbacks)."""
    BACKENDS[backend].load()
    return dict(_KERNELS[backend])


def kernel_table(backend=None):
    """{op: description} of which kernel serves each op on ``backend``.

    >>> kernel_table("cpu")["max_id"]
    'numpy reference (fallback): minidl.backends.numpy_ref.misc.max_id'
    """
    name = current_backend().name if backend is None else BACKENDS[backend].load().name
    rows = {}
    for op, fn in sorted(_KERNELS[REFERENCE].items()):
        own = _KERNELS[name].get(op)
        if name == REFERENCE:
            rows[op] = f"numpy reference: {fn.__module__}.{fn.__name__}"
        elif own is not None:
            rows[op] = f"{name}: {own.__module__}.{own.__name__}"
        else:
            rows[op] = f"numpy reference (fallback): {fn.__module__}.{fn.__name__}"
    return rows


def format_kernel_table(backend=None):
    """:func:`kernel_table` as aligned text, for printing."""
    rows = kernel_table(backend)
    width = max((len(op) for op in rows), default=0)
    return "\n".join(f"{op:<{width}}  {where}" for op, where in rows.items())
