"""What the sparse benchmarks share: timing, pruning, the peers, one minidl layer run alone.

Not a benchmark itself; ``sparse_fc.py``, ``sparse_conv.py`` and ``pruned_vgg.py`` import it.
"""

import os
import platform
import subprocess
import sys

import numpy as np

import minidl as paddle
from minidl.core import Tensor, no_grad
from minidl.layers.graph import RunContext
from minidl.sparse_inference import SparsePlan
from timing import median_ms, rounds_ms  # noqa: F401  (re-exported)


def optional(name):
    """The module, or None when it is not installed (its columns are left out)."""
    try:
        return __import__(name)
    except Exception:  # missing, or broken: no comparison
        return None


def magnitude_pruned(weight, sparsity):
    """``weight`` with its ``sparsity`` fraction of smallest magnitudes set to zero."""
    keep = int(weight.size * (1 - sparsity))
    pruned = np.zeros_like(weight)
    if keep:
        flat = np.abs(weight).ravel()
        order = np.argpartition(-flat, keep - 1)[:keep]
        pruned.ravel()[order] = weight.ravel()[order]
    return pruned


def machine():
    """One line saying what ran the benchmark."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                      "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS") if k in os.environ}
    torch = optional("torch")
    scipy = optional("scipy")
    import numba
    torch_threads = f" ({torch.get_num_threads()} threads)" if torch is not None else ""
    return (f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"numpy {np.__version__}, numba {numba.__version__} ({numba.get_num_threads()} "
            f"threads), scipy {getattr(scipy, '__version__', 'absent')}, torch "
            f"{getattr(torch, '__version__', 'absent')}{torch_threads}; load average "
            f"{load:.2f} at start; environment: {env or 'none'}")


class LayerRun:
    """Run one minidl layer alone on a fixed input, dense or through a sparse plan.

    ``values``: {parameter name: array} in Paddle dims. The layer's inputs must be data
    layers (fed with ``inputs``).
    """

    def __init__(self, layer, values, inputs):
        self.layer = layer
        self.parameters = paddle.parameters.create(layer)
        for name, value in values.items():
            self.parameters.set(name, value)
        specs = {spec.name: spec for spec in layer.params}
        self.tensors = {name: Tensor(self.parameters.value(name, write=False)
                                     .reshape(spec.compute_shape)) for name, spec in specs.items()}
        self.xs = [Tensor(x) for x in inputs]
        self.plans = {}

    def step(self, sparse):
        """A callable running the layer once with ``sparse`` = False, True or 'auto'."""
        ctx = RunContext(self.tensors, is_train=False)
        if sparse is not False:
            ctx.sparse_plan = self.plans.setdefault(sparse, SparsePlan(sparse, self.parameters))

        def run():
            with no_grad():
                return self.layer.compute(ctx, self.xs).data
        return run

    def decision(self, sparse="auto"):
        plan = self.plans.get(sparse)
        rows = plan.rows() if plan else []
        return rows[-1] if rows else None


def compile_report(script):
    """Seconds to compile the Numba kernels with a cold cache, and to load them warm.

    Runs ``script`` (a few lines using the kernels) twice in fresh processes sharing a new
    NUMBA_CACHE_DIR: the first compiles and writes the cache, the second must only load
    it. The script prints ``<seconds> <number of compilations>``.
    """
    import tempfile
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        runs = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", script], env=env, check=True,
                                 capture_output=True, text=True).stdout.split()
            runs.append((float(out[0]), int(out[1])))
    return runs
