"""Inference with pruned weights: per layer, the dense or the sparse forward, and why.

``paddle.infer(..., sparse=...)`` (default: ``paddle.init(sparse=...)``, itself ``'auto'``)
takes one of:

* ``False`` -- every layer runs dense (the training code path);
* ``True``  -- every fc, conv and recurrent layer that the sparse kernels cover runs
  sparse, whatever its density (for tests and benchmarks: a forced choice);
* ``'auto'`` -- per layer, the faster of the two *measured on this machine*: the first
  time a layer shape, density and batch size is seen, both forwards run a few times on the
  real input and the sparse one is kept only if it is at least ``1 - MARGIN`` faster; the
  verdict is cached for the process. Layers denser than ``AUTO_MAX_DENSITY`` stay dense
  without a measurement (nothing to gain: a CSR nonzero costs more bytes and work than a
  dense weight), and so does every layer on a backend without its own sparse kernels.
  Then, once per network and batch size, a *network check*: the whole forward is timed
  with the per-layer choices, with every measured layer sparse and with every one dense,
  and the fastest is kept (the per-layer choices unless another is ``1 - MARGIN`` faster;
  skipped when its forwards would take over ``NETWORK_BUDGET_S``, as for a huge batch).
  Layers timed alone do not see their neighbours: in a network that alternates OpenBLAS
  layers with Numba ones, the Numba layers run 15-40 % slower than alone (BLAS threads
  still spinning on the core the next kernel needs), so a network can run faster all
  sparse than with the per-layer choices.

What 'auto' costs: its first run of a network at a batch size times every measured layer
(a 0.15 s pause, ``QUIET_S``, and a few dense and sparse runs each) and then the network
check (about 18 forwards and 6 pauses): several seconds for pruned VGG-16 on two cores.
Later runs reuse the plan.

Recurrent layers (``lstmemory``, ``grumemory``) are planned like fc layers: their weight's
density, both forwards measured on the real batch. Their sparse forward is the layer's own
loop over time with each step's product ``h[t-1] @ W`` taken with the CSR rows of ``W.T``
(``csr_matmul``'s convention, ``layout.recurrent_layout``); the input projection before
them is a layer of its own (fc, or the mixed layer ``networks.simple_lstm`` builds),
planned as such. Their batch size is the number of sequences (the width of each step's
product), not the number of rows: a decision holds for every length of the sequences, and
'auto' measures a layer once per sequence count.

A ``mixed`` layer whose every term is a ``full_matrix_projection`` of dense rows computes
what an fc layer of the same inputs computes (the sum of ``x_i @ W_i``, ``W_i: (in_i,
size)``, then its bias and activation) and is planned as one: kind 'fc'. A mixed layer
with any other term runs dense, and so does every layer inside a ``recurrent_group``'s
steps (the plan decides whole layers, not steps).

The sparse forward fuses the bias and a ReLU (or identity) activation into the kernel, so
:meth:`SparsePlan.forward` returns the *activated* output; ``Layer.compute`` then skips its
own activation. Other activations are applied after the kernel. Results equal the dense
ones within float32 rounding (the sums run in another order).

``str(plan)`` / :meth:`SparsePlan.rows` show each layer's choice with its reason and the
measured times; :func:`minidl.sparse.explain` runs one batch and returns the plan.
"""

import glob
import time
from dataclasses import dataclass, replace

import numpy as np

from ..backends import REFERENCE, current_backend, kernel, own_kernels
from ..core.tensor import Tensor
from ..core.xp import get_array_module
from . import layout as layouts

#: 'auto' measures only layers at most this dense
AUTO_MAX_DENSITY = 0.5
#: 'auto' keeps the sparse forward only when it takes at most this fraction of the dense time
MARGIN = 0.95
#: seconds of timing per forward and round during a measurement (at least 3 runs each)
MEASURE_BUDGET_S = 0.03
#: used when the last-level cache size cannot be read from /sys
DEFAULT_CACHE_BYTES = 32 << 20

