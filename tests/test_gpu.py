"""The ``gpu`` backend on a real device: RawKernels against the reference, training on the
device, and data leaving it only through ``infer``, ``parameters.get`` and ``to_tar``.

Skipped as a whole where CuPy or a CUDA device is missing (the reason names which). The
other test files run on the GPU too where it is present: the ``backend`` fixture
(``conftest.py``) includes it, so every kernel test body also runs through CuPy.
``benchmarks/gpu_run.sh`` runs this file and the rest of the suite on a GPU machine.
"""

import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minidl as paddle
from minidl.core import random as minidl_random
from minidl.backends import (BACKENDS, BackendUnavailable, current_backend, get_kernel,
                             kernel_table, set_backend)
from minidl.core import Tensor, as_numpy
from minidl.functions.dropout import dropout
from minidl.layers.base import reset_names

try:
    BACKENDS["gpu"].load()
except BackendUnavailable as missing:
    pytest.skip(f"no GPU backend here: {missing}", allow_module_level=True)

import cupy  # noqa: E402  (only after the check above)

from minidl.backends.cupy_gpu import depthwise as gpu_depthwise  # noqa: E402

pytestmark = pytest.mark.gpu

OPS = tuple(gpu_depthwise.KERNELS)


@pytest.fixture
def on_gpu():
    """Select the gpu backend for one test, then restore the previous one."""
    previous = current_backend().name
    set_backend("gpu")
    yield
    set_backend(previous)


def _assert_close(got, expected, rtol, what):
    """Relative to the largest expected magnitude: sums of thousands of products round
    differently in every summation order."""
    got = as_numpy(got)
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def _depthwise_calls(x, w, gy, stride, padding):
    return {
        "depthwise_conv2d_forward": (x, w, stride, padding),
        "depthwise_conv2d_grad_input": (gy, w, x.shape, stride, padding),
        "depthwise_conv2d_grad_filter": (x, gy, w.shape, stride, padding),
    }


def _check_depthwise(n, c, m, size, kernel, stride, padding, seed, rtol=1e-4):
    """Each RawKernel on CuPy arrays against the NumPy reference on the host."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, c) + size).astype(np.float32)
    w = rng.uniform(-1, 1, (c * m, 1) + kernel).astype(np.float32)
    out = tuple((s + 2 * p - k) // step + 1
                for s, p, k, step in zip(size, padding, kernel, stride))
    gy = rng.uniform(-1, 1, (n, c * m) + out).astype(np.float32)
    host = _depthwise_calls(x, w, gy, stride, padding)
    device = _depthwise_calls(cupy.asarray(x), cupy.asarray(w), cupy.asarray(gy), stride,
                              padding)
    for op in OPS:
        got = get_kernel(op, "gpu")(*device[op])
        assert isinstance(got, cupy.ndarray) and got.dtype == np.float32, op
        _assert_close(got, get_kernel(op, "numpy")(*host[op]), rtol, op)


@st.composite
def geometries(draw):
    k = draw(st.sampled_from([3, 5]))
    kernel = (k, draw(st.sampled_from([k, k, 3, 1])))
    stride = draw(st.sampled_from([(1, 1), (2, 2), (1, 2)]))
    padding = tuple(draw(st.integers(0, j // 2 + 1)) for j in kernel)
    size = tuple(draw(st.integers(max(1, j - 2 * p), 20)) for j, p in zip(kernel, padding))
    return dict(n=draw(st.integers(1, 4)), c=draw(st.integers(1, 8)), m=draw(st.integers(1, 2)),
                size=size, kernel=kernel, stride=stride, padding=padding)


@given(geometry=geometries(), seed=st.integers(0, 2**16))
def test_depthwise_raw_kernels_match_the_reference(geometry, seed):
    _check_depthwise(seed=seed, **geometry)


# MobileNet v1's depthwise layers (C, H, stride) at batch 2: large planes, long reductions.
MOBILENET_LAYERS = [(32, 112, 1), (64, 112, 2), (128, 56, 1), (128, 56, 2), (256, 28, 2),
                    (512, 14, 1), (512, 14, 2), (1024, 7, 1)]


@pytest.mark.parametrize("channels,size,stride", MOBILENET_LAYERS)
def test_depthwise_raw_kernels_on_mobilenet_layers(channels, size, stride):
    _check_depthwise(2, channels, 1, (size, size), (3, 3), (stride, stride), (1, 1), seed=1,
                     rtol=1e-3)


def test_depthwise_float64_runs_the_reference_on_the_device():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((6, 1, 3, 3))
    got = get_kernel("depthwise_conv2d_forward", "gpu")(cupy.asarray(x), cupy.asarray(w),
                                                        (1, 1), (1, 1))
    assert isinstance(got, cupy.ndarray) and got.dtype == np.float64
    np.testing.assert_allclose(as_numpy(got), get_kernel("depthwise_conv2d_forward", "numpy")(
        x, w, (1, 1), (1, 1)), rtol=1e-12)


@pytest.mark.parametrize("x_shape,w_shape,stride,padding,groups", [
    ((2, 32, 28, 28), (32, 1, 3, 3), (1, 1), (1, 1), 32),     # depthwise: its RawKernel
    ((2, 32, 14, 14), (64, 32, 1, 1), (1, 1), (0, 0), 1),     # pointwise: one GEMM
    ((2, 3, 32, 32), (16, 3, 3, 3), (2, 2), (1, 1), 1),       # im2col + GEMM
])
def test_folded_batch_norm_matches_the_reference(x_shape, w_shape, stride, padding, groups):
    """``conv2d_batch_norm_act`` on CuPy arrays (the convolution, then scale_shift.cu in
    place) against the NumPy reference on the host, with ReLU and without."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, x_shape).astype(np.float32)
    w = rng.uniform(-1, 1, w_shape).astype(np.float32)
    f = w_shape[0]
    bias, gamma, beta, mean = (rng.uniform(-1, 1, f).astype(np.float32) for _ in range(4))
    var = rng.uniform(0.2, 2.0, f).astype(np.float32)
    for relu in (False, True):
        host = (x, w, bias, gamma, beta, mean, var, 1e-5, relu, stride, padding, (1, 1),
                groups)
        device = tuple(cupy.asarray(a) if isinstance(a, np.ndarray) else a for a in host)
        got = get_kernel("conv2d_batch_norm_act", "gpu")(*device)
        assert isinstance(got, cupy.ndarray) and got.dtype == np.float32
        _assert_close(got, get_kernel("conv2d_batch_norm_act", "numpy")(*host), 1e-4,
                      f"conv2d_batch_norm_act, relu={relu}")


