"""Cost layers: ``classification_cost``, ``cross_entropy_cost``, ``square_error_cost``.

Each outputs one cost per sample, ``(N, 1)``; the trainer sums them over the batch, so the
gradients are sums over the batch (Paddle's convention). Inputs are, in this order,
``[input, label]`` plus ``weight`` when given (a size-1 layer whose value multiplies each
sample's cost). ``coeff`` scales the gradient only, as Paddle's ``CostLayer`` did; the
reported cost is not scaled (see ``minidl.functions.cost``).
"""

import numbers

from .activations import Softmax
from ..functions.basic import reshape
from ..functions.cost import cross_entropy, square_error
from .data import DataLayer
from .base import Layer, default_name

CLASSIFICATION_ERROR = "classification_error_evaluator"


def _one_layer(value, what, layer_name):
    if not isinstance(value, Layer):
        raise ValueError(f"layer {layer_name}: {what} must be a layer, got {value!r}")
    return value


def _flat(x):
    n = x.shape[0]
    return reshape(x, (n, x.data.size // n))


class CostLayer(Layer):
    """A per-sample cost; subclasses compute it in ``forward``."""

    type = "cost"

    def __init__(self, name, input, label, weight, coeff, layer_attr):
        input = _one_layer(input, "input", name)
        label = _one_layer(label, "label", name)
        inputs = [input, label]
        if weight is not None:
            weight = _one_layer(weight, "weight", name)
            if weight.size != 1:
                raise ValueError(f"layer {name}: weight layer {weight.name} must have size 1 "
                                 f"(one weight per sample), got size {weight.size}")
            inputs.append(weight)
        if isinstance(coeff, bool) or not isinstance(coeff, numbers.Real):
            raise ValueError(f"layer {name}: coeff={coeff!r} must be a number")
        super().__init__(name, inputs, 1, layer_attr=layer_attr)
        self.coeff = float(coeff)
        #: metric names the trainer computes along with this cost
        self.evaluators = []

    def _weight(self, xs):
        return reshape(xs[2], (xs[2].shape[0], 1)) if len(xs) > 2 else None

    def _labels(self, label, classes):
        """Integer labels ``(N,)`` or ``(N, 1)`` -> ``(N,)`` int64, checked against ``classes``."""
        xp = label.xp
        ids = label.data.reshape(-1)
        if ids.dtype.kind not in "iu":
            raise ValueError(f"layer {self.name}: labels must be integers (an integer_value "
                             f"data layer), got dtype {ids.dtype}")
        if ids.size and (int(ids.min()) < 0 or int(ids.max()) >= classes):
            raise ValueError(f"layer {self.name}: label values must be in [0, {classes}), got "
                             f"min {int(ids.min())}, max {int(ids.max())}")
        return ids.astype(xp.int64, copy=False)


class MultiClassCrossEntropyLayer(CostLayer):
    """``cost = -log(p[label])`` on the input's values, taken as probabilities."""

    type = "multi-class-cross-entropy"

    def forward(self, ctx, xs):
        prob = _flat(xs[0])
        labels = self._labels(xs[1], prob.shape[1])
        return cross_entropy(prob, labels, self._weight(xs), self.coeff)


def _evaluator_names(evaluator, input, label, weight, layer_name):
    """Paddle's ``evaluator=`` argument -> metric names; other evaluators are declared."""
    if evaluator is None:
        return [CLASSIFICATION_ERROR]
    names = []
    for each in evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]:
        if isinstance(each, str):
            name = each
        elif callable(each):
            name = getattr(each, "__name__", "")
        else:
            raise ValueError(f"layer {layer_name}: evaluator {each!r} must be an evaluator "
                             "function (e.g. paddle.evaluator.classification_error) or its name")
        if not name.endswith("_evaluator"):
            name += "_evaluator"
        if name != CLASSIFICATION_ERROR:
            if not callable(each):
                raise ValueError(f"layer {layer_name}: unknown evaluator name {each!r}; pass "
                                 "the evaluator function instead")
            each(input=input, label=label, weight=weight, name=name)  # declares it
        names.append(name)
    return names


def classification_cost(input, label, weight=None, name=None, evaluator=None, layer_attr=None,
                        coeff=1.0):
    """Cross-entropy of a Softmax output against integer labels, plus its error metric.

    As Paddle asserted: ``input`` must be a computed layer whose activation is Softmax, and
    ``label`` a data layer. ``evaluator`` defaults to the classification error, reported as
    ``classification_error_evaluator``.
    """
    name = name or default_name("cost")
    _one_layer(input, "input", name)
    if isinstance(input, DataLayer) or not isinstance(input.act, Softmax):
        what = "a data layer" if isinstance(input, DataLayer) else f"activation {input.act!r}"
        raise ValueError(f"layer {name}: classification_cost needs an input with a Softmax "
                         f"activation; {input.name} has {what}")
    if not isinstance(label, DataLayer) or label.input_type.kind != "index":
        raise ValueError(f"layer {name}: classification_cost label must be an integer_value "
                         f"data layer, got {label!r}")
    layer = MultiClassCrossEntropyLayer(name, input, label, weight, coeff, layer_attr)
    layer.evaluators = _evaluator_names(evaluator, input, label, weight, name)
    return layer


def cross_entropy_cost(input, label, name=None, coeff=1.0, weight=None, layer_attr=None):
    """Multi-class cross-entropy ``-log(input[label])``; ``input`` holds probabilities."""
    name = name or default_name("cross_entropy")
    return MultiClassCrossEntropyLayer(name, input, label, weight, coeff, layer_attr)


class SquareErrorLayer(CostLayer):
    """``cost = sum_j (input_j - label_j)^2`` per sample (no 1/2)."""

    type = "square_error"

    def __init__(self, name, input, label, weight, coeff, layer_attr):
        super().__init__(name, input, label, weight, coeff, layer_attr)
        if isinstance(label, DataLayer) and label.input_type.kind != "dense":
            raise ValueError(f"layer {name}: the label of square_error_cost must be a "
                             f"dense_vector data layer, {label.name} is {label.input_type!r}")
        if label.size != input.size:
            raise ValueError(f"layer {name}: label {label.name} has size {label.size} but "
                             f"input {input.name} has size {input.size}; they must be equal")

    def forward(self, ctx, xs):
        label = xs[1]
        if label.dtype.kind not in "f":
            raise ValueError(f"layer {self.name}: the label of square_error_cost must be a "
                             f"dense_vector, got dtype {label.dtype}")
        return square_error(_flat(xs[0]), _flat(label), self._weight(xs), self.coeff)


def square_error_cost(input, label, weight=None, name=None, coeff=1.0, layer_attr=None):
    return SquareErrorLayer(name or default_name("square_error_cost"), input, label, weight,
                            coeff, layer_attr)


regression_cost = square_error_cost
