"""The printer evaluators: each batch they write what they read, and report no metric.

``value_printer``, ``gradient_printer``, ``maxid_printer``, ``maxframe_printer`` and
``classification_error_printer`` print to standard output, one block per input layer per
batch, headed as v2 logged them (``layer=<name> value matrix:``); ``seqtext_printer``
writes the decoded sequences to its ``result_file``. Their value is an empty dict, so
``event.metrics`` holds nothing of theirs.
"""

import sys

import numpy as np

from ..layers.base import Layer, default_name
from .evaluators import Evaluator, declared


def _layer_list(input, name):
    layers = list(input) if isinstance(input, (list, tuple)) else [input]
    if not layers:
        raise ValueError(f"evaluator {name}: needs at least one input layer")
    for layer in layers:
        if not isinstance(layer, Layer):
            raise ValueError(f"evaluator {name}: input {layer!r} is not a layer")
    return layers


def _count(value, what, name, default=1):
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"evaluator {name}: {what}={value!r} must be a positive integer")
    return int(value)


def _rows(array):
    """Text of an array, one line per row (a vector: one line)."""
    array = np.asarray(array)
    rows = array.reshape(len(array), -1) if array.ndim > 1 else array.reshape(1, -1)
    return "\n".join(" ".join(f"{v:g}" for v in row) for row in rows)


def layer_ids(outputs, layer, evaluator_name):
    """The integer ids a layer gives (``crf_decoding``'s beside its value, or its value)."""
    ids = outputs.get((layer.name, "ids"))
    ids = outputs[layer.name] if ids is None else ids
    if np.asarray(ids).dtype.kind not in "iu":
        raise ValueError(f"evaluator {evaluator_name}: {layer.name} gives "
                         f"{np.asarray(ids).dtype} values, not ids")
    return np.asarray(ids).reshape(-1)


class Printer(Evaluator):
    """An evaluator that writes each batch (:meth:`emit`) and has no value."""

    def batch_stats(self, outputs):
        self.emit(outputs)
        return []

    def emit(self, outputs):
        """Write this batch: :meth:`text` to standard output."""
        print(self.text(outputs), file=sys.stdout, flush=True)

    @staticmethod
    def value(stats):
        return {}

    def result(self):
        return {}


class ValuePrinter(Printer):
    """The value of each input layer: its matrix or ids, and its sequence offsets."""

    def __init__(self, input, name=None):
        name = name or default_name("value_printer_evaluator")
        super().__init__(name, _layer_list(input, name))

    def text(self, outputs):
        blocks = []
        for layer in self.inputs:
            value, layout = np.asarray(outputs[layer.name]), outputs.get((layer.name, "seq"))
            kind = "ids vector" if value.dtype.kind in "iu" else "value matrix"
            blocks.append(f"layer={layer.name} {kind}:\n{_rows(value)}")
            if (layer.name, "ids") in outputs:
                blocks.append(f"layer={layer.name} ids vector:\n"
                              f"{_rows(outputs[layer.name, 'ids'])}")
            if layout is not None:
                blocks.append(f"layer={layer.name} sequence pos vector:\n{_rows(layout.starts)}")
                if layout.sub_starts is not None:
                    blocks.append(f"layer={layer.name} sub-sequence pos vector:\n"
                                  f"{_rows(layout.sub_starts)}")
        return "\n".join(blocks)


class GradientPrinter(Printer):
    """The gradient of the cost with respect to each input layer's output, where the batch
    has one (a layer the cost does not depend on, or a data layer, has none)."""

    reads_gradients = True

    def __init__(self, input, name=None):
        name = name or default_name("gradient_printer_evaluator")
        super().__init__(name, _layer_list(input, name))

    def text(self, outputs):
        blocks = []
        for layer in self.inputs:
            grad, layout = outputs.get((layer.name, "grad")), outputs.get((layer.name, "seq"))
            if grad is not None:
                blocks.append(f"layer={layer.name} grad matrix:\n{_rows(grad)}")
            if layout is not None:
                blocks.append(f"layer={layer.name} sequence pos vector:\n{_rows(layout.starts)}")
        return "\n".join(blocks)


class MaxIdPrinter(Printer):
    """The ``num_results`` largest values of each row and their column ids
    (``id : value, `` each, highest first), one line per row."""

    def __init__(self, input, num_results=None, name=None):
        name = name or default_name("maxid_printer_evaluator")
        layers = _layer_list(input, name)
        self.num_results = _count(num_results, "num_results", name)
        for layer in layers:
            if self.num_results > layer.size:
                raise ValueError(f"evaluator {name}: num_results={self.num_results} is more "
                                 f"than the {layer.size} columns of {layer.name}")
        super().__init__(name, layers)

    def text(self, outputs):
        blocks = []
        for layer in self.inputs:
            values = np.asarray(outputs[layer.name])
            values = values.reshape(len(values), -1)
            top = np.argsort(-values, axis=1, kind="stable")[:, :self.num_results]
            lines = ["".join(f"{j} : {row[j]:g}, " for j in ids) for row, ids in zip(values, top)]
            blocks.append(f"layer={layer.name} row max id vector:\n" + "\n".join(lines))
        return "\n".join(blocks)


