"""A convolution and the batch norm reading it, folded into one kernel at inference
(``conv2d_batch_norm_act``, ``minidl/layers/batch_norm_folding.py``).

The cpu kernel is checked against the reference on drawn cases by ``test_kernel_registry``
(``kernel_cases.py``); here: the reference against naive loops, each cpu path at sizes that
cut the work across threads, which pairs a network folds, and that inference gives what the
unfolded forward gives."""

import numpy as np
import pytest

import minidl as paddle
from minidl.backends import accelerated_kernel, current_backend, get_kernel, set_backend
from minidl.core import no_grad
from minidl.layers import batch_norm_folding
from minidl.layers.attrs import ExtraAttr
from minidl.layers.graph import Network, RunContext

from conftest import BACKENDS_PRESENT
from test_conv import naive_conv

OP = "conv2d_batch_norm_act"
needs_cpu = pytest.mark.skipif("cpu" not in BACKENDS_PRESENT, reason="Numba is not installed")


def statistics(rng, filters, dtype=np.float32):
    """``bias, gamma, beta, mean, var`` of ``filters`` channels (one variance negative:
    batch norm clips it to 0)."""
    bias, gamma, beta, mean = (rng.standard_normal(filters).astype(dtype) for _ in range(4))
    var = rng.uniform(0.2, 2.0, filters).astype(dtype)
    var[0] = -0.05
    return bias, gamma, beta, mean, var


def naive(x, w, bias, gamma, beta, mean, var, eps, relu, stride, padding, dilation, groups):
    """The definition spelled out in float64 loops: convolution, bias, batch norm, ReLU."""
    y = naive_conv(x.astype(np.float64), w.astype(np.float64), stride, padding, dilation,
                   groups)

    def per_channel(v):
        return np.zeros(y.shape[1]) if v is None else v.astype(np.float64)

    y = y + per_channel(bias)[None, :, None, None]
    y = (y - mean[None, :, None, None]) / np.sqrt(np.maximum(var, 0) + eps)[None, :, None, None]
    y = y * gamma[None, :, None, None] + per_channel(beta)[None, :, None, None]
    return np.maximum(y, 0) if relu else y


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("geometry", [((1, 1), (0, 0), (1, 1), 1), ((2, 1), (1, 2), (1, 2), 2),
                                      ((1, 1), (1, 1), (1, 1), 4)])
