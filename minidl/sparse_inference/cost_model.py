"""A layer's dense and sparse forward time, predicted from the work it does.

Per kernel kind (``'fc'``, ``'conv'``, ``'recurrent'``), forward (``'dense'``,
``'sparse'``) and batch regime (``'one'``: a batch of one row or one sequence, where a
product streams the weight once per row; ``'many'``), the time is a sum of non-negative
terms, each a work count divided by a rate::

    fc, conv:   seconds = overhead + multiply-adds / mac_rate + weight bytes / byte_rate
                          + input values / input_rate
    recurrent:  seconds = overhead + steps * step_overhead + multiply-adds / mac_rate

Multiply-adds count the weights that are multiplied (all of them dense, the nonzeros
sparse) once per input row and, for a conv, per output pixel; weight bytes are 4 per
dense weight and 4 plus the column index's bytes per nonzero. Input values are what the
forward reads or lays out besides the weights: the dense conv's unfolded input (one
column of ``C/G * kh * kw`` values per output pixel), the sparse conv's padded frame and
an fc's input rows. :func:`fit` finds the
coefficients from timed forwards (:mod:`.calibration`), minimising the relative error.
"""

import itertools
import math
from dataclasses import dataclass

import numpy as np

KINDS = ("fc", "conv", "recurrent")
FORWARDS = ("dense", "sparse")
REGIMES = ("one", "many")
#: features are counted in these units (keeps the fitted coefficients near 1e-3..1e3)
MEGA = 1e6


@dataclass(frozen=True)
class Work:
    """What one forward of a layer does.

    ``batch``: the rows of a fc/conv input, the sequences of a recurrent one (decides the
    regime); ``rows``: input rows (every timestep of every sequence); ``weights`` and
    ``nonzeros``: of the weights the forward multiplies; ``inputs``/``outputs``: values
    per row in and out (a conv: per image and per output pixel: its input size and its
    filters); ``pixels``: a conv's output pixels per image (1 otherwise); ``index_bytes``:
    the CSR column index width.
    """

    kind: str
    batch: int
    rows: int
    weights: int
    nonzeros: int
    inputs: int
    outputs: int
    pixels: int = 1
    index_bytes: int = 4

    @property
    def regime(self):
        return "one" if self.batch == 1 else "many"


def features(work, forward):
    """The model's feature vector ``(4,)`` of ``work`` run ``forward`` ('dense'/'sparse')."""
    multiplied = work.weights if forward == "dense" else work.nonzeros
    macs = work.rows * multiplied * work.pixels / MEGA
    if work.kind == "recurrent":
        steps = math.ceil(work.rows / max(work.batch, 1))
        return np.array([1.0, float(steps), macs, 0.0])
    if forward == "dense":
        weight_bytes = 4 * work.weights
        values = work.rows * work.weights * work.pixels / max(work.outputs, 1)
    else:
        weight_bytes = work.nonzeros * (4 + work.index_bytes)
        values = work.rows * work.inputs
    return np.array([1.0, macs, weight_bytes / MEGA, values / MEGA])


def fit_terms(rows, seconds):
    """Non-negative ``c`` minimising ``sum(((rows @ c) - seconds) / seconds) ** 2)``.

    ``rows: (n, 4)`` feature vectors, ``seconds: (n,)``. Four unknowns: every subset of
    the terms is solved by least squares, and the best one with no negative coefficient
    wins (the non-negative optimum is one of them).
    """
    rows = np.asarray(rows, dtype=np.float64)
    seconds = np.asarray(seconds, dtype=np.float64)
    scaled, target = rows / seconds[:, None], np.ones_like(seconds)
    best, best_error = np.zeros(rows.shape[1]), float("inf")
    for size in range(1, rows.shape[1] + 1):
        for subset in itertools.combinations(range(rows.shape[1]), size):
            columns = list(subset)
            solution, *_ = np.linalg.lstsq(scaled[:, columns], target, rcond=None)
            if np.any(solution < 0):
                continue
            error = float(np.sum((scaled[:, columns] @ solution - target) ** 2))
            if error < best_error:
                best_error = error
                best = np.zeros(rows.shape[1])
                best[columns] = solution
    return best


class CostModel:
    """Predicted seconds of a layer's dense and sparse forward on one machine.

    ``terms``: {``'kind/forward/regime'``: [four coefficients]} (see the module
    docstring); ``machine``: what the calibration ran on (kept in the cache file);
    ``narrow_from``: the nonzeros above which fc layouts take uint16 columns on this
    machine (``layout.fc_layout``), None where the calibration did not probe it.
    """

    def __init__(self, terms, machine=None, narrow_from=None):
        self.terms = {key: [float(c) for c in value] for key, value in terms.items()}
        self.machine = dict(machine or {})
        self.narrow_from = narrow_from

    @classmethod
    def fit(cls, timings, machine=None, narrow_from=None):
        """``timings``: {(kind, forward, regime): [(Work, seconds), ...]} -> CostModel."""
        terms = {}
        for (kind, forward, regime), points in timings.items():
            rows = [features(work, forward) for work, _ in points]
            terms[f"{kind}/{forward}/{regime}"] = fit_terms(rows, [s for _, s in points])
        return cls(terms, machine, narrow_from)

    def knows(self, kind, regime):
        return all(f"{kind}/{f}/{regime}" in self.terms for f in FORWARDS)

    def covers(self, kind):
        """Whether every forward and regime of ``kind`` was calibrated."""
        return all(self.knows(kind, regime) for regime in REGIMES)

    def merged(self, other):
        """This model with ``other``'s terms added (``other``'s win where both have one)."""
        narrow_from = self.narrow_from if other.narrow_from is None else other.narrow_from
        return CostModel({**self.terms, **other.terms}, self.machine, narrow_from)

    def predict(self, work, forward):
        """Predicted seconds of ``work`` run ``forward``; KeyError if never calibrated."""
        coefficients = self.terms[f"{work.kind}/{forward}/{work.regime}"]
        return float(np.dot(coefficients, features(work, forward)))

    def to_json(self):
        return {"machine": self.machine, "terms": self.terms, "narrow_from": self.narrow_from}

    @classmethod
    def from_json(cls, data):
        """The model saved by :meth:`to_json`; ValueError for anything else."""
        try:
            terms = data["terms"]
            ok = isinstance(terms, dict) and all(
                isinstance(v, list) and len(v) == 4 and
                all(isinstance(c, (int, float)) and math.isfinite(c) and c >= 0 for c in v)
                for v in terms.values())
            narrow_from = data.get("narrow_from")
            ok = ok and (narrow_from is None or (isinstance(narrow_from, int)
                                                 and not isinstance(narrow_from, bool)
                                                 and narrow_from >= 0))
        except (TypeError, KeyError, AttributeError):
            ok = False
        if not ok:
            raise ValueError("not a saved cost model")
        return cls(terms, data.get("machine"), narrow_from)

    def __repr__(self):
        return f"CostModel({sorted(self.terms)})"
