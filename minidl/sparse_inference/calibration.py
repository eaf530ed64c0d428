"""The cost model of this machine: calibrated once, kept in the user's cache directory.

:func:`cost_model` returns the model for the current backend and thread count: from
memory, else from ``<cache>/minidl/cost_model-<key>.json``, else by :func:`calibrate`
(a few seconds, once per machine, kind of layer -- fc, conv, recurrent -- and batch regime
-- one row or sequence, or more -- when a plan first has such a layer; a line on stderr
says so) and then saved there.
``<cache>`` is ``$XDG_CACHE_HOME`` or ``~/.cache``. The file holds the machine it was
measured on (CPU model, cores, threads, backend, NumPy/Numba/minidl versions, a digest
of the kernels' source); a file of another machine, or one that cannot be read, is
ignored and a new calibration replaces it. A directory that cannot be written only
means the model lives in memory for this process.

:func:`calibrate` times the dense and the sparse forward of real fc, conv and lstmemory
layers (:mod:`.calibration_layers`) at a few representative sizes, densities and batch
regimes (the sparse ones first, after a quiet pause, then the dense ones: see
:mod:`.timing`) and fits a :class:`CostModel` to them.
"""

import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import sys
import time
import warnings

import numpy as np

from ..backends import current_backend
from ..core.tensor import Tensor
from ..io.atomic import atomic_write
from ..layers.graph import RunContext
from . import calibration_layers as timed
from . import sparse_forward as forwards
from .column_width import narrow_columns_from
from .cost_model import KINDS, REGIMES, CostModel
from .timing import QUIET_S, fastest_time, note_dense_run, quiet

#: bump when the calibration or the model's form change (4: the column width probe):
#: older files are recalibrated (an edited kernel changes the key's digest)
FORMAT = 4
#: a progress line is printed once the calibration has run this long
PROGRESS_AFTER_S = 1.0

#: how the progress line names the batch regimes (each kind of layer in each regime is
#: calibrated on its own, when a plan first needs it)
_REGIME_WORDS = {"one": "batch 1", "many": "larger batches"}

_models = {}   # machine key (JSON text) -> CostModel of this process


def threads():
    """Numba's thread count (1 without Numba: the numpy backend has no threads of its own)."""
    try:
        import numba
        return numba.get_num_threads()
    except Exception:  # no Numba, or a broken one: no threads of our own
        return 1


def _minidl_version():
    try:
        return importlib.metadata.version("minidl")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        return None


@functools.lru_cache(maxsize=1)
def _kernels_digest():
    """A digest of the backends' source: a kernel edited within one minidl version (a
    development checkout) makes the saved model stale as surely as a new version does.
    (Read once per process: the kernels a process runs are those it imported.)"""
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "backends")
    digest = hashlib.sha256()
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as f:
                    digest.update(f.read())
    return digest.hexdigest()[:16]


def machine():
    """What a cost model depends on: {name: value} (also its cache file's key)."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        import numba
        numba_version = numba.__version__
    except Exception:  # no Numba
        numba_version = None
    return {"format": FORMAT, "cpu": model, "cores": os.cpu_count(), "threads": threads(),
            "backend": current_backend().name, "numpy": np.__version__,
            "numba": numba_version, "minidl": _minidl_version(), "kernels": _kernels_digest()}


def cache_dir():
    """``$XDG_CACHE_HOME/minidl``, else ``~/.cache/minidl``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "minidl")


def cache_path(key):
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return os.path.join(cache_dir(), f"cost_model-{digest}.json")


def load(path, key):
    """The model saved at ``path`` for machine ``key``, or None (absent, unreadable,
    corrupt, or another machine's)."""
    try:
        with open(path, encoding="utf-8") as f:
            model = CostModel.from_json(json.load(f))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return model if model.machine == key else None


