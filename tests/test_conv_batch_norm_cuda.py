"""The gpu backend's ``conv2d_batch_norm_act`` without a GPU: its pass
(``minidl/backends/cupy_gpu/kernels/scale_shift.cu``) compiled by nvcc where it is
installed, and run on the CPU by emulation (``cuda_emulation.py``) behind the registered
gpu function, against the NumPy reference. What only a GPU shows is in ``test_gpu.py``."""

import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cuda_emulation
from minidl.backends import get_kernel
from minidl.backends.cupy_gpu import conv_batch_norm as gpu_fold
from minidl.backends.cupy_gpu import depthwise as gpu_depthwise
from test_depthwise_cuda import NVCC_ARCH

OP = "conv2d_batch_norm_act"


def test_cuda_source_compiles_with_nvcc(tmp_path):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not installed: the CUDA source cannot be compile-checked here")
    cubin = tmp_path / "scale_shift.cubin"
    done = subprocess.run([nvcc, f"-arch={NVCC_ARCH}", "--cubin", "-Werror", "all-warnings",
                           "-o", str(cubin), str(gpu_fold.SOURCE)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    assert gpu_fold.KERNEL.encode() in cubin.read_bytes()


@pytest.fixture(scope="module")
def modules(tmp_path_factory):
    if cuda_emulation.compiler() is None:
        pytest.skip("g++ is not installed: the CUDA kernels cannot be emulated on the CPU")
    return (cuda_emulation.EmulatedModule(gpu_fold.SOURCE, (gpu_fold.KERNEL,),
                                          tmp_path_factory.mktemp("scale_shift")),
            cuda_emulation.EmulatedModule(gpu_depthwise.SOURCE, gpu_depthwise.NAME_EXPRESSIONS,
                                          tmp_path_factory.mktemp("depthwise")))


@pytest.fixture
def emulated(modules, monkeypatch):
    """The gpu functions launching the CPU builds of the kernels; NumPy float32 arrays
    stand in for CuPy ones (which would otherwise run the reference)."""
    fold, depthwise = modules
    gpu_fold._function.cache_clear()
    monkeypatch.setattr(gpu_fold, "cuda_module", lambda: fold)
    monkeypatch.setattr(gpu_depthwise, "cuda_module", lambda: depthwise)
    on_device = lambda *arrays: all(a.dtype == np.float32 for a in arrays)  # noqa: E731
    monkeypatch.setattr(gpu_fold, "_on_device", on_device)
    monkeypatch.setattr(gpu_depthwise, "_on_device", on_device)
    yield fold
    gpu_fold._function.cache_clear()


@st.composite
def cases(draw):
    """Arguments of the op: 3x3, 1x1 and depthwise (multiplier 1 or 2) convolutions, with
    or without the convolution's bias and the batch norm's beta, ReLU or not."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    kind = draw(st.sampled_from(["3x3", "1x1", "depthwise", "two groups"]))
    n, c = draw(st.integers(0, 3)), draw(st.sampled_from([2, 4]))
    size = draw(st.integers(1, 7))
    if kind == "depthwise":
        f, w_shape, groups = c * draw(st.integers(1, 2)), None, c
        w_shape = (f, 1, 3, 3)
    elif kind == "two groups":
        f, groups = 4, 2
        w_shape = (f, c // 2, 3, 3)
    else:
        f, groups = draw(st.integers(1, 6)), 1
        k = 3 if kind == "3x3" else 1
        w_shape = (f, c, k, k)
    padding = (1, 1) if w_shape[2] == 3 else (0, 0)
    stride = draw(st.sampled_from([(1, 1), (2, 2)]))

    def channel(low=-1.0, high=1.0):
        return rng.uniform(low, high, f).astype(np.float32)
    bias, beta = (channel() if draw(st.booleans()) else None for _ in range(2))
    var = channel(0.1, 2.0)
    var[0] = -0.01 if draw(st.booleans()) else var[0]     # clipped to 0 by batch norm
    return (rng.uniform(-1, 1, (n, c, size, size)).astype(np.float32),
            rng.uniform(-1, 1, w_shape).astype(np.float32), bias, channel(0.5, 1.5), beta,
            channel(), var, 1e-3, draw(st.booleans()), stride, padding, (1, 1), groups)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(args=cases())
def test_emulated_op_matches_the_reference(emulated, args):
    got = gpu_fold.conv2d_batch_norm_act(*args)
    expected = get_kernel(OP, "numpy")(*args)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_the_pass_runs_in_place_with_relu_and_without(emulated):
    rng = np.random.default_rng(1)
    y = rng.standard_normal((2, 3, 5)).astype(np.float32)
    scale, shift = np.float32([2.0, -1.0, 0.5]), np.float32([0.0, 1.0, -3.0])
    expected = y * scale[None, :, None] + shift[None, :, None]
    for relu, want in ((False, expected), (True, np.maximum(expected, 0))):
        before = emulated.launches[gpu_fold.KERNEL]
        got = gpu_fold.scale_shift_act(y.copy(), scale, shift, relu)
        assert emulated.launches[gpu_fold.KERNEL] == before + 1
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_host_arrays_run_the_reference():
    """No CUDA launch (which would import CuPy) for NumPy arrays, float32 or float64."""
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((1, 2, 5, 5)).astype(dtype)
        w = rng.standard_normal((3, 2, 3, 3)).astype(dtype)
        stats = [rng.uniform(0.5, 1.5, 3).astype(dtype) for _ in range(5)]
        args = (x, w, *stats, 1e-5, True, (1, 1), (1, 1), (1, 1), 1)
        got = gpu_fold.conv2d_batch_norm_act(*args)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, get_kernel(OP, "numpy")(*args))


@pytest.mark.parametrize("filters,size,groups", [(3, 3, 1), (4, 1, 1), (4, 3, 2)])
def test_the_gpu_convolution_takes_an_empty_batch(filters, size, groups):
    """The gpu backend's convolution (written against ``xp``, here on NumPy arrays):
    empty outputs and zero filter gradients for a batch of no images."""
    from minidl.backends.cupy_gpu import conv as gpu_conv
    x, gy = np.zeros((0, 4, 5, 5), np.float32), np.zeros((0, filters, 5, 5), np.float32)
    w = np.ones((filters, 4 // groups, size, size), np.float32)
    geometry = ((1, 1), (size // 2, size // 2), (1, 1), groups)
    assert gpu_conv.conv2d_forward(x, w, *geometry).shape == gy.shape
    assert gpu_conv.conv2d_grad_input(gy, w, x.shape, *geometry).shape == x.shape
    np.testing.assert_array_equal(gpu_conv.conv2d_grad_filter(x, gy, w.shape, *geometry),
                                  np.zeros(w.shape))
