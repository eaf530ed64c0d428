"""A network's plan for pruned inference: per layer, dense or sparse, and why.

``paddle.infer(..., sparse=...)`` (default: ``paddle.init(sparse=...)``, itself ``'auto'``)
takes one of:

* ``False`` -- every layer runs dense (the training code path);
* ``True``  -- every fc, conv and recurrent layer the sparse kernels cover runs sparse,
  whatever its density (a forced choice, for tests and benchmarks);
* ``'auto'`` -- per layer, the forward the machine's cost model predicts faster
  (:mod:`.planner` decides, :mod:`.cost_model` predicts, :mod:`.calibration` fits the
  model once per machine); the sparse one is kept when predicted to take at most
  ``MARGIN`` of the dense time. Where the model is unsure -- the predicted ratio within
  ``UNSURE``, or a layer so small (under ``TINY_MACS`` multiply-adds per row) that the
  model's overhead terms decide it -- the layer is measured on synthetic input of its shape (with
  ``CONFIRM_BUDGET_S`` of measuring per plan, the most expensive layers first), and
  the measured verdict is kept for the process. Layers denser than ``AUTO_MAX_DENSITY``
  stay dense without a prediction, and so does every layer on a backend without its
  own sparse kernels.

A :class:`Plan` is made before the forward pass, for one batch shape, and the forward
only reads it: ``Layer.compute`` asks :meth:`Plan.forward` for a layer's sparse output
(None: run dense). Under ``'auto'`` the first real batches of the shape also try the
plan's variants -- every candidate sparse, every candidate dense -- and keep the fastest
(:mod:`.settling`). ``print(plan)`` shows each layer's choice, its density, the predicted
(``~``) or measured times and the reason.
"""

from dataclasses import dataclass

from . import calibration
from .settling import Settling, settled_decisions
from .sparse_forward import SparseForward
from .timing import (QUIET_S, CacheFlusher, last_level_cache_bytes, measure,  # noqa: F401
                     measure_network)

#: 'auto' predicts only layers at most this dense (denser ones stay dense)
AUTO_MAX_DENSITY = 0.5
#: 'auto' keeps the sparse forward only when it takes at most this fraction of the dense time
MARGIN = 0.95
#: predicted sparse/dense ratios the model is unsure of: the layer is measured
UNSURE = (0.6, 1.5)
#: a layer of fewer dense multiply-adds per input row than this is measured: its times are
#: the fixed overheads the model fits least well, and measuring it takes milliseconds
TINY_MACS = 1 << 16
#: seconds of measuring per plan (beyond it, unsure layers follow the prediction)
CONFIRM_BUDGET_S = 0.2

#: measured verdicts of this process: measurement key (see planner) -> Decision
MEASURED = {}

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


def clear_measurements():
    """Forget the measured verdicts and the cost model held in memory (the next 'auto'
    plan reads the model's file again and measures afresh)."""
    MEASURED.clear()
    calibration.forget()


@dataclass
class Decision:
    """How one layer runs at one batch size (``batch``: rows; a recurrent layer's:
    sequences). ``dense_ms``/``sparse_ms``: measured, or predicted when ``predicted``."""

    layer: str
    kind: str
    weight_shape: tuple
    density: float
    batch: int
    choice: str            # 'sparse' or 'dense'
    reason: str
    dense_ms: float = None
    sparse_ms: float = None
    predicted: bool = False


class Plan:
    """The decisions for one network and batch shape, and the CSR layouts of the layers
    that run sparse. ``stamp``: what the plan was made for (weight versions, backend,
    dtype); the owner makes a new plan when it changes."""

    def __init__(self, mode, decisions, sparse, stamp=None, variants=None, candidates=()):
        self.mode = mode
        self.decisions = dict(decisions)   # layer name -> Decision, in topological order
        self.sparse = dict(sparse)         # layer name -> (kind, [CsrWeight])
        self.stamp = stamp
        # 'auto' with candidates: {name: callable -> sparse dict}, tried on real batches
        self.settling = Settling(variants, MARGIN) if variants else None
        self.candidates = list(candidates)  # the layers 'auto' decided (variants change them)
        self._variant_layouts = {"plan": self.sparse}
        self._running = None
        self._forwards = {}     # layer name -> ((kind, csr) entry, its SparseForward)

    # -- running a variant on a real batch (see settling) ----------------------------------
    @property
    def on_trial(self):
        """Whether forward runs are still timed to settle the plan (once settled, or with
        nothing to try, the forward just reads it)."""
        return self.settling is not None and self.settling.verdict is None

    def begin_run(self):
        """Choose what the next forward runs (the settled variant, or one still on trial)."""
        if self.settling is None:
            return
        name = self._running = self.settling.next()
        if name not in self._variant_layouts:
            self._variant_layouts[name] = self.settling.variants[name]()
        self.sparse = self._variant_layouts[name]

    def end_run(self, seconds):
        """The forward begun by :meth:`begin_run` took ``seconds``."""
        if self.settling is None or self._running is None:
            return
        already = self.settling.verdict
        verdict = self.settling.record(self._running, seconds)
        self._running = None
        if verdict is not None and already is None:
            self.decisions = settled_decisions(self.decisions, verdict, self.candidates)
            self.sparse = self._variant_layouts[verdict]
            self._variant_layouts = {verdict: self.sparse}

    def forward(self, layer, ctx, xs):
        """The activated output of ``layer`` computed sparse, or None to run it dense."""
        sparse = self.sparse_forward(layer)
        return None if sparse is None else sparse(ctx, xs)

    def sparse_forward(self, layer):
        """``layer``'s SparseForward, or None where the layer runs dense."""
        entry = self.sparse.get(layer.name)
        if entry is None:
            return None
        # resolved once per layout (a variant on trial brings other layouts)
        made = self._forwards.get(layer.name)
        if made is None or made[0] is not entry:
            made = self._forwards[layer.name] = (entry, SparseForward(layer, *entry))
        return made[1]

    def rows(self, batch=None):
        return [d for d in self.decisions.values() if batch is None or d.batch == batch]

    def table(self, batch=None):
        text = format_table(self.mode, self.rows(batch))
        return text if self.settling is None else text + "\n" + self.settling.describe()

    def __str__(self):
        return self.table()

    __repr__ = __str__


def _ms(value, predicted):
    if value is None:
        return "-"
    return ("~" if predicted else "") + f"{value:.3f}"


def format_table(mode, decisions):
    """The decisions as an aligned text table: one line per layer."""
    header = ("layer", "kind", "weight", "density", "batch", "runs", "dense ms", "sparse ms",
              "why")
    table = [header]
    for d in decisions:
        table.append((d.layer, d.kind, "x".join(map(str, d.weight_shape)),
                      "-" if d.density is None else f"{d.density:.3f}", str(d.batch),
                      d.choice, _ms(d.dense_ms, d.predicted), _ms(d.sparse_ms, d.predicted),
                      d.reason))
    if len(table) == 1:
        return f"sparse={mode!r}: no fc, conv or recurrent layer is planned"
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    lines = [f"sparse={mode!r}" + ("  (~: predicted by the cost model)"
                                   if any(d.predicted for d in decisions) else "")]
    for row in table:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    return "\n".join(lines)