def test_reference_is_conv_bias_batch_norm_and_relu(rng, relu, geometry):
    stride, padding, dilation, groups = geometry
    x = rng.standard_normal((2, 4, 6, 5)).astype(np.float32)
    w = rng.standard_normal((8, 4 // groups, 3, 3)).astype(np.float32)
    bias, gamma, beta, mean, var = statistics(rng, 8)
    for b, bt in ((bias, beta), (None, None)):
        args = (x, w, b, gamma, bt, mean, var, 1e-5, relu) + geometry
        np.testing.assert_allclose(get_kernel(OP, "numpy")(*args), naive(*args), rtol=1e-4,
                                   atol=1e-4)


#: each path of the cpu kernel at a size cut across threads: pointwise (a GEMM per image,
#: cut along its pixels or its filters),
#: depthwise at batch 1 (stride 1: same padding; stride 2: the phase grid) and batch 8 (the
#: eight-lane kernels), 3x3 convolutions one image at a time (batch 1, or large images:
#: a GEMM per image and group on im2col's columns), and small images at batch 3 (one GEMM
#: for the whole batch, then one pass)
CPU_PATHS = {
    "pointwise": ((1, 32, 40, 40), (64, 32, 1, 1), (1, 1), (0, 0), 1),
    "pointwise, batch 3": ((3, 48, 14, 14), (96, 48, 1, 1), (1, 1), (0, 0), 1),
    "pointwise, more filters than pixels": ((1, 256, 7, 7), (512, 256, 1, 1), (1, 1), (0, 0),
                                            1),
    "depthwise same": ((1, 32, 56, 56), (32, 1, 3, 3), (1, 1), (1, 1), 32),
    "depthwise stride 2": ((1, 16, 30, 30), (32, 1, 3, 3), (2, 2), (1, 1), 16),
    "depthwise lanes": ((8, 16, 28, 28), (16, 1, 3, 3), (1, 1), (1, 1), 16),
    "3x3 at batch 1": ((1, 3, 64, 64), (32, 3, 3, 3), (2, 2), (1, 1), 1),
    "3x3 at batch 2, two groups": ((2, 8, 20, 20), (16, 4, 3, 3), (1, 1), (1, 1), 2),
    "3x3 at batch 3, small images": ((3, 32, 8, 8), (64, 32, 3, 3), (1, 1), (1, 1), 1),
}


@needs_cpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("path", sorted(CPU_PATHS))
def test_cpu_paths_match_the_reference(rng, path, dtype):
    x_shape, w_shape, stride, padding, groups = CPU_PATHS[path]
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    bias, gamma, beta, mean, var = statistics(rng, w_shape[0], dtype)
    for relu in (False, True):
        args = (x, w, bias, gamma, beta, mean, var, 1e-5, relu, stride, padding, (1, 1), groups)
        got, want = get_kernel(OP, "cpu")(*args), get_kernel(OP, "numpy")(*args)
        assert got.dtype == dtype and got.flags.c_contiguous
        # channel 0's clipped variance scales its sums by 1/sqrt(eps) ~ 316: an absolute
        # tolerance from the largest output, for values that cancel to near 0
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6 * np.abs(want).max())
        if relu:
            assert (got >= 0).all() and (got == 0).any()


def small_net(**overrides):
    """data -> conv 3x3 -> bn(relu) -> depthwise -> bn(relu) -> 1x1 (with bias) -> bn
    (linear) -> fc; ``overrides`` changes one layer's arguments (by the keys below)."""
    image = paddle.layer.data("image", paddle.data_type.dense_vector(3 * 12 * 12), height=12,
                              width=12)
    conv = dict(filter_size=3, num_filters=8, padding=1, stride=2, bias_attr=False,
                act=paddle.activation.Linear())
    conv.update(overrides.get("conv", {}))
    first = paddle.layer.img_conv(image, **conv)
    norm = dict(act=paddle.activation.Relu())
    norm.update(overrides.get("norm", {}))
    x = paddle.layer.batch_norm(first, **norm)
    x = paddle.layer.img_conv(x, filter_size=3, num_filters=8, groups=8, padding=1,
                              bias_attr=False, act=paddle.activation.Linear())
    x = paddle.layer.batch_norm(x, act=paddle.activation.Relu())
    x = paddle.layer.img_conv(x, filter_size=1, num_filters=16, act=paddle.activation.Linear())
    x = paddle.layer.batch_norm(x, act=paddle.activation.Linear())
    out = paddle.layer.fc(x, size=5, act=paddle.activation.Softmax())
    return out, first


def parameters_of(out, rng):
    """Parameters with moving statistics and shifts that are not their initial zeros."""
    parameters = paddle.parameters.create(out)
    for name in parameters.names():
        shape = parameters.get_shape(name)
        if name.endswith(".w2"):
            parameters.set(name, rng.uniform(0.3, 2.0, shape).astype(np.float32))
        elif name.endswith((".w1", ".wbias")) or "batch_norm" in name:
            parameters.set(name, rng.standard_normal(shape).astype(np.float32))
    return parameters


def test_pairs_are_found_from_the_topology():
    out, first = small_net()
    pairs = Network(out).foldable
    assert len(pairs) == 6 and len(set(map(id, pairs.values()))) == 3
    assert first.name in pairs and pairs[first.name].conv is first


@pytest.mark.parametrize("change", [
    {"conv": {"act": paddle.activation.Relu()}},
    {"conv": {"bias_attr": None, "shared_biases": False}},
    {"conv": {"layer_attr": ExtraAttr(drop_rate=0.5)}},
    {"conv": {"trans": True, "stride": 1, "padding": 1}},
    {"norm": {"use_global_stats": False}},
    {"norm": {"act": paddle.activation.Tanh()}},
])
def test_a_pair_that_cannot_fold_is_left_alone(change):
    out, first = small_net(**change)
    pairs = Network(out).foldable
    assert first.name not in pairs and len(pairs) == 4


def test_a_convolution_read_elsewhere_or_asked_for_is_not_folded():
    out, first = small_net()
    assert first.name not in Network([out, first]).foldable
    other = paddle.layer.fc(first, size=3)
    assert first.name not in Network([out, other]).foldable
    assert len(Network([out, other]).foldable) == 4


def unfolded(inference, feed, values):
    with no_grad():
        return inference.network.forward(feed, RunContext(values))


@needs_cpu
@pytest.mark.parametrize("batch,dropout", [(1, None), (3, None), (2, 0.3)])
def test_inference_folds_and_gives_the_unfolded_outputs(rng, batch, dropout):
    """Also with the batch norm's dropout, a factor of 0.7 at inference."""
    previous = current_backend().name
    set_backend("cpu")
    try:
        out, first = small_net(**({} if dropout is None else
                                  {"norm": {"layer_attr": ExtraAttr(drop_rate=dropout)}}))
        assert first.name in Network(out).foldable
        parameters = parameters_of(out, rng)
        x = rng.standard_normal((batch, 3 * 12 * 12)).astype(np.float32)
        inference = paddle.inference.Inference(out, parameters, sparse=False)
        values, _ = inference.parameter_values()
        feed = {"image": x}
        with no_grad():
            folded = inference.run(values, feed, None)
        plain = unfolded(inference, feed, values)
        assert first.name not in folded and first.name in plain        # it did fold
        for name, value in folded.items():
            np.testing.assert_allclose(value.data, plain[name].data, rtol=1e-4, atol=1e-5)
        got = inference.infer([(row,) for row in x])
        np.testing.assert_allclose(got, plain[out.name].data, rtol=1e-4, atol=1e-6)
        # new statistics are read on the next call: nothing folded is kept
        norm = inference.network.foldable[first.name].norm
        parameters.set(norm.moving_mean.name, parameters.get(norm.moving_mean.name) + 1.0)
        values, _ = inference.parameter_values()
        np.testing.assert_allclose(inference.infer([(row,) for row in x]),
                                   unfolded(inference, feed, values)[out.name].data,
                                   rtol=1e-4, atol=1e-6)
    finally:
        set_backend(previous)


def test_no_folding_where_the_backend_has_no_kernel_or_gradients_flow(rng):
    previous = current_backend().name
    set_backend("numpy")
    try:
        out, first = small_net()
        inference = paddle.inference.Inference(out, parameters_of(out, rng), sparse=False)
        values, _ = inference.parameter_values()
        feed = {"image": rng.standard_normal((2, 3 * 12 * 12)).astype(np.float32)}
        with no_grad():
            assert first.name in inference.run(values, feed, None)
    finally:
        set_backend(previous)
    ctx = RunContext(values)
    ctx.fold_batch_norm = True                   # asked for, but gradients are recorded
    assert first.name in inference.network.forward(feed, ctx)


def prune(parameters, layer, rng, kept=0.2):
    name = layer.params[0].name
    weight = parameters.get(name) * (rng.random(parameters.get_shape(name)) < kept)
    parameters.set(name, weight.astype(np.float32))


@needs_cpu
@pytest.mark.parametrize("dropout", [None, 0.3])
def test_a_convolution_planned_sparse_folds_its_batch_norm_into_its_weights(
        rng, monkeypatch, dropout):
    """Every convolution of the net runs sparse (3x3, depthwise, 1x1 with a bias), the first
    one's batch norm with dropout or not: the outputs are the unfolded dense forward's, and
    the dense folding kernel is not called; new statistics and new weights are read on the
    next call."""
    previous = current_backend().name
    set_backend("cpu")
    try:
        out, first = small_net(conv={"num_filters": 16}, **(
            {} if dropout is None else {"norm": {"layer_attr": ExtraAttr(drop_rate=dropout)}}))
        parameters = parameters_of(out, rng)
        pairs = Network(out).foldable
        convs = {pair.conv.name: pair.conv for pair in pairs.values()}
        for conv in convs.values():
            prune(parameters, conv, rng)
        dense_folds = spy_on_folding(monkeypatch, True)
        inference = paddle.inference.Inference(out, parameters, sparse=True)
        feed = {"image": rng.standard_normal((2, 3 * 12 * 12)).astype(np.float32)}
        rows = [(row,) for row in feed["image"]]

        def check():
            values, _ = inference.parameter_values()
            with no_grad():
                plan = inference.plan(values, feed, 2)
                assert all(plan.sparse_forward(conv) is not None for conv in convs.values())
                outputs = inference.run(values, feed, plan)
            plain = unfolded(inference, feed, values)
            assert not set(convs) & set(outputs)          # all three folded
            np.testing.assert_allclose(outputs[out.name].data, plain[out.name].data,
                                       rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(inference.infer(rows), plain[out.name].data,
                                       rtol=1e-4, atol=1e-6)

        check()
        norm = pairs[first.name].norm
        parameters.set(norm.moving_var.name, parameters.get(norm.moving_var.name) * 3.0)
        check()
        prune(parameters, first, rng, kept=0.5)
        check()
        assert dense_folds == []
    finally:
        set_backend(previous)


@needs_cpu
def test_sparse_and_dense_convolutions_fold_side_by_side(rng):
    """The plan runs the first convolution sparse and the others dense: all three fold."""
    previous = current_backend().name
    set_backend("cpu")
    try:
        out, first = small_net(conv={"num_filters": 16})
        parameters = parameters_of(out, rng)
        prune(parameters, first, rng, kept=0.1)
        inference = paddle.inference.Inference(out, parameters, sparse=True)
        values, _ = inference.parameter_values()
        feed = {"image": rng.standard_normal((1, 3 * 12 * 12)).astype(np.float32)}
        with no_grad():
            plan = inference.plan(values, feed, 1)
            plan.sparse = {first.name: plan.sparse[first.name]}
            outputs = inference.run(values, feed, plan)
        convs = {pair.conv.name for pair in inference.network.foldable.values()}
        assert len(convs) == 3 and not convs & set(outputs)
        np.testing.assert_allclose(outputs[out.name].data,
                                   unfolded(inference, feed, values)[out.name].data,
                                   rtol=1e-4, atol=1e-6)
    finally:
        set_backend(previous)


def spy_on_folding(monkeypatch, fold):
    """The weight shapes the folding kernel is called with; ``fold=False``: no kernel, so
    nothing folds."""
    calls = []
    real = accelerated_kernel(batch_norm_folding.OP)
    monkeypatch.setattr(batch_norm_folding, "accelerated_kernel", lambda op: (
        lambda *args: calls.append(args[1].shape) or real(*args)) if fold else None)
    return calls


@needs_cpu
@pytest.mark.parametrize("evaluated", [False, True])
def test_trainer_test_folds_except_what_an_evaluator_reads(rng, monkeypatch, evaluated):
    """``SGD.test`` folds as inference does and reports what the unfolded forward gives;
    a convolution an evaluator reads (``paddle.evaluator.sum`` on the first) stays unfolded.
    """
    previous = current_backend().name
    set_backend("cpu")
    try:
        out, first = small_net()
        label = paddle.layer.data("label", paddle.data_type.integer_value(5))
        cost = paddle.layer.classification_cost(input=out, label=label)
        if evaluated:
            paddle.evaluator.sum(input=first, name="first_conv_sum")
        parameters = parameters_of(out, rng)
        samples = [(rng.standard_normal(3 * 12 * 12).astype(np.float32), int(rng.integers(5)))
                   for _ in range(12)]
        reader = paddle.batch(lambda: iter(samples), 5)
        results = {}
        for fold in (False, True):
            calls = spy_on_folding(monkeypatch, fold)
            trainer = paddle.trainer.SGD(cost, parameters,
                                         paddle.optimizer.Momentum(learning_rate=0.0))
            results[fold] = trainer.test(reader)
        folded_shapes = {(8, 1, 3, 3), (16, 8, 1, 1)} | ({(8, 3, 3, 3)} if not evaluated
                                                         else set())
        assert set(calls) == folded_shapes
        assert results[True].cost == pytest.approx(results[False].cost, rel=1e-5)
        assert results[True].metrics.keys() == results[False].metrics.keys()
        for name, value in results[False].metrics.items():
            assert results[True].metrics[name] == pytest.approx(value, rel=1e-5, abs=1e-6)
        assert ("first_conv_sum" in results[True].metrics) == evaluated
    finally:
        set_backend(previous)


@pytest.mark.parametrize("keep", [1.0, 0.7])
def test_batch_norm_map_is_bias_then_batch_norm_then_dropout(rng, keep):
    """``y * scale + shift`` equals ``keep * batch_norm(y + bias)`` spelled out in float64,
    with and without the bias and beta (a negative variance clipped to 0)."""
    from minidl.core.batch_norm_map import batch_norm_map
    y = rng.standard_normal((3, 6, 4))
    bias, gamma, beta, mean, var = statistics(rng, 6)
    for b, bt in ((bias, beta), (None, None)):
        scale, shift = batch_norm_map(b, gamma, bt, mean, var, 1e-3, keep)
        assert scale.dtype == shift.dtype == np.float32
        plus = y + (np.zeros(6) if b is None else b.astype(np.float64))[None, :, None]
        normed = (plus - mean[None, :, None]) / np.sqrt(np.maximum(var, 0) + 1e-3)[None, :, None]
        shifted = np.zeros(6) if bt is None else bt.astype(np.float64)
        want = keep * (normed * gamma[None, :, None] + shifted[None, :, None])
        np.testing.assert_allclose(y * scale[None, :, None] + shift[None, :, None], want,
                                   rtol=1e-5, atol=1e-4)