_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def sparse_mode(value, what="sparse"):
    """``True``, ``False`` or ``'auto'`` (strings from ``PADDLE_INIT_SPARSE`` are accepted)."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered == "auto":
            return "auto"
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
    elif isinstance(value, bool):
        return value
    raise ValueError(f"{what}={value!r}: expected True, False or 'auto'")


@dataclass
class Decision:
    """How one layer ran at one batch size."""

    layer: str
    kind: str
    weight_shape: tuple
    density: float
    batch: int
    choice: str            # 'sparse' or 'dense'
    reason: str
    dense_ms: float = None
    sparse_ms: float = None


#: (kind, weight shape, geometry, density %, batch, backend, threads) -> measured Decision
_MEASURED = {}


#: (batch, the measured layers' keys) -> (verdict, {setting: seconds}, skipped?) of a check
_NETWORK = {}
#: rounds of a network check; each runs every setting once untimed, then NETWORK_RUNS timed
NETWORK_ROUNDS = 2
NETWORK_RUNS = 2
#: seconds of quiet before a block of sparse (or whole-network) runs is timed: longer than
#: OpenBLAS's threads spin after a call (2**28 cycles by default, ~0.1 s), so that Numba
#: kernels are not timed against the previous dense runs' spinning threads
QUIET_S = 0.15
#: a network check is skipped (the per-layer choices stay) when its forwards would take
#: longer than this: for a large batch run once, the check would cost more than it saves
NETWORK_BUDGET_S = 5.0


def clear_measurements():
    """Forget every measured break-even (the next 'auto' run measures again)."""
    _MEASURED.clear()
    _NETWORK.clear()


def _threads():
    try:
        import numba
        return numba.get_num_threads()
    except Exception:  # no Numba: the numpy backend has no threads of its own
        return 1


def last_level_cache_bytes():
    """The size of the CPU's last-level cache (Linux sysfs), else ``DEFAULT_CACHE_BYTES``."""
    sizes = []
    for index in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*/size"):
        try:
            with open(index) as f:
                text = f.read().strip().upper()
            scale = {"K": 1 << 10, "M": 1 << 20}.get(text[-1:], 1)
            sizes.append(int(text.rstrip("KM")) * scale)
        except (OSError, ValueError):
            continue
    return max(sizes, default=DEFAULT_CACHE_BYTES)


class CacheFlusher:
    """Callable evicting the caches (by reading a buffer twice the last-level cache)."""

    def __init__(self):
        self.buffer = np.ones(2 * last_level_cache_bytes() // 4, dtype=np.float32)

    def __call__(self):
        self.buffer.sum()


def _fastest_time(step, before=None):
    """(fastest seconds, last result) of ``step`` over at least 3 runs within the budget.

    The fastest, not the median: on a shared machine other work only ever adds time, and
    a run that was not interrupted is the one that says what the forward costs.
    ``before`` (e.g. a :class:`CacheFlusher`) runs untimed before each run.
    """
    times, result = [], None
    began = time.perf_counter()
    while len(times) < 3 or (len(times) < 25 and time.perf_counter() - began < MEASURE_BUDGET_S):
        if before is not None:
            before()
        start = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - start)
    return min(times), result


def measure(dense, sparse, before=None):
    """(dense seconds, sparse seconds, dense result, sparse result) of two forwards.

    One untimed sparse run first (it may compile or load the Numba kernels), then two
    rounds of a block of sparse runs and a block of dense runs. Blocks, not alternating
    calls, and ``QUIET_S`` of quiet before the first sparse block: OpenBLAS's threads spin
    for ~0.1 s after a call, and a sparse block timed inside that spin (after the dense
    block, or the previous layer's) runs up to ~1.6x slower -- 'auto' would then keep
    layers dense that run faster sparse in the network. The second round's sparse block
    follows a dense one; the fastest run counts, so it only matters if it was faster.
    ``before`` runs untimed before every timed run.
    """
    sparse_out = sparse()
    time.sleep(QUIET_S)
    dense_s = sparse_s = float("inf")
    for _ in range(2):
        t, sparse_out = _fastest_time(sparse, before)
        sparse_s = min(sparse_s, t)
        t, dense_out = _fastest_time(dense, before)
        dense_s = min(dense_s, t)
    return dense_s, sparse_s, dense_out, sparse_out


