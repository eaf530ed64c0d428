"""The cpu backend's softmax loops against the NumPy reference: any shape, scale and dtype,
clipped rows, NaN and inf rows, and the gradient."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl.backends.numba_cpu.softmax as fast
import minidl.backends.numpy_ref.activation as ref


def _array(data, dtype):
    shape = data.draw(st.tuples(st.integers(1, 12), st.integers(1, 300))
                      | st.tuples(st.integers(1, 5), st.integers(1, 6), st.integers(1, 7)),
                      label="shape")
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1), label="seed"))
    scale = data.draw(st.sampled_from([0.1, 3.0, 100.0]), label="scale")   # 100: clipped
    return (rng.normal(size=shape) * scale).astype(dtype), rng


@settings(max_examples=80, deadline=None)
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]))
def test_softmax_matches_the_reference(data, dtype):
    x, _ = _array(data, dtype)
    got, expected = fast.act_softmax(x), ref.act_softmax(x)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=2e-6 if dtype == np.float32 else 1e-12,
                               atol=0)


@settings(max_examples=80, deadline=None)
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]))
def test_softmax_grad_matches_the_reference(data, dtype):
    x, rng = _array(data, dtype)
    y = ref.act_softmax(x)
    gy = rng.normal(size=x.shape).astype(dtype)
    if data.draw(st.booleans(), label="one-hot"):   # what a cross-entropy cost sends back
        gy = np.zeros_like(gy)
        gy.reshape(len(gy), -1)[:, 0] = -1 / y.reshape(len(y), -1)[:, 0]
    got, expected = fast.act_softmax_grad(None, y, gy), ref.act_softmax_grad(None, y, gy)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    scale = np.abs(gy).max() * np.abs(y).max()
    np.testing.assert_allclose(got, expected, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=scale * (1e-6 if dtype == np.float32 else 1e-14))


def test_rows_with_nan_or_inf_are_nan_as_in_the_reference():
    x = np.array([[1.0, np.nan, 2.0], [np.inf, 0.0, 1.0], [0.0, 1.0, 2.0]], np.float32)
    with np.errstate(invalid="ignore"):   # inf - inf in the reference's shift
        got, expected = fast.act_softmax(x), ref.act_softmax(x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    assert np.isnan(got[:2]).all() and np.isfinite(got[2]).all()


def test_empty_rows():
    x = np.zeros((3, 0), np.float32)
    assert fast.act_softmax(x).shape == (3, 0)