def test_kernel_table_names_the_raw_kernels():
    table = kernel_table("gpu")
    for op in OPS:
        assert table[op].startswith("gpu: minidl.backends.cupy_gpu.depthwise"), table[op]
    assert table["conv2d_batch_norm_act"].startswith(
        "gpu: minidl.backends.cupy_gpu.conv_batch_norm"), table["conv2d_batch_norm_act"]
    assert table["matmul"].startswith("numpy reference (fallback)")


def test_init_use_gpu_selects_the_gpu_backend():
    previous = current_backend().name
    try:
        paddle.init(use_gpu=True)
        assert current_backend().name == "gpu"
        assert current_backend().xp is cupy
    finally:
        set_backend(previous)


# --- training on the device --------------------------------------------------------------

def _tiny_conv_net():
    """conv -> depthwise conv (groups = channels, multiplier 2) + batch norm -> avg pool
    -> fc softmax -> classification cost."""
    reset_names()
    image = paddle.layer.data("image", paddle.data_type.dense_vector(3 * 8 * 8), height=8,
                              width=8)
    label = paddle.layer.data("label", paddle.data_type.integer_value(4))
    conv = paddle.layer.img_conv(image, filter_size=3, num_filters=8, padding=1)
    depthwise = paddle.layer.img_conv(conv, filter_size=3, num_filters=16, groups=8, stride=2,
                                      padding=1, act=paddle.activation.Linear(),
                                      bias_attr=False)
    norm = paddle.layer.batch_norm(depthwise, act=paddle.activation.Relu())
    pool = paddle.layer.img_pool(norm, pool_size=2, stride=2, pool_type=paddle.pooling.Avg())
    out = paddle.layer.fc(pool, size=4, act=paddle.activation.Softmax())
    return out, paddle.layer.classification_cost(out, label)


def _samples(n=12, seed=3):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(3 * 8 * 8).astype(np.float32), int(rng.integers(4)))
            for _ in range(n)]


def _train(backend, check=None):
    """Three batches of momentum SGD on ``backend``; returns (parameters, costs, trainer)."""
    previous = current_backend().name
    set_backend(backend)
    try:
        minidl_random.seed(11)
        out, cost = _tiny_conv_net()
        parameters = paddle.parameters.create(cost)
        trainer = paddle.trainer.SGD(cost, parameters, paddle.optimizer.Momentum(
            learning_rate=0.01, momentum=0.9))
        costs = []

        def handler(event):
            if isinstance(event, paddle.event.EndIteration):
                costs.append(event.cost)
                if check is not None:
                    check(parameters, trainer)

        trainer.train(paddle.batch(lambda: iter(_samples()), 4), num_passes=1,
                      event_handler=handler)
        return parameters, costs, trainer, out
    finally:
        set_backend(previous)


def test_a_training_run_on_the_gpu_equals_the_numpy_backend():
    host, host_costs, _, _ = _train("numpy")
    device, device_costs, _, _ = _train("gpu")
    np.testing.assert_allclose(device_costs, host_costs, rtol=1e-4)
    assert host.names() == device.names()
    for name in host.names():
        _assert_close(device.get(name), host.get(name), 1e-4, name)


