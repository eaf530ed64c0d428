"""The CUDA depthwise kernels without a GPU: compiled by nvcc, run on the CPU by emulation.

``minidl/backends/cupy_gpu/kernels/depthwise.cu`` is checked two ways on every machine:

* nvcc compiles every instantiation the backend asks NVRTC for (skipped where nvcc is
  not installed);
* the registered gpu functions run with NumPy arrays and the kernels compiled by g++
  (``cuda_emulation.py``), against the NumPy reference, over hypothesis-drawn geometries:
  the same launch code, the same C source, the same argument lists as on a GPU.

What only a GPU shows (speed, the real NVRTC and driver) is in ``test_gpu.py``.
"""

import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cuda_emulation
from minidl.backends import get_kernel
from minidl.backends.cupy_gpu import depthwise as gpu_depthwise

OPS = tuple(gpu_depthwise.KERNELS)
NVCC_ARCH = "sm_80"


def _mangled_prefix(expression):
    """Itanium-mangled start of ``kernel<K, S>``: ``_Z<len>kernelILi<K>ELi<S>EE``."""
    kernel, arguments = expression.rstrip(">").split("<")
    k, s = (int(a) for a in arguments.split(","))
    return f"_Z{len(kernel)}{kernel}ILi{k}ELi{s}EE".encode()


