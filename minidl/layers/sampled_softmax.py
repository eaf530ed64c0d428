"""Costs over many classes that score only a few of them per row, as v2's ``hsigmoid`` and
``nce`` layers.

Both take one or more dense ``input`` layers (one weight each, summed as in ``fc``), a
``label`` data layer, and a bias; both output one cost per row, ``(N, 1)``.

* ``hsigmoid``: the classes are the leaves of v2's binary tree; a row's cost is minus the
  log-probability of the path to its label (``backends/numpy_ref/hsigmoid.py``). Weights
  ``(num_classes - 1, input size)``, one row per inner node; bias ``(1, num_classes - 1)``.
* ``nce``: noise-contrastive estimation against ``num_neg_samples`` noise classes drawn per
  row from ``neg_distribution`` (uniform by default) (``backends/numpy_ref/nce.py``). Weights
  ``(num_classes, input size)``; bias ``(1, num_classes)``. As in v2 the noise is drawn
  afresh at every forward pass, testing and inference included: the value is a sampled
  estimate, not a normalised likelihood. The draws use the run's random state; ``sampler``
  (minidl's own argument) replaces the draw: ``sampler(rng, count) -> count class ids``.
"""

import math

import numpy as np

from ..backends import kernel
from ..core.sparse_rows import SparseRows
from ..core.xp import as_numpy
from ..functions.basic import add, reshape
from ..functions.sampled_softmax import hsigmoid_cost, nce_cost, picked_bias, picked_row_scores
from .base import as_layer_list, as_param_attr, default_name
from .cost import CostLayer
from .cost_extra import init_cost
from .data import DataLayer
from .projections import describe_input
from .sequence import check_dense, rows


def _check_inputs(inputs, param_attr, name, layer_type):
    attrs = list(param_attr) if isinstance(param_attr, (list, tuple)) \
        else [param_attr] * len(inputs)
    if len(attrs) != len(inputs):
        raise ValueError(f"layer {name}: {len(attrs)} param_attr for {len(inputs)} inputs")
    for parent in inputs:
        check_dense(parent, name, layer_type)
        if parent.sparse_output:
            raise ValueError(f"layer {name} ({layer_type}): input {describe_input(parent)} must "
                             "be dense (feed sparse rows through an fc layer first)")
    return attrs


def _num_classes(num_classes, label, name, minimum):
    if num_classes is None:
        num_classes = label.size
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or \
            num_classes < minimum:
        raise ValueError(f"layer {name}: num_classes={num_classes!r} must be an integer >= "
                         f"{minimum}")
    if label.size != num_classes:
        raise ValueError(f"layer {name}: label {describe_input(label)} has {label.size} "
                         f"classes but num_classes={num_classes}; they must be equal")
    return num_classes


def _add_params(layer, inputs, attrs, rows_per_input, bias_attr):
    """One weight ``(rows_per_input, input size)`` per input, then the bias
    ``(1, rows_per_input)`` unless ``bias_attr`` is False. v2's initial std is
    ``1 / sqrt(dims[0])``."""
    for i, (parent, attr) in enumerate(zip(inputs, attrs)):
        layer.add_param(f"w{i}", (rows_per_input, parent.size),
                        as_param_attr(attr, f"{layer.name} param_attr"),
                        default_std=1.0 / math.sqrt(rows_per_input))
    layer.bias = None
    if bias_attr is not False:
        layer.bias = layer.add_param("wbias", (1, rows_per_input),
                                     as_param_attr(bias_attr, f"{layer.name} bias_attr"),
                                     is_bias=True)


