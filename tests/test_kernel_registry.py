"""Every kernel a non-reference backend registers is checked against the numpy reference."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel_cases import CASES, TOLERANCE
from minidl.backends import (BACKENDS, REFERENCE, BackendUnavailable, format_kernel_table,
                             get_kernel, kernel_table, own_kernels, set_backend)
from minidl.core import as_numpy

from conftest import BACKENDS_PRESENT

REGISTERED = [(backend, op) for backend in BACKENDS_PRESENT if backend != REFERENCE
              for op in sorted(own_kernels(backend))]


def _to_backend(value, xp):
    return xp.asarray(value) if isinstance(value, np.ndarray) else value


def _outputs(result):
    return result if isinstance(result, tuple) else (result,)


NOTHING_REGISTERED = pytest.param(None, None, marks=pytest.mark.skip(
    reason="Numba is not installed: only the reference backend is present"))


@pytest.mark.parametrize("backend,op", REGISTERED or [NOTHING_REGISTERED])
@given(data=st.data())
def test_registered_kernel_matches_reference(backend, op, data):
    assert op in CASES, f"kernel {op!r} of backend {backend!r} has no input case in kernel_cases.py"
    args, kwargs = data.draw(CASES[op])
    expected = _outputs(get_kernel(op, REFERENCE)(*args, **kwargs))
    xp = BACKENDS[backend].load().xp
    got = _outputs(get_kernel(op, backend)(*[_to_backend(a, xp) for a in args], **kwargs))
    assert len(got) == len(expected)
    rtol, atol = TOLERANCE.get(op, (1e-4, 1e-5))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(as_numpy(g), e, rtol=rtol, atol=atol, err_msg=f"{backend}:{op}")


def test_every_reference_kernel_is_listed_on_every_backend():
    reference_ops = set(kernel_table(REFERENCE))
    for backend in BACKENDS_PRESENT:
        table = kernel_table(backend)
        assert set(table) == reference_ops
        own = own_kernels(backend)
        for op, where in table.items():
            if backend == REFERENCE:
                assert where.startswith("numpy reference:")
            elif op in own:
                assert where.startswith(f"{backend}:")
            else:
                assert where.startswith("numpy reference (fallback)")
    assert "matmul" in format_kernel_table(REFERENCE)


def test_fallback_returns_the_reference_kernel():
    for backend in BACKENDS_PRESENT:
        for op in kernel_table(REFERENCE):
            if op not in own_kernels(backend):
                assert get_kernel(op, backend) is get_kernel(op, REFERENCE)


def test_unknown_backend_and_op_are_named():
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        set_backend("tpu")
    with pytest.raises(KeyError, match="no_such_op"):
        get_kernel("no_such_op", REFERENCE)


def test_gpu_backend_says_what_is_missing():
    if "gpu" in BACKENDS_PRESENT:
        pytest.skip("a GPU is present: the missing-CuPy/missing-device error cannot be observed")
    with pytest.raises(BackendUnavailable, match="gpu.*(CuPy|CUDA|device)"):
        BACKENDS["gpu"].load()


GPU_ARRAY_KERNELS = ("conv2d_forward", "conv2d_grad_input", "conv2d_grad_filter")


@pytest.mark.parametrize("op", GPU_ARRAY_KERNELS)
@given(data=st.data())
def test_gpu_array_kernels_match_the_reference_on_numpy_arrays(op, data):
    """The gpu backend's im2col convolution is written against ``xp``: on NumPy arrays it
    runs here, without a device, and must agree with the reference."""
    from minidl.backends.cupy_gpu import conv as gpu_conv
    args, kwargs = data.draw(CASES[op])
    expected = get_kernel(op, REFERENCE)(*args, **kwargs)
    got = getattr(gpu_conv, op)(*args, **kwargs)
    rtol, atol = TOLERANCE.get(op, (1e-4, 1e-5))
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)