def test_cuda_source_compiles_with_nvcc(tmp_path):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not installed: the CUDA source cannot be compile-checked here")
    # Taking each instantiation's address makes nvcc compile exactly what NVRTC compiles.
    addresses = ", ".join(f"(void*)&{name}" for name in gpu_depthwise.NAME_EXPRESSIONS)
    wrapper = tmp_path / "instantiate.cu"
    wrapper.write_text(f'#include "{gpu_depthwise.SOURCE}"\n'
                       f"void instantiate(void** out) {{\n"
                       f"    void* all[] = {{{addresses}}};\n"
                       f"    for (unsigned i = 0; i < sizeof all / sizeof *all; ++i)\n"
                       f"        out[i] = all[i];\n"
                       f"}}\n")
    cubin = tmp_path / "depthwise.cubin"
    done = subprocess.run([nvcc, f"-arch={NVCC_ARCH}", "--cubin", "-Werror", "all-warnings",
                           "-o", str(cubin), str(wrapper)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    binary = cubin.read_bytes()
    for name in gpu_depthwise.NAME_EXPRESSIONS:
        assert _mangled_prefix(name) in binary, f"{name} missing from the cubin"


# --- emulation -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def emulated_module(tmp_path_factory):
    if cuda_emulation.compiler() is None:
        pytest.skip("g++ is not installed: the CUDA kernels cannot be emulated on the CPU")
    return cuda_emulation.EmulatedModule(gpu_depthwise.SOURCE, gpu_depthwise.NAME_EXPRESSIONS,
                                         tmp_path_factory.mktemp("cuda_emulation"))


@pytest.fixture
def emulated(emulated_module, monkeypatch):
    """The gpu functions, launching the CPU build of the kernels; NumPy float32 arrays
    stand in for CuPy ones (which would otherwise run the reference)."""
    monkeypatch.setattr(gpu_depthwise, "cuda_module", lambda: emulated_module)
    monkeypatch.setattr(gpu_depthwise, "_on_device",
                        lambda *arrays: all(a.dtype == np.float32 for a in arrays))
    return emulated_module


def _random(rng, shape):
    return rng.uniform(-1, 1, size=shape).astype(np.float32)


def _run_all(geometry, seed):
    """Each op's gpu function and reference result, ``{op: (got, expected)}``."""
    n, c, m, (h, w), (kh, kw), stride, padding = geometry
    rng = np.random.default_rng(seed)
    x, weights = _random(rng, (n, c, h, w)), _random(rng, (c * m, 1, kh, kw))
    oh = (h + 2 * padding[0] - kh) // stride[0] + 1
    ow = (w + 2 * padding[1] - kw) // stride[1] + 1
    gy = _random(rng, (n, c * m, oh, ow))
    calls = {
        "depthwise_conv2d_forward": (x, weights, stride, padding),
        "depthwise_conv2d_grad_input": (gy, weights, x.shape, stride, padding),
        "depthwise_conv2d_grad_filter": (x, gy, weights.shape, stride, padding),
    }
    return {op: (getattr(gpu_depthwise, op)(*args), get_kernel(op, "numpy")(*args))
            for op, args in calls.items()}


def _assert_matches(results):
    for op, (got, expected) in results.items():
        assert got.dtype == np.float32 and got.shape == expected.shape, op
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, err_msg=op)


@st.composite
def geometries(draw):
    """``(N, C, M, (H, W), (kh, kw), stride, padding)`` with an output of at least 1x1."""
    kernel = draw(st.sampled_from([(3, 3), (3, 3), (5, 5), (1, 1), (2, 3), (3, 1)]))
    stride = draw(st.sampled_from([(1, 1), (2, 2), (1, 2), (3, 2)]))
    padding = tuple(draw(st.integers(0, k // 2 + 1)) for k in kernel)
    size = tuple(draw(st.integers(max(1, k - 2 * p), 9)) for k, p in zip(kernel, padding))
    return (draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2)), size,
            kernel, stride, padding)


# The fixture only swaps in the emulated module; reusing it across examples is intended.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(geometry=geometries(), seed=st.integers(0, 2**16))
def test_emulated_kernels_match_the_reference(emulated, geometry, seed):
    _assert_matches(_run_all(geometry, seed))


@pytest.mark.parametrize("kernel,stride", [((3, 3), (1, 1)), ((3, 3), (2, 2)), ((5, 3), (2, 1))])
def test_every_instantiation_runs_and_matches(emulated, kernel, stride):
    """MobileNet's specialised 3x3 stride 1 / 2 and the generic kernel, on a plane with
    interior and border windows, 2 samples and multiplier 2."""
    before = dict(emulated.launches)
    _assert_matches(_run_all((2, 3, 2, (11, 10), kernel, stride, (1, 1)), seed=7))
    constants = gpu_depthwise._instantiation(kernel, stride)
    for function in gpu_depthwise.KERNELS.values():
        name = gpu_depthwise.name_expression(function, *constants)
        assert emulated.launches[name] == before[name] + 1, name


def test_filter_gradient_with_large_blocks(emulated):
    """Enough positions per weight for 256-thread blocks: the tree reduction's many steps."""
    assert gpu_depthwise._filter_threads(2 * 32 * 32) == 256
    results = _run_all((2, 2, 1, (32, 32), (3, 3), (1, 1), (1, 1)), seed=3)
    got, expected = results["depthwise_conv2d_grad_filter"]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_empty_batch(emulated):
    x = np.zeros((0, 2, 5, 5), np.float32)
    w = np.ones((4, 1, 3, 3), np.float32)
    assert gpu_depthwise.depthwise_conv2d_forward(x, w, (1, 1), (1, 1)).shape == (0, 4, 5, 5)
    gw = gpu_depthwise.depthwise_conv2d_grad_filter(x, np.zeros((0, 4, 5, 5), np.float32),
                                                    w.shape, (1, 1), (1, 1))
    np.testing.assert_array_equal(gw, np.zeros(w.shape))


def test_emulation_catches_a_wrong_argument_size(emulated):
    kernel = emulated.get_function(gpu_depthwise.NAME_EXPRESSIONS[0])
    arrays = tuple(np.zeros(4, np.float32) for _ in range(3))
    with pytest.raises(cuda_emulation.EmulationError, match="argument 3 has 8 bytes"):
        kernel((1,), (32,), arrays + (np.int64(1),) + tuple(np.int32(1) for _ in range(12)))


def test_wrong_output_gradient_shape_is_refused_before_launch(emulated):
    before = dict(emulated.launches)
    x = np.zeros((1, 2, 6, 6), np.float32)
    w = np.zeros((2, 1, 3, 3), np.float32)
    gy = np.zeros((1, 2, 5, 5), np.float32)  # a 6x6 output is expected
    with pytest.raises(ValueError, match=r"grad_input: output gradient of shape \(1, 2, 5, 5\)"):
        gpu_depthwise.depthwise_conv2d_grad_input(gy, w, x.shape, (1, 1), (1, 1))
    with pytest.raises(ValueError, match=r"grad_filter: .*expected \(1, 2, 6, 6\)"):
        gpu_depthwise.depthwise_conv2d_grad_filter(x, gy, w.shape, (1, 1), (1, 1))
    assert emulated.launches == before


# --- no compiler needed ------------------------------------------------------------------


def test_host_arrays_run_the_reference():
    """No CUDA launch (which would import CuPy) for NumPy arrays, float32 or float64."""
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((1, 2, 5, 5)).astype(dtype)
        w = rng.standard_normal((2, 1, 3, 3)).astype(dtype)
        gy = rng.standard_normal((1, 2, 5, 5)).astype(dtype)
        calls = {"depthwise_conv2d_forward": (x, w, (1, 1), (1, 1)),
                 "depthwise_conv2d_grad_input": (gy, w, x.shape, (1, 1), (1, 1)),
                 "depthwise_conv2d_grad_filter": (x, gy, w.shape, (1, 1), (1, 1))}
        for op, args in calls.items():
            got = getattr(gpu_depthwise, op)(*args)
            assert got.dtype == dtype
            np.testing.assert_array_equal(got, get_kernel(op, "numpy")(*args))


def test_instantiation_choice():
    assert gpu_depthwise._instantiation((3, 3), (1, 1)) == (3, 1)
    assert gpu_depthwise._instantiation((3, 3), (2, 2)) == (3, 2)
    assert gpu_depthwise._instantiation((3, 3), (1, 2)) == (0, 0)
    assert gpu_depthwise._instantiation((5, 5), (1, 1)) == (0, 0)
    assert [gpu_depthwise._filter_threads(n) for n in (1, 256, 257, 10**6)] == [32, 32, 64, 512]


def test_the_gpu_package_imports_without_cupy():
    """Even where CuPy is installed: importing it is blocked in a fresh interpreter."""
    code = ("import sys; sys.modules['cupy'] = None\n"
            "from minidl.backends import registry\n"
            "import minidl.backends.cupy_gpu\n"
            "print(sorted(registry._KERNELS['gpu']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # + sparse.py's cuSPARSE fc, conv.py's im2col convolution and the folded batch norm
    conv = ("conv2d_forward", "conv2d_grad_input", "conv2d_grad_filter",
            "conv2d_batch_norm_act")
    assert done.stdout.strip() == str(sorted((*OPS, "csr_matmul", *conv)))
