"""``paddle.evaluator``: metrics computed from layer outputs during train and test.

An evaluator names the layers it reads; the trainer runs it on every batch of a network
that contains those layers and reports its value in ``event.metrics`` under its name.
``classification_cost`` adds ``classification_error_evaluator`` by itself.

Each evaluator accumulates sufficient statistics (counts, sums) so that a pass's value is
exact, not an average of batch values.
"""

import numpy as np

from ..core.xp import as_numpy
from ..layers.base import Layer, default_name
from . import roc

#: evaluators declared with the functions below, picked up by trainers whose network
#: contains their input layers (Paddle collected them in its global config the same way)
declared = []


class Evaluator:
    #: True for evaluators that read the gradient of a layer's output (``(name, "grad")``)
    reads_gradients = False

    def __init__(self, name, inputs):
        for layer in inputs:
            if layer is not None and not isinstance(layer, Layer):
                raise ValueError(f"evaluator {name}: {layer!r} is not a layer")
        self.name = name
        self.inputs = [layer for layer in inputs if layer is not None]
        self.reset()

    def reset(self):
        self.stats = None

    def add(self, outputs):
        """Accumulate one batch; ``outputs`` maps layer names to NumPy arrays (and, for
        sequence evaluators, ``(name, "seq")`` to the layer's SequenceLayout or None and
        ``(name, "ids")`` to ids a layer computes beside its value: see
        :func:`host_outputs`)."""
        return self.accumulate(self.batch_stats(outputs))

    def accumulate(self, batch):
        """Add one batch's statistics (under MPI, summed over the ranks); its value."""
        self.stats = batch if self.stats is None else [a + b for a, b in zip(self.stats, batch)]
        return self.value(batch)

    def result(self):
        return self.value(self.stats) if self.stats is not None else 0.0


class _WeightedMean(Evaluator):
    """An evaluator whose statistics are a weighted sum and the sum of the weights (without a
    ``weight`` layer every row weighs 1), and whose value is their ratio."""

    def weighted_sums(self, outputs, values):
        """This batch's statistics for ``values``, one row (or entry) per input row."""
        if self.weight is None:
            return [float(np.sum(values)), float(len(values))]
        weight = outputs[self.weight.name].reshape((-1,) + (1,) * (values.ndim - 1))
        return [float(np.sum(values * weight)), float(np.sum(weight))]

    @staticmethod
    def value(stats):
        total, count = stats
        return total / count if count else 0.0


class ClassificationError(_WeightedMean):
    """Fraction of samples whose label is not among the ``top_k`` highest scores (weighted)."""

    def __init__(self, input, label, name=None, weight=None, top_k=1):
        if top_k is None:
            top_k = 1
        if top_k < 1:
            raise ValueError(f"classification_error: top_k={top_k} must be >= 1")
        self.input, self.label, self.weight, self.top_k = input, label, weight, top_k
        super().__init__(name or default_name("classification_error_evaluator"),
                         [input, label, weight])

    def batch_stats(self, outputs):
        scores = outputs[self.input.name].reshape(len(outputs[self.input.name]), -1)
        labels = outputs[self.label.name].reshape(-1).astype(np.int64)
        if self.top_k == 1:
            wrong = scores.argmax(axis=1) != labels
        else:
            top = np.argsort(-scores, axis=1, kind="stable")[:, :self.top_k]
            wrong = ~(top == labels[:, None]).any(axis=1)
        return self.weighted_sums(outputs, wrong)


class SumEvaluator(_WeightedMean):
    """Paddle's ``SumEvaluator``: the sum of the input layer's values (weighted) divided by
    the number of rows (a sequence counts one per timestep), or by the sum of the weights.
    The book's label_semantic_roles sums ``crf_decoding``'s per-timestep errors: the value
    is the fraction of words tagged wrong."""

    def __init__(self, input, name=None, weight=None):
        self.input, self.weight = input, weight
        super().__init__(name or default_name("sum_evaluator"), [input, weight])

    def batch_stats(self, outputs):
        values = outputs[self.input.name].reshape(len(outputs[self.input.name]), -1)
        return self.weighted_sums(outputs, values)