def _class_ids(layer, label, num_classes):
    """A label Tensor of ids as ``(N,)`` int64, checked to lie in ``[0, num_classes)``."""
    ids = label.data.reshape(-1)
    if ids.dtype.kind not in "iu":
        raise ValueError(f"layer {layer.name} ({layer.type}): labels must be class ids, got "
                         f"dtype {ids.dtype}")
    host = as_numpy(ids)
    if host.size and (host.min() < 0 or host.max() >= num_classes):
        raise ValueError(f"layer {layer.name} ({layer.type}): label values must be in "
                         f"[0, {num_classes}), got min {host.min()}, max {host.max()}")
    return ids.astype(label.xp.int64, copy=False)


def _scores(layer, ctx, xs, index, sample_rows=None, mask=None):
    """The summed scores of the chosen weight rows over the layer's inputs, plus the bias."""
    z = None
    for x, spec in zip(xs, layer.weight_specs):
        term = picked_row_scores(rows(x, layer), ctx.param(spec), index, sample_rows, mask)
        z = term if z is None else add(z, term)
    if layer.bias is not None:
        z = add(z, picked_bias(ctx.param(layer.bias), index, mask))
    return z


class HSigmoidLayer(CostLayer):
    """v2's ``hsigmoid``: inputs ``[input_1, ..., input_n, label]``."""

    type = "hsigmoid"

    def __init__(self, input, label, num_classes, name, bias_attr, param_attr, layer_attr):
        inputs = as_layer_list(input, name)
        attrs = _check_inputs(inputs, param_attr, name, self.type)
        if not isinstance(label, DataLayer) or label.input_type.kind != "index":
            raise ValueError(f"layer {name} (hsigmoid): the label must be an integer_value data "
                             f"layer, got {label!r}")
        self.num_classes = _num_classes(num_classes, label, name, 3)
        init_cost(self, name, inputs + [label], 1.0, layer_attr)
        _add_params(self, inputs, attrs, self.num_classes - 1, bias_attr)
        self.weight_specs = self.params[:len(inputs)]

    def forward(self, ctx, xs):
        labels = _class_ids(self, xs[-1], self.num_classes)
        index, bits, mask = kernel("hsigmoid_codes")(labels, self.num_classes)
        z = _scores(self, ctx, xs[:-1], index, mask=mask)
        return hsigmoid_cost(z, bits, mask)


def hsigmoid(input, label, num_classes=None, name=None, bias_attr=None, param_attr=None,
             layer_attr=None):
    """v2's ``paddle.layer.hsigmoid``: hierarchical sigmoid cost of ``label`` (an
    integer_value data layer of ``num_classes`` classes, at least 3)."""
    name = name or default_name("hsigmoid")
    return HSigmoidLayer(input, label, num_classes, name, bias_attr, param_attr, layer_attr)


class NoiseSampler:
    """Draws noise classes: uniform over ``[0, num_classes)``, or from ``distribution``."""

    def __init__(self, num_classes, distribution=None):
        self.num_classes = num_classes
        self.distribution = None if distribution is None else np.asarray(distribution, float)

    def __call__(self, rng, count):
        return rng.choice(self.num_classes, size=count, p=self.distribution).astype(np.int64)