def measure_network(forwards):
    """{setting: fastest seconds} of whole forwards, ``forwards``: {setting: callable}.

    ``NETWORK_ROUNDS`` rounds; in each, every setting runs as a block after
    ``QUIET_S`` of quiet: once untimed (it compiles what is new), then
    ``NETWORK_RUNS`` timed runs. A block is what the setting costs in steady state: a
    forward that follows one with BLAS calls finds OpenBLAS's threads still spinning for
    ~0.1 s, and its Numba kernels then run up to 2x slower, so alternating single runs
    would misjudge the settings (with Numba's workers spinning too, ``GOMP_SPINCOUNT``, a
    one-run warm-up is not enough either).
    """
    best = {setting: float("inf") for setting in forwards}
    for _ in range(NETWORK_ROUNDS):
        for setting, forward in forwards.items():
            time.sleep(QUIET_S)
            forward()
            for _ in range(NETWORK_RUNS):
                start = time.perf_counter()
                forward()
                best[setting] = min(best[setting], time.perf_counter() - start)
    return best


# --- the layers the sparse kernels cover ------------------------------------------------

def _kind(layer):
    """'fc', 'conv' or 'recurrent' for layers with a sparse forward, else None; plus why
    not."""
    from ..layers.conv import ConvLayer
    from ..layers.fc import FcLayer
    from ..layers.mixed import MixedLayer
    from ..layers.recurrent import GrumemoryLayer, LstmemoryLayer
    if type(layer) is FcLayer:  # subclasses may compute something else: exact types only
        return "fc", None
    if type(layer) is MixedLayer:
        return ("fc" if _is_fc(layer) else None), None
    if type(layer) in (LstmemoryLayer, GrumemoryLayer):
        return "recurrent", None
    if type(layer) is ConvLayer:
        if layer.bias is not None and tuple(layer.bias.compute_shape[2:]) != (1, 1):
            return None, "unshared biases (one per output value)"
        return "conv", None
    return None, None


def _is_fc(mixed):
    """True when the mixed layer computes what an fc layer of its inputs computes: every
    term a ``full_matrix_projection`` (exact type) of dense rows. Its inputs are then its
    terms' inputs in term order, its parameters their ``(in, size)`` weights in that order
    and then its bias (as fc's), and it adds the bias and applies its activation as fc
    does, so it runs as kind 'fc'. (Sparse input rows: the CSR kernels multiply dense
    inputs, and so the layer runs its own forward, as fc does.)"""
    from ..layers.projections import FullMatrixProjection
    return all(type(term) is FullMatrixProjection and not term.origin.sparse_output
               for term in mixed.terms)


def _batch(layer, xs):
    """The batch size a layer's decision is kept for: its input's rows, except for a
    recurrent layer, whose steps multiply the outputs of the sequences still running: the
    number of sequences (one per sample), whatever their lengths."""
    from ..layers.recurrent import GrumemoryLayer, LstmemoryLayer
    seq = getattr(xs[0], "seq", None)
    if type(layer) in (LstmemoryLayer, GrumemoryLayer) and seq is not None:
        return len(seq.starts) - 1
    return xs[0].shape[0]


def _fused_relu(layer):
    """True for ReLU (fused into the kernel), False for identity; None: applied afterwards."""
    name = getattr(layer.act, "kernel_name", "linear") if layer.act is not None else "linear"
    return {"relu": True, "linear": False}.get(name)