class Auc(Evaluator):
    """Area under the ROC curve of a binary classifier, weighted: the score is the last
    column of ``input`` (in [0, 1]), label 0 is negative and any other label positive.
    Scores are binned as Paddle's AucEvaluator did: see :mod:`minidl.training.roc`."""

    def __init__(self, input, label, name=None, weight=None):
        self.input, self.label, self.weight = input, label, weight
        super().__init__(name or default_name("auc_evaluator"), [input, label, weight])

    def batch_stats(self, outputs):
        scores = outputs[self.input.name].reshape(len(outputs[self.input.name]), -1)[:, -1]
        labels = outputs[self.label.name].reshape(-1)
        weight = (np.ones(len(labels)) if self.weight is None
                  else outputs[self.weight.name].reshape(-1))
        return [roc.binned(scores, labels, weight,
                           f"evaluator {self.name}: input {self.input.name}")]

    @staticmethod
    def value(stats):
        return roc.area(stats[0])


class PrecisionRecall(Evaluator):
    """Macro-averaged precision, recall and F1 over classes; ``value`` returns F1.

    ``positive_label`` restricts the statistics to one class, as Paddle allowed. As in
    Paddle, a class never predicted has precision 1, a class never present recall 1.
    """

    def __init__(self, input, label, name=None, weight=None, positive_label=None):
        self.input, self.label, self.weight = input, label, weight
        self.positive_label = positive_label
        super().__init__(name or default_name("precision_recall_evaluator"),
                         [input, label, weight])

    def batch_stats(self, outputs):
        scores = outputs[self.input.name].reshape(len(outputs[self.input.name]), -1)
        labels = outputs[self.label.name].reshape(-1).astype(np.int64)
        predicted = scores.argmax(axis=1)
        classes = scores.shape[1]
        weight = (np.ones(len(labels)) if self.weight is None
                  else outputs[self.weight.name].reshape(-1))
        hit = predicted == labels
        tp = np.bincount(labels[hit], weight[hit], classes)
        predicted_count = np.bincount(predicted, weight, classes)
        label_count = np.bincount(labels, weight, classes)
        return [tp, predicted_count, label_count]

    def value(self, stats):
        tp, predicted_count, label_count = stats
        if self.positive_label is not None:
            keep = [self.positive_label]
            tp, predicted_count, label_count = tp[keep], predicted_count[keep], label_count[keep]
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(predicted_count > 0, tp / predicted_count, 1.0).mean()
            recall = np.where(label_count > 0, tp / label_count, 1.0).mean()
        return float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0