class NCELayer(CostLayer):
    """v2's ``nce``: inputs ``[input_1, ..., input_n, label]`` plus ``weight``."""

    type = "nce"
    accepts_sparse = True    # a multi-label label; the inputs are checked to be dense

    def __init__(self, input, label, num_classes, param_attr, weight, num_neg_samples,
                 neg_distribution, name, bias_attr, layer_attr, sampler):
        inputs = as_layer_list(input, name)
        attrs = _check_inputs(inputs, param_attr, name, self.type)
        if not isinstance(label, DataLayer) or label.input_type.kind not in ("index",
                                                                             "sparse_binary"):
            raise ValueError(f"layer {name} (nce): the label must be an integer_value or "
                             f"sparse_binary_vector data layer, got {label!r}")
        self.num_classes = _num_classes(num_classes, label, name, 2)
        if isinstance(num_neg_samples, bool) or not isinstance(num_neg_samples, int) or \
                num_neg_samples < 1:
            raise ValueError(f"layer {name}: num_neg_samples={num_neg_samples!r} must be a "
                             "positive integer")
        self.num_neg_samples = num_neg_samples
        self.noise_probs = self._check_distribution(neg_distribution, name)
        extra = []
        if weight is not None:
            if not isinstance(weight, DataLayer) or weight.size != 1:
                raise ValueError(f"layer {name} (nce): weight must be a data layer of size 1 "
                                 f"(one weight per row), got {weight!r}")
            extra = [weight]
        if sampler is not None and not callable(sampler):
            raise ValueError(f"layer {name}: sampler={sampler!r} must be callable")
        init_cost(self, name, inputs + [label] + extra, 1.0, layer_attr)
        self.num_inputs = len(inputs)
        self.sampler = sampler or NoiseSampler(self.num_classes, neg_distribution)
        _add_params(self, inputs, attrs, self.num_classes, bias_attr)
        self.weight_specs = self.params[:len(inputs)]

    def _check_distribution(self, dist, name):
        if dist is None:
            return np.full(self.num_classes, 1.0 / self.num_classes)
        probs = np.asarray(dist, dtype=float)
        if probs.shape != (self.num_classes,) or (probs < 0).any() or \
                abs(probs.sum() - 1.0) >= 1e-5:
            raise ValueError(f"layer {name}: neg_distribution must hold num_classes="
                             f"{self.num_classes} non-negative probabilities summing to 1, "
                             f"got {dist!r}")
        return probs

    def _true_samples(self, label):
        """``(rows, classes)`` of the true classes: one per row, or a multi-label row's
        every class."""
        if isinstance(label.data, SparseRows):
            return label.data.row_of_entries(), label.data.indices
        ids = as_numpy(_class_ids(self, label, self.num_classes))
        return np.arange(len(ids)), ids

    def forward(self, ctx, xs):
        num_rows = xs[0].shape[0]
        true_rows, true_classes = self._true_samples(xs[self.num_inputs])
        rng = ctx.rng if ctx.rng is not None else np.random.default_rng()
        noise_rows = np.repeat(np.arange(num_rows), self.num_neg_samples)
        noise_classes = np.asarray(self.sampler(rng, len(noise_rows)), dtype=np.int64)
        if noise_classes.shape != noise_rows.shape or (noise_classes < 0).any() or \
                (noise_classes >= self.num_classes).any():
            raise ValueError(f"layer {self.name} (nce): the sampler must return "
                             f"{len(noise_rows)} class ids in [0, {self.num_classes})")
        sample_rows = np.concatenate([true_rows, noise_rows])
        classes = np.concatenate([true_classes, noise_classes])
        is_true = np.arange(len(classes)) < len(true_rows)
        noise = self.num_neg_samples * self.noise_probs[classes]
        # the samples live where the inputs do
        xp = xs[0].xp
        sample_rows, classes = xp.asarray(sample_rows), xp.asarray(classes)
        is_true, noise = xp.asarray(is_true), xp.asarray(noise)
        z = _scores(self, ctx, xs[:self.num_inputs], classes, sample_rows)
        weight = xs[-1] if len(xs) > self.num_inputs + 1 else None
        if weight is not None:
            weight = reshape(weight, (weight.shape[0], 1))
        return nce_cost(z, is_true, noise, sample_rows, num_rows, weight)


def nce(input, label, num_classes=None, param_attr=None, weight=None, num_neg_samples=10,
        neg_distribution=None, name=None, bias_attr=None, layer_attr=None, sampler=None):
    """v2's ``paddle.layer.nce``: noise-contrastive estimation of ``label`` (class ids, or a
    sparse_binary_vector of several true classes) among ``num_classes``."""
    name = name or default_name("nce_layer")
    return NCELayer(input, label, num_classes, param_attr, weight, num_neg_samples,
                    neg_distribution, name, bias_attr, layer_attr, sampler)
