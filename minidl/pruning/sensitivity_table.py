"""What :func:`~minidl.pruning.sensitivity` measured, per prunable weight and ratio.

    table = paddle.pruning.sensitivity(cost, parameters, test_reader)
    print(table)                      # metric per layer and ratio, baseline first
    table.loss("___fc_layer_0__.w0", 0.9)   # the drop pruning that weight alone to 0.9 caused
    table.save("sensitivity.json"); table = SensitivityTable.load("sensitivity.json")

Metrics and their units (``loss`` is always "how much worse", in the metric's unit):

* ``accuracy`` -- percent of samples classified right (100 minus the classification error
  of the cost's ``classification_error_evaluator``); loss = baseline - value, in points;
* ``agreement`` -- percent of samples whose top-1 class is the unpruned network's (for an
  output layer, no labels needed); loss = baseline (100) - value;
* ``cost`` -- the cost layer's mean over samples; loss = value - baseline.

Ratio 0.0 stands for the unpruned weight in every per-ratio dict.
"""

import json
from dataclasses import dataclass, field

#: metric -> (higher is better, unit shown in tables)
METRICS = {"accuracy": (True, "%"), "agreement": (True, "%"), "cost": (False, "")}


@dataclass
class LayerSensitivity:
    """One weight: the metric and compact-file bytes when pruned alone to each ratio.

    ``dense_ms`` / ``sparse_ms``: the owning layer's forward times at the timing batch size,
    measured by the sparse planner with every prunable weight pruned to that ratio (absent
    where the planner does not time the layer: denser than its limit, or not covered).
    """

    parameter: str
    layer: str
    kind: str
    shape: tuple
    weights: int
    metric: dict = field(default_factory=dict)        # ratio -> metric value
    stored_bytes: dict = field(default_factory=dict)  # ratio -> bytes of its value member
    dense_ms: dict = field(default_factory=dict)      # ratio -> ms of the dense forward
    sparse_ms: dict = field(default_factory=dict)     # ratio -> ms of the sparse forward

    def as_dict(self):
        def pairs(values):   # JSON keys are strings: ratios go as [ratio, value] pairs
            return [[ratio, value] for ratio, value in sorted(values.items())]
        return {"parameter": self.parameter, "layer": self.layer, "kind": self.kind,
                "shape": list(self.shape), "weights": self.weights,
                "metric": pairs(self.metric), "stored_bytes": pairs(self.stored_bytes),
                "dense_ms": pairs(self.dense_ms), "sparse_ms": pairs(self.sparse_ms)}

    @classmethod
    def from_dict(cls, data):
        def table(key, cast=float):
            return {float(ratio): cast(value) for ratio, value in data.get(key, [])}
        return cls(data["parameter"], data["layer"], data["kind"], tuple(data["shape"]),
                   int(data["weights"]), table("metric"), table("stored_bytes", int),
                   table("dense_ms"), table("sparse_ms"))


class SensitivityTable:
    """Per prunable weight (in the order the layers run): the metric at each ratio."""

    def __init__(self, metric, baseline, samples, ratios, layers, timing_batch=None):
        if metric not in METRICS:
            raise ValueError(f"metric={metric!r}: expected one of {sorted(METRICS)}")
        self.metric = metric
        self.baseline = float(baseline)
        self.samples = int(samples)
        self.ratios = tuple(float(r) for r in ratios)
        self.layers = list(layers)
        self.timing_batch = timing_batch

    @property
    def higher_is_better(self):
        return METRICS[self.metric][0]

    def names(self):
        """The parameter names, in the order the layers run."""
        return [entry.parameter for entry in self.layers]

    def __getitem__(self, name):
        for entry in self.layers:
            if name in (entry.parameter, entry.layer):
                return entry
        raise KeyError(f"{name!r} is not in the sensitivity table; it has "
                       f"{', '.join(self.names())}")

    def loss(self, name, ratio):
        """How much worse than the baseline pruning ``name`` alone to ``ratio`` measured."""
        value = self[name].metric[float(ratio)]
        return self.baseline - value if self.higher_is_better else value - self.baseline

    # --- JSON ----------------------------------------------------------------------------
    def as_dict(self):
        return {"metric": self.metric, "baseline": self.baseline, "samples": self.samples,
                "ratios": list(self.ratios), "timing_batch": self.timing_batch,
                "layers": [entry.as_dict() for entry in self.layers]}

    @classmethod
    def from_dict(cls, data):
        return cls(data["metric"], data["baseline"], data["samples"], data["ratios"],
                   [LayerSensitivity.from_dict(entry) for entry in data["layers"]],
                   data.get("timing_batch"))

    def save(self, path):
        """Write the table as JSON to ``path`` (floats written exactly: repr round-trips)."""
        with open(path, "w") as f:
            json.dump(self.as_dict(), f, indent=1)

    @classmethod
    def load(cls, path):
        with open(path) as f:
            return cls.from_dict(json.load(f))

    # --- text ----------------------------------------------------------------------------
    def format(self):
        """An aligned table: one row per weight, the metric at each ratio."""
        unit = METRICS[self.metric][1]
        header = ["layer", "parameter", "kind", "weights"] + [f"{r:g}" for r in self.ratios]
        rows = [header]
        for entry in self.layers:
            rows.append([entry.layer, entry.parameter, entry.kind, f"{entry.weights:,}"]
                        + [_number(entry.metric.get(r)) for r in self.ratios])
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = [f"{self.metric}{' ' + unit if unit else ''} on {self.samples} samples when "
                 f"one weight is pruned to each ratio (dense: {_number(self.baseline)})"]
        for row in rows:
            lines.append("  ".join(c.ljust(w) if i < 3 else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        return "\n".join(lines)

    __str__ = format

    def __repr__(self):
        return (f"<SensitivityTable {self.metric}: {len(self.layers)} weights x "
                f"{len(self.ratios)} ratios, baseline {self.baseline:.4g}>")


def _number(value):
    return "-" if value is None else f"{value:.4g}" if abs(value) < 1 else f"{value:.2f}"