def save(path, model):
    """Write ``model`` atomically; False (with a warning) when the directory is not
    writable."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with atomic_write(path) as f:
            f.write(json.dumps(model.to_json(), indent=1, sort_keys=True).encode())
        return True
    except OSError as error:
        warnings.warn(f"minidl: the sparse inference cost model stays in memory: {error}",
                      RuntimeWarning, stacklevel=3)
        return False


def cost_model(kinds=None, regimes=None):
    """This machine's :class:`CostModel` (memory, else the cache file, else calibrated).

    ``kinds``: the layer kinds the caller will ask about ('fc', 'conv', 'recurrent'), and
    ``regimes`` the batch regimes ('one', 'many'; None: both). A model that lacks one of
    them is calibrated for what it lacks only and keeps what it had: a convolutional
    network's first plan does not time, nor compile, the recurrent kernels, and a plan
    at batch 1 not the kernels of larger batches. None: any model there is, all kinds
    and regimes where there is none.
    """
    key = machine()
    text = json.dumps(key, sort_keys=True)
    model = _models.get(text)
    path = cache_path(key)
    if model is None:
        model = load(path, key)
    if model is None:
        missing = [(kind, regime) for kind in (kinds or KINDS) for regime in (regimes or REGIMES)]
    else:
        missing = [(kind, regime) for kind in (kinds or ()) for regime in (regimes or REGIMES)
                   if not model.knows(kind, regime)]
    if missing:
        added = calibrate(key, kinds=_unique(k for k, _ in missing),
                          regimes=_unique(r for _, r in missing))
        model = added if model is None else model.merged(added)
        save(path, model)
    _models[text] = model
    return model


def _unique(items):
    return tuple(dict.fromkeys(items))


def forget():
    """Drop the models held in memory (the next :func:`cost_model` reads the file)."""
    _models.clear()


# --- the calibration ------------------------------------------------------------------

def calibrate(key=None, rng=None, kinds=KINDS, regimes=REGIMES):
    """Time the calibration layers of ``kinds`` in batch ``regimes`` and fit this
    machine's :class:`CostModel` of them."""
    rng = np.random.default_rng(0) if rng is None else rng
    began, shown = time.perf_counter(), False
    timings, dense_steps = {}, []
    first_calls = 0.0    # a kernel's first call loads it from Numba's cache or compiles it

    def first_call(step):
        nonlocal first_calls
        started = time.perf_counter()
        step()
        first_calls += time.perf_counter() - started

    def progress():
        nonlocal shown
        if not shown and time.perf_counter() - began > PROGRESS_AFTER_S:
            print(f"minidl: calibrating the sparse inference cost model of this machine for "
                  f"{', '.join(kinds)} layers, {' and '.join(_REGIME_WORDS[r] for r in regimes)}"
                  f" (once; saved in {cache_dir()})...", file=sys.stderr, flush=True)
            shown = True

    quiet()
    for kind, regime, layer, xs, values in timed.cases(rng, tuple(kinds), tuple(regimes)):
        ctx = RunContext(values, is_train=False)
        weight_spec = forwards.weight_specs(layer, kind)[0]
        dense_weight = values[weight_spec.name].data
        total = dense_weight.size
        dense_steps.append((kind, regime, timed.work(kind, layer, xs, total, total),
                            lambda layer=layer, ctx=ctx, xs=xs:
                            forwards.dense_forward(layer, ctx, xs)))
        for density in timed.DENSITIES:
            pruned = dense_weight * (rng.random(dense_weight.shape) < density)
            pruned_values = dict(values, **{weight_spec.name: Tensor(pruned)})
            csr = forwards.csr_layouts(layer, kind, pruned_values, None)
            step = timed.sparse_step(layer, kind, RunContext(pruned_values, is_train=False),
                                     xs, csr)
            first_call(step)
            seconds, _ = fastest_time(step)
            work = timed.work(kind, layer, xs, total, int(np.count_nonzero(pruned)), csr)
            timings.setdefault((kind, "sparse", regime), []).append((work, seconds))
            progress()
    narrow_from = None
    if "fc" in kinds and "one" in regimes and current_backend().name == "cpu":
        narrow_from = narrow_columns_from(rng)
    # after every sparse block, and after a pause: Numba's threads may still be awake, and
    # a BLAS call sharing the cores with them runs many times slower (see .timing)
    time.sleep(QUIET_S)
    for kind, regime, work, step in dense_steps:
        first_call(step)
        seconds, _ = fastest_time(step)
        note_dense_run(seconds)
        timings.setdefault((kind, "dense", regime), []).append((work, seconds))
        progress()
    model = CostModel.fit(timings, key if key is not None else machine(), narrow_from)
    if shown:
        # compiling happens once per installation, and the network's own forward then runs
        # the kernels compiled here: a user sees what the timing itself costs
        print(f"minidl: calibrated in {time.perf_counter() - began:.1f} s, "
              f"{first_calls:.1f} s of it loading or compiling the kernels",
              file=sys.stderr, flush=True)
    return model
