"""More cost layers, as v2's: ``cross_entropy_with_selfnorm_cost``,
``multi_binary_label_cross_entropy_cost``, ``rank_cost``, ``lambda_cost`` and ``sum_cost``.

Each outputs one value per row, ``(N, 1)`` (on sequences one per timestep, in the inputs'
layout); the trainer sums them. ``coeff`` scales the gradient only, as for every cost
(``minidl.layers.cost``).
"""

import numbers

from ..core.sparse_rows import SparseRows
from ..functions.basic import reshape
from ..functions.cost_extra import (lambda_cost as lambda_function, multi_binary_cross_entropy,
                                    rank_cost as rank_function, selfnorm_cross_entropy,
                                    sum_cost as sum_function)
from .base import SEQUENCE_LEVELS, Layer, default_name
from .cost import CostLayer
from .data import DataLayer
from .projections import describe_input, gives_ids
from .sequence import check_dense, rows


def _number(value, what, layer_name, minimum=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or (
            minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"layer {layer_name}: {what}={value!r} must be a number{bound}")
    return float(value)


def _size_one(parent, what, layer_name):
    if not isinstance(parent, Layer):
        raise ValueError(f"layer {layer_name}: {what} must be a layer, got {parent!r}")
    if parent.size != 1:
        raise ValueError(f"layer {layer_name}: {what} {describe_input(parent)} must have "
                         f"size 1 (one value per row), got size {parent.size}")
    return parent


def init_cost(layer, name, inputs, coeff, layer_attr):
    """Set up a CostLayer whose inputs are not ``[input, label, weight]`` (so it skips
    CostLayer's own constructor): one value per row, ``coeff`` checked and kept."""
    if isinstance(coeff, bool) or not isinstance(coeff, numbers.Real):
        raise ValueError(f"layer {name}: coeff={coeff!r} must be a number")
    Layer.__init__(layer, name, inputs, 1, layer_attr=layer_attr)
    layer.coeff = float(coeff)
    layer.evaluators = []


# --- cross-entropies ------------------------------------------------------------------------

class SelfNormCrossEntropyLayer(CostLayer):
    """``-log(input[label] / Z) + alpha log(Z)^2``, ``Z`` the row sum of ``input``."""

    type = "multi_class_cross_entropy_with_selfnorm"

    def __init__(self, input, label, name, coeff, alpha, layer_attr):
        super().__init__(name, input, label, None, coeff, layer_attr)
        check_dense(input, name, self.type)
        if not gives_ids(label):
            raise ValueError(f"layer {name}: the label must be integer class ids "
                             f"(integer_value({input.size})), {describe_input(label)} is not")
        if isinstance(label, DataLayer) and label.size != input.size:
            raise ValueError(f"layer {name}: label {label.name} holds ids in [0, {label.size}) "
                             f"but input {input.name} has {input.size} classes; they must be "
                             "equal")
        self.alpha = _number(alpha, "softmax_selfnorm_alpha", name)

    def forward(self, ctx, xs):
        out = rows(xs[0], self)
        return selfnorm_cross_entropy(out, self._labels(xs[1], out.shape[1]), self.alpha,
                                      self.coeff)


def cross_entropy_with_selfnorm_cost(input, label, name=None, coeff=1.0,
                                     softmax_selfnorm_alpha=0.1, layer_attr=None):
    """v2's cross-entropy for positive, unnormalised scores, with a penalty on the log of
    their sum (self-normalisation)."""
    name = name or default_name("cross_entropy_with_selfnorm")
    return SelfNormCrossEntropyLayer(input, label, name, coeff, softmax_selfnorm_alpha,
                                     layer_attr)


_BINARY_LABEL_KINDS = ("sparse_binary", "dense", "index")


class MultiBinaryLabelCrossEntropyLayer(CostLayer):
    """Independent binary cross-entropies of the ``K`` outputs against a set of labels."""

    type = "multi_binary_label_cross_entropy"
    accepts_sparse = True    # the label; the input is checked to be dense

    def __init__(self, input, label, name, coeff, layer_attr):
        super().__init__(name, input, label, None, coeff, layer_attr)
        check_dense(input, name, self.type)
        if input.sparse_output:
            raise ValueError(f"layer {name}: input {describe_input(input)} must be dense "
                             "probabilities (e.g. an fc layer with a Sigmoid activation)")
        kind = label.input_type.kind if isinstance(label, DataLayer) else "dense"
        if kind not in _BINARY_LABEL_KINDS:
            raise ValueError(f"layer {name}: the label must be a sparse_binary_vector"
                             f"({input.size}) data layer (the indices of the true labels), "
                             f"{describe_input(label)} is not")
        if label.size != input.size:
            raise ValueError(f"layer {name}: label {describe_input(label)} has size "
                             f"{label.size} but input {input.name} has size {input.size}; "
                             "they must be equal")

    def _targets(self, label, width, dtype):
        """The label as ``(N, width)`` 0/1 values."""
        if isinstance(label.data, SparseRows):
            return label.data.to_dense(dtype)
        xp = label.xp
        if label.dtype.kind in "iu":   # one class id per row: one-hot
            ids = self._labels(label, width)
            return xp.eye(width, dtype=dtype)[ids]
        return label.data.reshape(label.shape[0], width).astype(dtype, copy=False)

    def forward(self, ctx, xs):
        prob = rows(xs[0], self)
        target = self._targets(xs[1], prob.shape[1], prob.dtype)
        return multi_binary_cross_entropy(prob, target, self.coeff)


def multi_binary_label_cross_entropy_cost(input, label, name=None, coeff=1.0, layer_attr=None):
    """v2's cross-entropy of ``K`` independent yes/no outputs (e.g. Sigmoid) against the set
    of true labels of each row (a sparse_binary_vector)."""
    name = name or default_name("multi_binary_label_cross_entropy")
    return MultiBinaryLabelCrossEntropyLayer(input, label, name, coeff, layer_attr)


# --- ranking --------------------------------------------------------------------------------

class RankCostLayer(CostLayer):
    """RankNet's pairwise cost; inputs ``[left, right, label]`` plus ``weight``."""

    type = "rank-cost"

    def __init__(self, left, right, label, weight, name, coeff, layer_attr):
        inputs = [_size_one(left, "left", name), _size_one(right, "right", name),
                  _size_one(label, "label", name)]
        if weight is not None:
            inputs.append(_size_one(weight, "weight", name))
        for parent in inputs[:2] + inputs[3:]:    # the label may be ids 0 / 1
            check_dense(parent, name, self.type)
        init_cost(self, name, inputs, coeff, layer_attr)

    def forward(self, ctx, xs):
        left, right = rows(xs[0], self, "left"), rows(xs[1], self, "right")
        label = xs[2].data.reshape(-1).astype(left.dtype)
        if label.size and (float(label.min()) < 0 or float(label.max()) > 1):
            raise ValueError(f"layer {self.name}: rank labels are the probability that left "
                             f"ranks above right, in [0, 1]; got min {float(label.min())}, "
                             f"max {float(label.max())}")
        weight = reshape(xs[3], (xs[3].shape[0], 1)) if len(xs) > 3 else None
        return rank_function(left, right, label, weight, self.coeff)


def rank_cost(left, right, label, weight=None, name=None, coeff=1.0, layer_attr=None):
    """v2's pairwise ranking cost: ``left`` and ``right`` score two items (size 1 each),
    ``label`` is 1 when left should rank above right, 0 when below (0.5: either)."""
    name = name or default_name("rank_cost")
    return RankCostLayer(left, right, label, weight, name, coeff, layer_attr)


class LambdaCostLayer(CostLayer):
    """LambdaRank over the lists (sequences) of a batch: inputs ``[input, score]``."""

    type = "lambda_cost"

    def __init__(self, input, score, name, ndcg_num, max_sort_size, layer_attr):
        inputs = [_size_one(input, "input", name), _size_one(score, "score", name)]
        for parent, what in zip(inputs, ("input", "score")):
            check_dense(parent, name, self.type)
            if parent.seq_level != 1:
                raise ValueError(f"layer {name} (lambda_cost): its {what} {parent.name} is a "
                                 f"{SEQUENCE_LEVELS[parent.seq_level]}; each list to rank "
                                 "must be a sequence (e.g. dense_vector_sequence(1))")
        if isinstance(ndcg_num, bool) or not isinstance(ndcg_num, int) or ndcg_num < 1:
            raise ValueError(f"layer {name}: NDCG_num={ndcg_num!r} must be a positive integer")
        if isinstance(max_sort_size, bool) or not isinstance(max_sort_size, int) or (
                max_sort_size != -1 and max_sort_size < ndcg_num):
            raise ValueError(f"layer {name}: max_sort_size={max_sort_size!r} must be -1 (sort "
                             f"whole lists) or an integer >= NDCG_num={ndcg_num}")
        init_cost(self, name, inputs, 1.0, layer_attr)
        self.ndcg_num, self.max_sort_size = ndcg_num, max_sort_size

    def forward(self, ctx, xs):
        output, score = rows(xs[0], self), rows(xs[1], self, "score")
        layout = xs[0].seq
        if layout is None:
            raise ValueError(f"layer {self.name} (lambda_cost): its input carries no sequence "
                             "layout (feed it through paddle's feeder)")
        short = [int(n) for n in layout.lengths if n < self.ndcg_num]
        if short:
            raise ValueError(f"layer {self.name} (lambda_cost): lists of {short} items are "
                             f"shorter than NDCG_num={self.ndcg_num}")
        return lambda_function(output, score.data.reshape(-1), layout.starts, self.ndcg_num,
                               self.max_sort_size)


def lambda_cost(input, score, name=None, NDCG_num=5, max_sort_size=-1, layer_attr=None):  # noqa: N803
    """v2's LambdaRank cost: ``input`` the model's score of each item and ``score`` its true
    relevance, one list per sequence. The output is each list's NDCG@``NDCG_num`` (on every
    row of the list); training follows LambdaRank's gradient."""
    name = name or default_name("lambda_cost")
    return LambdaCostLayer(input, score, name, NDCG_num, max_sort_size, layer_attr)


# --- sum ------------------------------------------------------------------------------------

class SumCostLayer(CostLayer):
    """The sum of the input's row as the cost."""

    type = "sum_cost"

    def __init__(self, input, name, layer_attr):
        if not isinstance(input, Layer):
            raise ValueError(f"layer {name}: input must be a layer, got {input!r}")
        check_dense(input, name, self.type)
        init_cost(self, name, [input], 1.0, layer_attr)

    def forward(self, ctx, xs):
        return sum_function(rows(xs[0], self))


def sum_cost(input, name=None, layer_attr=None):
    """v2's ``sum_cost``: the sum of each row of ``input`` is its cost."""
    return SumCostLayer(input, name or default_name("sum_cost"), layer_attr)