class SparsePlan:
    """Chooses and runs the sparse forward of fc/conv/recurrent layers for one
    ``Inference``."""

    def __init__(self, mode, parameters=None):
        self.mode = sparse_mode(mode)
        self.parameters = parameters
        self.decisions = {}        # (layer name, batch) -> Decision, latest run
        self._averaged = frozenset()
        # (layer name, batch) -> (stamp, kind, CSR layouts or None): the decision to reuse
        # while the stamp (weight versions, backend, dtype) is unchanged
        self._resolved = {}
        self._flusher = None
        self._measured = {}        # batch -> {layer name: _MEASURED key} ('auto' measured)
        self._network = {}         # batch -> network check verdict: 'sparse', 'dense', None
        self._trial = None         # the setting a network check is running, if any
        self.network_checks = {}   # batch -> (verdict, {setting: ms}, skipped?) for the table

    def bind(self, averaged_names=()):
        """Start a run; ``averaged_names``: parameters whose values are ModelAverage's."""
        averaged = frozenset(averaged_names)
        if averaged != self._averaged:
            self._averaged, self._resolved, self._network = averaged, {}, {}
        return self

    # -- what the layer's weights look like -------------------------------------------
    def _weights(self, layer, kind):
        return layer.params[:len(layer.inputs)] if kind == "fc" else [layer.weight]

    def _cached(self, spec, key, build):
        key = (key, spec.name in self._averaged)
        return layouts.cached(self.parameters, spec.name, key, build)

    def _density(self, layer, kind, ctx):
        nonzero = total = 0
        for spec in self._weights(layer, kind):
            weight = ctx.param(spec).data
            xp = get_array_module(weight)
            nonzero += self._cached(spec, "nonzeros",
                                    lambda w=weight, xp=xp: int(xp.count_nonzero(w)))
            total += weight.size
        return nonzero / total

    def _layouts(self, layer, kind, ctx, xp):
        """The CSR layout of each weight of ``layer``, on ``xp``'s device."""
        if kind == "recurrent":  # one weight, a layout per product of a step (GRU: two)
            weight = ctx.param(layer.weight).data
            built = self._cached(layer.weight, "recurrent",
                                 lambda: layouts.recurrent_layout(weight, layer.gates))
            return [csr.to(xp) for csr in built]
        if kind == "fc":
            key = "fc"
        else:
            geometry = (layer.input_shape, layer.stride, layer.padding, layer.dilation,
                        layer.groups)
            key = ("conv",) + geometry

        def builder(spec):
            weight = ctx.param(spec).data
            if kind == "fc":
                return lambda: layouts.fc_layout(weight)
            return lambda: layouts.conv_layout(weight, *geometry)

        return [self._cached(spec, key, builder(spec)).to(xp)
                for spec in self._weights(layer, kind)]

    # -- the sparse forward -------------------------------------------------------------
    def _sparse_forward(self, layer, kind, ctx, xs, csr):
        if kind == "recurrent":  # the layer's own steps, with the CSR product (no act)
            return layer.forward(ctx, xs, csr=csr)
        relu = _fused_relu(layer)
        bias = ctx.param(layer.bias).data.reshape(-1) if layer.bias is not None else None
        if kind == "fc":
            matmul = kernel("csr_matmul")
            fused = len(xs) == 1  # several inputs: sum the products, then bias and act
            y = None
            for x, weight in zip(xs, csr):
                part = matmul(weight.indptr, weight.indices, weight.values,
                              x.data.reshape(x.shape[0], -1), bias if fused else None,
                              bool(relu) and fused)
                y = part if y is None else y + part
            if not fused:
                y = y + bias.reshape(1, -1) if bias is not None else y
                y = get_array_module(y).maximum(y, 0) if relu else y
        else:
            (x,) = xs
            (weight,) = csr
            fh, fw = layer.filter_size
            y = kernel("direct_sparse_conv2d")(
                x.data.reshape((x.shape[0],) + layer.input_shape), weight.indptr,
                weight.indices, weight.values, (fh, fw), layer.stride, layer.padding,
                layer.dilation, bias, bool(relu))
        y = Tensor(y, seq=xs[0].seq)   # fc/conv act per row: SequenceSoftmax reads the layout
        return layer.act(y) if relu is None and layer.act is not None else y

    def _dense_forward(self, layer, ctx, xs):
        y = layer.forward(ctx, xs)
        if y.seq is None:
            y.seq = xs[0].seq
        return layer.act(y) if layer.act is not None else y

    # -- the choice ---------------------------------------------------------------------
    def forward(self, layer, ctx, xs):
        """The activated output of ``layer`` computed sparse, or None to run it dense."""
        if self.mode is False:
            return None
        # fast path: this layer at this batch size was decided, and its weights are the same
        batch = _batch(layer, xs)
        stamp = self._stamp(layer, xs)
        known = self._resolved.get((layer.name, batch))
        if known is not None and known[0] == stamp:
            kind, csr = known[1], known[2]
            setting = self._trial or self._network.get(batch)
            if setting is not None and layer.name in self._measured.get(batch, ()):
                if setting == "dense":
                    return None
                csr = csr or self._layouts(layer, kind, ctx, xs[0].xp)
            return None if csr is None else self._sparse_forward(layer, kind, ctx, xs, csr)
        kind, csr, result = self._decide(layer, ctx, xs)
        if stamp[0] is not None:  # without versions a value change could not be seen
            self._resolved[(layer.name, batch)] = (stamp, kind, csr)
        return result

    def _stamp(self, layer, xs):
        """What a decision depends on besides the layer: weight versions, backend, dtype."""
        version = getattr(self.parameters, "version", None)
        versions = None if version is None else tuple(version(spec.name) for spec in layer.params)
        return versions, current_backend(), xs[0].data.dtype

    def _decide(self, layer, ctx, xs):
        """(kind, CSR layouts or None for dense, this batch's output or None)."""
        self._network.pop(_batch(layer, xs), None)  # a layer changed: check the network again
        kind, unsupported = _kind(layer)
        if kind is None:
            if unsupported:
                self._note(layer, "-", None, xs, "dense", f"not covered: {unsupported}")
            return kind, None, None
        batch = _batch(layer, xs)
        density = self._density(layer, kind, ctx)
        if any(x.data.dtype.name != "float32" for x in xs):
            self._note(layer, kind, density, xs, "dense", "input is not float32")
            return kind, None, None
        backend = current_backend().name
        if self.mode is True:
            self._note(layer, kind, density, xs, "sparse", "forced (sparse=True)")
            csr = self._layouts(layer, kind, ctx, xs[0].xp)
            return kind, csr, self._sparse_forward(layer, kind, ctx, xs, csr)
        if backend == REFERENCE or "csr_matmul" not in own_kernels(backend):
            self._note(layer, kind, density, xs, "dense",
                       f"backend {backend!r} has no sparse kernels of its own")
            return kind, None, None
        if density > AUTO_MAX_DENSITY:
            self._note(layer, kind, density, xs, "dense",
                       f"density {density:.3f} > {AUTO_MAX_DENSITY}")
            return kind, None, None
        key = (kind, tuple(ctx.param(self._weights(layer, kind)[0]).shape),
               getattr(layer, "input_shape", None), getattr(layer, "stride", None),
               getattr(layer, "padding", None), getattr(layer, "dilation", None),
               getattr(layer, "groups", None), round(density * 100), batch, backend,
               _threads(), _fused_relu(layer) is not None, self._cold_caches() is not None)
        self._measured.setdefault(batch, {})[layer.name] = key
        known = _MEASURED.get(key)
        if known is not None:
            self._note(layer, kind, density, xs, known.choice, known.reason + " (cached)",
                       known.dense_ms, known.sparse_ms)
            if known.choice == "dense":
                return kind, None, None
            csr = self._layouts(layer, kind, ctx, xs[0].xp)
            return kind, csr, self._sparse_forward(layer, kind, ctx, xs, csr)
        csr = self._layouts(layer, kind, ctx, xs[0].xp)
        dense_s, sparse_s, dense_out, sparse_out = measure(
            lambda: self._dense_forward(layer, ctx, xs),
            lambda: self._sparse_forward(layer, kind, ctx, xs, csr), self._cold_caches())
        choice = "sparse" if sparse_s <= MARGIN * dense_s else "dense"
        reason = f"measured: sparse {sparse_s / dense_s:.2f}x the dense time"
        _MEASURED[key] = self._note(layer, kind, density, xs, choice, reason, dense_s * 1e3,
                                    sparse_s * 1e3)
        if choice == "dense":
            return kind, None, dense_out
        return kind, csr, sparse_out

    def settle(self, batch, forward):
        """Run the network check of ``batch`` once (``forward()`` runs the whole network).

        Called by ``Inference`` after a forward. Nothing to do unless 'auto' measured some
        layer at this batch size and the check has not run since. The verdict is kept for
        the process, keyed by the measured layers' shapes and densities and the batch
        size: another ``Inference`` of the same network reuses it.
        """
        if self.mode != "auto" or batch in self._network or not self._measured.get(batch):
            return
        measured = self._measured[batch]
        chosen = {self.decisions[(name, batch)].choice for name in measured}
        network_key = (batch, tuple(measured.values()))
        if network_key not in _NETWORK:
            _NETWORK[network_key] = self._check_network(chosen, forward)
        verdict, seconds, skipped = _NETWORK[network_key]
        self._network[batch] = None if verdict == "plan" else verdict
        self.network_checks[batch] = (verdict, {s: t * 1e3 for s, t in seconds.items()},
                                      skipped)
        if verdict != "plan":
            for name in measured:  # (copies: _MEASURED keeps the per-layer verdicts)
                decision = self.decisions[(name, batch)]
                if decision.choice != verdict:
                    self.decisions[(name, batch)] = replace(
                        decision, choice=verdict,
                        reason=decision.reason + f"; network check: all {verdict}")

    def _check_network(self, chosen, forward):
        """(verdict, {setting: seconds}, why it was skipped or None) of a network check."""
        settings = ["plan"] + [s for s in ("sparse", "dense") if chosen != {s}]
        start = time.perf_counter()
        self._run_as("plan", forward)
        once = time.perf_counter() - start
        runs = len(settings) * NETWORK_ROUNDS * (NETWORK_RUNS + 1)
        if runs * once > NETWORK_BUDGET_S:
            return "plan", {"plan": once}, (f"skipped: {runs} forwards of {once * 1e3:.0f} ms "
                                            f"exceed the {NETWORK_BUDGET_S:g} s budget")
        seconds = measure_network({s: lambda s=s: self._run_as(s, forward) for s in settings})
        verdict = min(settings, key=lambda s: seconds[s] / (1 if s == "plan" else MARGIN))
        return verdict, seconds, None

    def _run_as(self, setting, forward):
        self._trial = None if setting == "plan" else setting
        try:
            return forward()
        finally:
            self._trial = None

    def _cold_caches(self):
        """A CacheFlusher when the model outgrows the last-level cache, else None.

        A layer's weights are still cached when it runs again only if the whole model fits
        in the last-level cache; otherwise every forward streams them from memory, and
        timing warm repeats would flatter the dense forward (4 bytes per weight against
        about 1.5 for a pruned CSR weight). So then both forwards are timed cold.
        """
        if self._flusher is None:
            names = self.parameters.names() if hasattr(self.parameters, "names") else []
            total = sum(4 * int(np.prod(self.parameters.get_shape(n))) for n in names)
            self._flusher = CacheFlusher() if total > last_level_cache_bytes() else False
        return self._flusher or None

    def _note(self, layer, kind, density, xs, choice, reason, dense_ms=None, sparse_ms=None):
        shape = tuple(layer.params[0].compute_shape) if layer.params else ()
        decision = Decision(layer.name, kind, shape, density, _batch(layer, xs), choice, reason,
                            dense_ms, sparse_ms)
        self.decisions[(layer.name, decision.batch)] = decision
        return decision

    # -- showing it ---------------------------------------------------------------------
    def rows(self, batch=None):
        """The decisions of the runs so far (of one ``batch`` size), in the order they ran."""
        return [d for d in self.decisions.values() if batch is None or d.batch == batch]

    def table(self, batch=None):
        """The decisions as an aligned text table (what ``print(plan)`` shows)."""
        header = ("layer", "kind", "weight", "density", "batch", "runs", "dense ms",
                  "sparse ms", "why")
        table = [header]
        for d in self.rows(batch):
            table.append((d.layer, d.kind, "x".join(map(str, d.weight_shape)),
                          "-" if d.density is None else f"{d.density:.3f}", str(d.batch),
                          d.choice, "-" if d.dense_ms is None else f"{d.dense_ms:.3f}",
                          "-" if d.sparse_ms is None else f"{d.sparse_ms:.3f}", d.reason))
        if len(table) == 1:
            return f"sparse={self.mode!r}: no fc, conv or recurrent layer has run yet"
        widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
        lines = [f"sparse={self.mode!r}"]
        for row in table:
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
        names = {"plan": "per-layer choices", "sparse": "all measured layers sparse",
                 "dense": "all measured layers dense"}
        for size, (verdict, ms, skipped) in sorted(self.network_checks.items()):
            if batch is not None and size != batch:
                continue
            if skipped:
                lines.append(f"network check at batch {size}: {skipped} -> {names[verdict]}")
                continue
            timed = ", ".join(f"{names[s]} {t:.3f} ms" for s, t in ms.items())
            lines.append(f"network check at batch {size}: {timed} -> {names[verdict]}")
        return "\n".join(lines)

    def __str__(self):
        return self.table()

    __repr__ = __str__