class Chunk(Evaluator):
    """Precision, recall and F1 of chunk detection over a pass (Paddle's ``ChunkEvaluator``).

    ``input`` gives the predicted tag id of every timestep (``crf_decoding``, with or without
    a label, or ``max_id``), ``label`` the true ones (``integer_value_sequence``); both are
    cut into chunks sequence by sequence (the label's layout). A tag id encodes
    ``chunk_type = id // num_tag_types`` and ``tag = id % num_tag_types``; the type
    ``num_chunk_types`` is "outside any chunk" (the ``O`` label, id
    ``num_chunk_types * num_tag_types``). The tags of each scheme::

        scheme   tags                           a chunk is
        IOB      0 begin, 1 inside              B I I ...
        IOE      0 inside, 1 end                ... I I E
        IOBES    0 begin, 1 inside, 2 end, 3 single     B I .. E, or S
        plain    0                              a run of one type

    A predicted chunk is correct when its first row, last row and type equal a label chunk's.
    Chunks of ``excluded_chunk_types`` are not counted. The pass sums the counts of true,
    predicted and correct chunks over its batches (Paddle's ``numLabelSegments_``,
    ``numOutputSegments_``, ``numCorrect_``); then::

        precision = correct / predicted     (0 when nothing was predicted)
        recall    = correct / true          (0 when there was nothing to find)
        F1-score  = 2 precision recall / (precision + recall)    (0 when nothing is correct)

    ``event.metrics`` shows them as v2 named them: ``<name>.F1-score``, ``<name>.precision``
    and ``<name>.recall``.
    """

    #: scheme -> (number of tag types, begin, inside, end, single); -1: the scheme has no such tag
    SCHEMES = {"IOB": (2, 0, 1, -1, -1), "IOE": (2, -1, 0, 1, -1),
               "IOBES": (4, 0, 1, 2, 3), "plain": (1, -1, -1, -1, -1)}

    def __init__(self, input, label, chunk_scheme, num_chunk_types, name=None,
                 excluded_chunk_types=None):
        name = name or default_name("chunk_evaluator")
        if chunk_scheme not in self.SCHEMES:
            raise ValueError(f"evaluator {name}: unknown chunk_scheme {chunk_scheme!r}; "
                             f"expected one of {', '.join(self.SCHEMES)}")
        if isinstance(num_chunk_types, bool) or not isinstance(num_chunk_types, (int, np.integer)) \
                or num_chunk_types < 1:
            raise ValueError(f"evaluator {name}: num_chunk_types={num_chunk_types!r} must be a "
                             "positive integer (the chunk types besides 'outside')")
        for layer, what in ((input, "input"), (label, "label")):
            if not isinstance(layer, Layer):
                raise ValueError(f"evaluator {name}: {what} must be a layer, got {layer!r}")
            if not layer.seq_level:
                raise ValueError(f"evaluator {name}: {what} {layer.name} is a non-sequence; "
                                 "chunks are read from sequences of tag ids")
        self.input, self.label = input, label
        self.chunk_scheme = chunk_scheme
        self.num_chunk_types = int(num_chunk_types)
        (self.num_tag_types, self.tag_begin, self.tag_inside, self.tag_end,
         self.tag_single) = self.SCHEMES[chunk_scheme]
        self.excluded_chunk_types = frozenset(int(t) for t in excluded_chunk_types or ())
        super().__init__(name, [input, label])

    # -- cutting one sequence of tag ids into chunks --------------------------------------
    def _is_chunk_end(self, prev_tag, prev_type, tag, type_):
        """Whether the chunk holding the previous row ends before this one."""
        other = self.num_chunk_types
        if prev_type == other:
            return False
        if type_ == other or type_ != prev_type:
            return True
        if prev_tag in (self.tag_begin, self.tag_inside):
            return tag in (self.tag_begin, self.tag_single)
        return prev_tag in (self.tag_end, self.tag_single)

    def _is_chunk_begin(self, prev_tag, prev_type, tag, type_):
        """Whether a chunk starts at this row."""
        other = self.num_chunk_types
        if prev_type == other:
            return type_ != other
        if type_ == other:
            return False
        if type_ != prev_type or tag == self.tag_begin:
            return True
        if tag in (self.tag_inside, self.tag_end):
            return prev_tag in (self.tag_end, self.tag_single)
        return tag == self.tag_single

    def chunks(self, ids):
        """The chunks of one sequence of tag ids: ``[(first row, last row, type)]``."""
        found = []
        start, in_chunk = 0, False
        tag, type_ = -1, self.num_chunk_types
        for i, label in enumerate(ids):
            prev_tag, prev_type = tag, type_
            tag, type_ = int(label) % self.num_tag_types, int(label) // self.num_tag_types
            if in_chunk and self._is_chunk_end(prev_tag, prev_type, tag, type_):
                found.append((start, i - 1, prev_type))
                in_chunk = False
            if self._is_chunk_begin(prev_tag, prev_type, tag, type_):
                start, in_chunk = i, True
        if in_chunk:
            found.append((start, len(ids) - 1, type_))
        return found

    # -- one batch ------------------------------------------------------------------------
    def _ids(self, outputs, layer, what):
        ids = outputs.get((layer.name, "ids"))
        if ids is None:
            ids = outputs[layer.name]
            if ids.dtype.kind not in "iu":
                raise ValueError(f"evaluator {self.name}: {what} {layer.name} gives "
                                 f"{ids.dtype} values, not tag ids; feed it the output of "
                                 "crf_decoding (or max_id, or integer_value_sequence data)")
        ids = np.asarray(ids).reshape(-1)
        highest = self.num_chunk_types * self.num_tag_types
        if ids.size and (ids.min() < 0 or ids.max() > highest):
            raise ValueError(f"evaluator {self.name}: {what} {layer.name} holds tag id "
                             f"{int(ids.min() if ids.min() < 0 else ids.max())}, outside [0, "
                             f"{highest}] ({self.num_chunk_types} chunk types x "
                             f"{self.num_tag_types} tags of {self.chunk_scheme}, then "
                             "'outside')")
        return ids

    def batch_stats(self, outputs):
        predicted = self._ids(outputs, self.input, "input")
        truth = self._ids(outputs, self.label, "label")
        layout = outputs.get((self.label.name, "seq"))
        if layout is None:
            raise ValueError(f"evaluator {self.name}: label {self.label.name} carries no "
                             "sequence layout; chunks are counted sequence by sequence")
        if len(predicted) != len(truth):
            raise ValueError(f"evaluator {self.name}: input {self.input.name} has "
                             f"{len(predicted)} tags, label {self.label.name} {len(truth)}")
        excluded = self.excluded_chunk_types
        num_label = num_output = num_correct = 0
        for i in range(layout.num_sequences):
            begin, end = int(layout.starts[i]), int(layout.starts[i + 1])
            output_chunks = self.chunks(predicted[begin:end])
            label_chunks = self.chunks(truth[begin:end])
            # both lists are ordered by last row: walk them together, as Paddle did
            o = t = 0
            while o < len(output_chunks) and t < len(label_chunks):
                out, true = output_chunks[o], label_chunks[t]
                if out == true and out[2] not in excluded:
                    num_correct += 1
                if out[1] < true[1]:
                    o += 1
                elif out[1] > true[1]:
                    t += 1
                else:
                    o, t = o + 1, t + 1
            # (``sum`` is the sum evaluator in this module)
            num_label += len([chunk for chunk in label_chunks if chunk[2] not in excluded])
            num_output += len([chunk for chunk in output_chunks if chunk[2] not in excluded])
        return [num_label, num_output, num_correct]

    @staticmethod
    def value(stats):
        """``{"F1-score", "precision", "recall"}`` of ``[true, predicted, correct]`` counts
        (in v2's order: the names sorted)."""
        num_label, num_output, num_correct = stats
        precision = num_correct / num_output if num_output else 0.0
        recall = num_correct / num_label if num_label else 0.0
        f1 = 2 * precision * recall / (precision + recall) if num_correct else 0.0
        return {"F1-score": float(f1), "precision": float(precision), "recall": float(recall)}

    def result(self):
        return self.value(self.stats if self.stats is not None else [0, 0, 0])


