"""What :func:`~minidl.pruning.choose` decided, and why: one row per weight.

``print(choice)`` shows each weight's size, the chosen ratio, its predicted loss, the bytes
of its value member in a compact file (unpruned -> chosen) and the owning layer's
predicted forward time (unpruned -> chosen), then the totals against the budget.
"""

from dataclasses import dataclass

from .sensitivity_table import METRICS


@dataclass
class LayerChoice:
    """The chosen ratio of one weight with its predicted cost and savings."""

    parameter: str
    layer: str
    kind: str
    weights: int
    ratio: float          # 0.0: left unpruned
    loss: float           # predicted, in the metric's unit
    unpruned_bytes: int   # value member in a compact file, as the weight is now
    bytes: int            # ... after pruning to ``ratio``
    unpruned_ms: float    # the owning layer's forward, ms (None: not timed)
    ms: float             # ... predicted at ``ratio``


class Choice:
    """Per weight, a sparsity ratio; ``sparsities`` gives the pruned ones."""

    def __init__(self, objective, budget, metric, timing_batch, rows):
        self.objective = objective
        self.budget = budget
        self.metric = metric
        self.timing_batch = timing_batch
        self.rows = list(rows)

    @property
    def sparsities(self):
        """{parameter name: ratio} of every weight the choice prunes (ratio > 0)."""
        return {row.parameter: row.ratio for row in self.rows if row.ratio > 0}

    @property
    def loss(self):
        """The summed predicted loss (at most the budget)."""
        return sum(row.loss for row in self.rows)

    @property
    def bytes_saved(self):
        return sum(row.unpruned_bytes - row.bytes for row in self.rows)

    def times(self):
        """(unpruned ms, chosen ms) summed over the timed layers, each layer once."""
        seen, before, after = set(), 0.0, 0.0
        for row in self.rows:
            if row.ms is None or row.layer in seen:
                continue
            seen.add(row.layer)
            before, after = before + row.unpruned_ms, after + row.ms
        return before, after

    def as_dict(self):
        return {"objective": self.objective, "budget": self.budget, "metric": self.metric,
                "timing_batch": self.timing_batch, "rows": [vars(row) for row in self.rows]}

    def format(self):
        unit = " points" if METRICS[self.metric][1] == "%" else ""
        header = ["layer", "parameter", "kind", "weights", "ratio", "loss", "bytes before",
                  "bytes after", "ms before", "ms after"]
        table = [header]
        for r in self.rows:
            table.append([r.layer, r.parameter, r.kind, f"{r.weights:,}", f"{r.ratio:g}",
                          f"{r.loss:.3g}", f"{r.unpruned_bytes:,}", f"{r.bytes:,}",
                          _ms(r.unpruned_ms), _ms(r.ms)])
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        lines = [f"objective {self.objective!r}: predicted {self.metric} loss "
                 f"{self.loss:.3g} of a budget of {self.budget:g}{unit}"]
        for row in table:
            lines.append("  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        total_before = sum(r.unpruned_bytes for r in self.rows)
        lines.append(f"compact bytes of these weights: {total_before:,} -> "
                     f"{total_before - self.bytes_saved:,}")
        before, after = self.times()
        if after:
            lines.append(f"predicted forward time of the timed layers at batch "
                         f"{self.timing_batch}: {before:.3f} ms -> {after:.3f} ms "
                         f"({before / after:.2f}x)")
        return "\n".join(lines)

    __str__ = format

    def __repr__(self):
        return (f"<Choice {self.objective}: {len(self.sparsities)} of {len(self.rows)} weights "
                f"pruned, predicted loss {self.loss:.3g} <= {self.budget:g}>")


def _ms(value):
    return "-" if value is None else f"{value:.3f}"