class MaxFramePrinter(Printer):
    """For each sequence of a size-1 layer, its ``num_results`` highest timesteps
    (``frame : value, `` each, highest first) and ``total <length> frames``."""

    def __init__(self, input, num_results=None, name=None):
        name = name or default_name("maxframe_printer_evaluator")
        layers = _layer_list(input, name)
        self.num_results = _count(num_results, "num_results", name)
        for layer in layers:
            if layer.size != 1 or not layer.seq_level:
                raise ValueError(f"evaluator {name}: {layer.name} must be a sequence of size "
                                 f"1 (one value per frame); got a "
                                 f"{'sequence' if layer.seq_level else 'non-sequence'} of "
                                 f"size {layer.size}")
        super().__init__(name, layers)

    def text(self, outputs):
        blocks = []
        for layer in self.inputs:
            values, layout = np.asarray(outputs[layer.name]).reshape(-1), \
                outputs[layer.name, "seq"]
            lines = []
            for begin, end in zip(layout.starts[:-1], layout.starts[1:]):
                frames = values[begin:end]
                top = np.argsort(-frames, kind="stable")[:self.num_results]
                lines.append("".join(f"{j} : {frames[j]:g}, " for j in top)
                             + f"total {end - begin} frames")
            blocks.append(f"layer={layer.name} sequence max frames:\n" + "\n".join(lines))
        return "\n".join(blocks)


class ClassificationErrorPrinter(Printer):
    """Each row's classification error (1 when the label is not the highest score, else 0)
    and, for sequences, the sequence offsets. ``threshold`` is kept for v2's signature; it
    applies to multi-label (dense) labels, which this printer does not read."""

    def __init__(self, input, label, threshold=0.5, name=None):
        name = name or default_name("classification_error_printer_evaluator")
        _layer_list([input, label], name)
        self.input, self.label, self.threshold = input, label, threshold
        super().__init__(name, [input, label])

    def text(self, outputs):
        scores = np.asarray(outputs[self.input.name])
        scores = scores.reshape(len(scores), -1)
        labels = layer_ids(outputs, self.label, self.name)
        if len(labels) != len(scores):
            raise ValueError(f"evaluator {self.name}: label {self.label.name} has "
                             f"{len(labels)} rows, input {self.input.name} {len(scores)}")
        errors = (scores.argmax(axis=1) != labels).astype(np.float64)
        text = f"Printer={self.name} Classification Error:\n{_rows(errors[:, None])}"
        layout = outputs.get((self.input.name, "seq"))
        if layout is not None:
            text += f"\nPrinter={self.name} sequence pos vector:\n{_rows(layout.starts)}"
        return text


def _declare(evaluator):
    declared.append(evaluator)
    return evaluator


def value_printer(input, name=None, **_ignored):
    """Print the value of each input layer every batch."""
    return _declare(ValuePrinter(input, name))


def gradient_printer(input, name=None, **_ignored):
    """Print the gradient of the cost with respect to each input layer's output every batch."""
    return _declare(GradientPrinter(input, name))


def maxid_printer(input, num_results=None, name=None, **_ignored):
    """Print the ``num_results`` (default 1) largest values of each row and their ids."""
    return _declare(MaxIdPrinter(input, num_results, name))


def maxframe_printer(input, num_results=None, name=None, **_ignored):
    """Print the ``num_results`` (default 1) highest frames of each sequence."""
    return _declare(MaxFramePrinter(input, num_results, name))


def classification_error_printer(input, label, threshold=0.5, name=None, **_ignored):
    """Print each row's classification error every batch."""
    return _declare(ClassificationErrorPrinter(input, label, threshold, name))


value_printer_evaluator = value_printer
gradient_printer_evaluator = gradient_printer
maxid_printer_evaluator = maxid_printer
maxframe_printer_evaluator = maxframe_printer
classification_error_printer_evaluator = classification_error_printer

__all__ = ["Printer", "ValuePrinter", "GradientPrinter", "MaxIdPrinter", "MaxFramePrinter",
           "ClassificationErrorPrinter", "value_printer", "gradient_printer", "maxid_printer",
           "maxframe_printer", "classification_error_printer", "value_printer_evaluator",
           "gradient_printer_evaluator", "maxid_printer_evaluator",
           "maxframe_printer_evaluator", "classification_error_printer_evaluator"]