def test_parameters_stay_on_the_device_and_leave_it_as_numpy(on_gpu):
    seen = []

    def on_device(parameters, trainer):
        for name in parameters.names():
            assert isinstance(parameters.value(name), cupy.ndarray), name
        for name, slots in trainer.updater.slots.items():
            for slot, array in slots.items():
                assert isinstance(array, cupy.ndarray), f"{name}/{slot}"
        seen.append(True)

    parameters, _, _, out = _train("gpu", check=on_device)
    assert len(seen) == 3
    for name in parameters.names():
        value = parameters.get(name)
        assert type(value) is np.ndarray and value.dtype == np.float32, name
        assert isinstance(parameters.get_grad(name), np.ndarray)
    buffer = io.BytesIO()
    parameters.to_tar(buffer)
    buffer.seek(0)
    loaded = paddle.parameters.Parameters.from_tar(buffer)
    for name in parameters.names():
        np.testing.assert_array_equal(loaded.get(name), parameters.get(name))
    probabilities = paddle.infer(output_layer=out, parameters=parameters,
                                 input=[(s[0],) for s in _samples(5, seed=4)])
    assert type(probabilities) is np.ndarray and probabilities.shape == (5, 4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_every_activation_and_gradient_is_a_device_array(on_gpu):
    """A forward and backward pass through the network: nothing falls back to the host."""
    from minidl.core.tensor import backward
    from minidl.layers.graph import Network, RunContext
    minidl_random.seed(2)
    _, cost = _tiny_conv_net()
    parameters = paddle.parameters.create(cost)
    network = Network(cost)
    tensors = {name: Tensor(parameters.value(name).reshape(spec.compute_shape),
                            requires_grad=not spec.static)
               for name, spec in network.param_specs.items()}
    samples = _samples(4)
    feed = {"image": cupy.asarray(np.stack([s[0] for s in samples])),
            "label": cupy.asarray(np.array([s[1] for s in samples]))}
    ctx = RunContext(tensors, is_train=True, rng=minidl_random.get_rng())
    outputs = network.forward(feed, ctx)
    for name, tensor in outputs.items():
        assert isinstance(tensor.data, cupy.ndarray), name
    backward(outputs[cost.name].sum())
    for name, tensor in tensors.items():
        if tensor.requires_grad:
            assert isinstance(tensor.grad, cupy.ndarray), name


def test_dropout_draws_its_mask_on_the_device():
    x = Tensor(cupy.ones((64, 256), dtype=cupy.float32))
    first = dropout(x, 0.25, True, np.random.default_rng(5)).data
    again = dropout(x, 0.25, True, np.random.default_rng(5)).data
    assert isinstance(first, cupy.ndarray) and first.dtype == cupy.float32
    cupy.testing.assert_array_equal(first, again)       # a seeded run repeats itself
    kept = float(first.mean())
    assert 0.70 < kept < 0.80                            # about 1 - rate, no rescaling
    assert set(np.unique(as_numpy(first))) <= {0.0, 1.0}


def test_python_numbers_combine_with_device_tensors():
    t = Tensor(cupy.arange(4, dtype=cupy.float32), requires_grad=True)
    y = (1 - t) * 2 + 0.5
    assert isinstance(y.data, cupy.ndarray)
    np.testing.assert_allclose(as_numpy(y.data), [2.5, 0.5, -1.5, -3.5])
    y.sum().backward()
    np.testing.assert_allclose(as_numpy(t.grad), [-2.0] * 4)


def test_pruned_fc_inference_through_cusparse_equals_dense(on_gpu):
    """``sparse=True`` on the gpu backend runs the fc layer through cupyx CSR (cuSPARSE)."""
    reset_names()
    x = paddle.layer.data("x", paddle.data_type.dense_vector(300))
    out = paddle.layer.fc(input=x, size=64, act=paddle.activation.Relu())
    parameters = paddle.parameters.create(out)
    weight = parameters.get("___fc_layer_0__.w0")
    weight[np.random.default_rng(0).random(weight.shape) < 0.95] = 0.0
    parameters.set("___fc_layer_0__.w0", weight)
    samples = [(np.random.default_rng(i).standard_normal(300).astype(np.float32),)
               for i in range(3)]
    dense = paddle.infer(output_layer=out, parameters=parameters, input=samples, sparse=False)
    inference = paddle.inference.Inference(out, parameters, sparse=True)
    sparse = inference.infer(samples)
    _assert_close(sparse, dense, 1e-5, "cuSPARSE fc")
    assert "sparse" in str(inference.sparse_plan)
    assert kernel_table("gpu")["csr_matmul"].startswith("gpu: minidl.backends.cupy_gpu.sparse")
