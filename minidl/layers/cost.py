"""Cost layers: ``classification_cost``, ``cross_entropy_cost``, ``square_error_cost``,
``huber_regression_cost``, ``huber_classification_cost``, ``smooth_l1_cost``.

Each outputs one cost per sample, ``(N, 1)``; the trainer sums them over the batch, so the
gradients are sums over the batch (Paddle's convention). On sequences a cost acts on each
timestep: input and label share one layout and the output holds one cost per row (the
trainer sums all rows and divides by the number of samples). Inputs are, in this order,
``[input, label]`` plus ``weight`` when given (a size-1 layer whose value multiplies each
sample's cost). ``coeff`` scales the gradient only, as Paddle's ``CostLayer`` did; the
reported cost is not scaled (see ``minidl.functions.cost``).
"""

import numbers

from .activations import Softmax
from ..functions.basic import reshape
from ..functions.cost import cross_entropy, square_error
from ..functions.robust_cost import huber_classification, huber_regression, smooth_l1
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


# --- regression costs: the checks of their label, square error -----------------------------

def _dense_label(layer_name, label, input, what):
    """The label of a regression-type cost: a dense vector of the input's size."""
    if isinstance(label, DataLayer) and label.input_type.kind != "dense":
        raise ValueError(f"layer {layer_name}: the label of {what} must be a dense_vector data "
                         f"layer, {label.name} is {label.input_type!r}")
    if label.size != input.size:
        raise ValueError(f"layer {layer_name}: label {label.name} has size {label.size} but "
                         f"input {input.name} has size {input.size}; they must be equal")


def _float_label(layer, label):
    if label.dtype.kind != "f":
        raise ValueError(f"layer {layer.name}: the label of {layer.type} must be a dense "
                         f"vector, got dtype {label.dtype}")
    return _flat(label)


class SquareErrorLayer(CostLayer):
    """``cost = sum_j (input_j - label_j)^2`` per sample (no 1/2)."""

    type = "square_error"

    def __init__(self, name, input, label, weight, coeff, layer_attr):
        super().__init__(name, input, label, weight, coeff, layer_attr)
        _dense_label(name, label, input, "square_error_cost")

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


# --- robust costs: Huber regression, modified-Huber classification, smooth L1 --------------

class HuberRegressionLayer(CostLayer):
    """``cost = sum_j h(label_j - input_j)`` per row, ``h(a) = a^2 / 2`` for ``|a| <= delta``,
    else ``delta (|a| - delta / 2)`` (Paddle's ``huber_regression``)."""

    type = "huber_regression"

    def __init__(self, name, input, label, delta, coeff, layer_attr):
        super().__init__(name, input, label, None, coeff, layer_attr)
        _dense_label(name, label, input, "huber_regression_cost")
        if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not delta > 0:
            raise ValueError(f"layer {name}: delta={delta!r} must be a positive number")
        self.delta = float(delta)

    def forward(self, ctx, xs):
        return huber_regression(_flat(xs[0]), _float_label(self, xs[1]), self.delta, self.coeff)


def huber_regression_cost(input, label, name=None, delta=1.0, coeff=1.0, layer_attr=None):
    """Huber loss for robust regression; ``label`` a dense vector of ``input``'s size."""
    return HuberRegressionLayer(name or default_name("huber_regression_cost"), input, label,
                                delta, coeff, layer_attr)


class HuberClassificationLayer(CostLayer):
    """Modified Huber loss of a score against a 0/1 label (Paddle's ``huber_classification``):
    with ``y = 2 label - 1`` and ``a = y * input``, ``cost = -4a`` for ``a < -1``,
    ``(1 - a)^2`` for ``a < 1``, else 0."""

    type = "huber_classification"

    def __init__(self, name, input, label, coeff, layer_attr):
        super().__init__(name, input, label, None, coeff, layer_attr)
        if input.size != 1:
            raise ValueError(f"layer {name}: huber_classification_cost takes one score per row; "
                             f"input {input.name} has size {input.size}, expected 1")
        if isinstance(label, DataLayer) and label.input_type.kind != "index":
            raise ValueError(f"layer {name}: the label of huber_classification_cost must be an "
                             f"integer_value data layer (0 or 1), {label.name} is "
                             f"{label.input_type!r}")

    def forward(self, ctx, xs):
        return huber_classification(_flat(xs[0]), self._labels(xs[1], 2), self.coeff)


def huber_classification_cost(input, label, name=None, coeff=1.0, layer_attr=None):
    """Modified Huber loss for two-class classification; ``input`` of size 1 (a score),
    ``label`` integer ids 0 or 1."""
    return HuberClassificationLayer(name or default_name("huber_classification_cost"), input,
                                    label, coeff, layer_attr)


class SmoothL1Layer(CostLayer):
    """``cost = sum_j s(input_j - label_j)`` per row, ``s(x) = x^2 / 2`` for ``|x| < 1``, else
    ``|x| - 1/2`` (Paddle's ``smooth_l1``)."""

    type = "smooth_l1"

    def __init__(self, name, input, label, coeff, layer_attr):
        super().__init__(name, input, label, None, coeff, layer_attr)
        _dense_label(name, label, input, "smooth_l1_cost")

    def forward(self, ctx, xs):
        return smooth_l1(_flat(xs[0]), _float_label(self, xs[1]), self.coeff)


def smooth_l1_cost(input, label, name=None, coeff=1.0, layer_attr=None):
    """Smooth L1 loss (Fast R-CNN); ``label`` a dense vector of ``input``'s size."""
    return SmoothL1Layer(name or default_name("smooth_l1_cost"), input, label, coeff,
                         layer_attr)