def host_outputs(outputs, evaluators):
    """What evaluators read of one batch: ``{layer name: NumPy array}`` of every layer they
    name, plus ``(name, "seq")``: its SequenceLayout (None for one row per sample), and
    ``(name, "ids")``: the ids a layer computes beside its value, where it does
    (``crf_decoding`` with a label)."""
    host = {}
    for evaluator in evaluators:
        for layer in evaluator.inputs:
            if layer.name not in host:
                tensor = outputs[layer.name]
                host[layer.name] = as_numpy(tensor.data)
                host[layer.name, "seq"] = tensor.seq
                if getattr(tensor, "ids", None) is not None:
                    host[layer.name, "ids"] = as_numpy(tensor.ids)
            if evaluator.reads_gradients and outputs[layer.name].grad is not None:
                host[layer.name, "grad"] = as_numpy(outputs[layer.name].grad)
    return host


def _declare(evaluator):
    declared.append(evaluator)
    return evaluator


def classification_error(input, label, name=None, weight=None, top_k=None, **_ignored):
    """Declare a classification error metric (``argmax(input) != label``)."""
    return _declare(ClassificationError(input, label, name, weight, top_k))


def sum(input, name=None, weight=None, **_ignored):  # noqa: A001 - Paddle's name
    return _declare(SumEvaluator(input, name, weight))


def auc(input, label, name=None, weight=None, **_ignored):
    return _declare(Auc(input, label, name, weight))


def precision_recall(input, label, positive_label=None, weight=None, name=None, **_ignored):
    return _declare(PrecisionRecall(input, label, name, weight, positive_label))


def chunk(input, label, chunk_scheme, num_chunk_types, name=None, excluded_chunk_types=None,
          **_ignored):
    """Declare a chunk evaluator (precision, recall and F1 of chunk detection; see
    :class:`Chunk`)."""
    return _declare(Chunk(input, label, chunk_scheme, num_chunk_types, name,
                          excluded_chunk_types))


classification_error_evaluator = classification_error
sum_evaluator = sum
auc_evaluator = auc
precision_recall_evaluator = precision_recall
chunk_evaluator = chunk

__all__ = ["Evaluator", "ClassificationError", "SumEvaluator", "Auc", "PrecisionRecall",
           "classification_error", "sum", "auc", "precision_recall",
           "classification_error_evaluator", "sum_evaluator", "auc_evaluator",
           "precision_recall_evaluator", "Chunk", "chunk", "chunk_evaluator",
           "host_outputs"]
