"""The explicit vector intrinsics of ``numba_cpu/simd.py`` against NumPy loops over the same
indices, float32 and float64, at offsets drawn by hypothesis (the kernels that use them are
tested against their references elsewhere; here each intrinsic alone)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

U = np.uint64
FLOATS = st.sampled_from([np.float32, np.float64])


def _kernels():
    from numba import njit
    from minidl.backends.numba_cpu import simd

    @njit
    def transpose(a, a0, a_step, b, b0, b_step):
        simd.transpose8(a, a0, a_step, b, b0, b_step)

    @njit
    def pixels4(out, at, out_step, frame, base, weights, taps):
        simd.correlate_pixels(out, at, out_step, frame, base, weights, taps, 16, 4)

    @njit
    def pixel1(out, at, out_step, frame, base, weights, taps):
        simd.correlate_pixels(out, at, out_step, frame, base, weights, taps, 0, 1)

    @njit
    def dots3(sums, grads, at, frame, base, step, taps):
        simd.tap_dots(sums, grads, at, frame, base, step, taps, 3)

    return transpose, pixels4, pixel1, dots3


KERNELS = _kernels()


def _values(dtype, size, seed):
    return np.random.default_rng(seed).standard_normal(size).astype(dtype)


@given(dtype=FLOATS, a0=st.integers(0, 40), a_step=st.integers(8, 30), b0=st.integers(0, 40),
       b_step=st.integers(8, 30), seed=st.integers(0, 99))
def test_transpose8_moves_rows_to_columns(dtype, a0, a_step, b0, b_step, seed):
    a = _values(dtype, a0 + 7 * a_step + 8, seed)
    b = _values(dtype, b0 + 7 * b_step + 8, seed + 1)
    want = b.copy()
    for n in range(8):
        for k in range(8):
            want[b0 + k * b_step + n] = a[a0 + n * a_step + k]
    KERNELS[0](a, U(a0), U(a_step), b, U(b0), U(b_step))
    np.testing.assert_array_equal(b, want)


@given(dtype=FLOATS, taps=st.lists(st.integers(0, 60), min_size=1, max_size=9),
       at=st.integers(0, 20), out_step=st.integers(8, 12), base=st.integers(0, 20),
       seed=st.integers(0, 99))
def test_correlate_pixels_sums_the_taps_of_each_pixel(dtype, taps, at, out_step, base, seed):
    frame = _values(dtype, base + 60 + 3 * 16 + 8, seed)
    weights = _values(dtype, len(taps), seed + 1)
    offsets = tuple(U(t) for t in taps)
    for kernel, pixels, step in ((KERNELS[1], 4, 16), (KERNELS[2], 1, 0)):
        out = np.full(at + 3 * out_step + 8, 7.0, dtype)
        want = out.copy()
        for p in range(pixels):
            for n in range(8):
                want[at + p * out_step + n] = sum(
                    float(weights[t]) * float(frame[base + taps[t] + p * step + n])
                    for t in range(len(taps)))
        kernel(out, U(at), U(out_step), frame, U(base), weights, offsets)
        np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)


@given(dtype=FLOATS, taps=st.lists(st.integers(0, 40), min_size=1, max_size=9),
       at=st.integers(0, 20), base=st.integers(0, 20), step=st.integers(0, 20),
       seed=st.integers(0, 99))
def test_tap_dots_adds_each_taps_products(dtype, taps, at, base, step, seed):
    frame = _values(dtype, base + 40 + 2 * step + 8, seed)
    grads = _values(dtype, at + 24, seed + 1)
    sums = _values(dtype, 8 * len(taps), seed + 2)
    want = sums.astype(np.float64)
    for t, tap in enumerate(taps):
        for n in range(8):
            want[8 * t + n] += sum(float(grads[at + 8 * p + n]) *
                                   float(frame[base + p * step + tap + n]) for p in range(3))
    KERNELS[3](sums, grads, U(at), frame, U(base), U(step), tuple(U(t) for t in taps))
    np.testing.assert_allclose(sums, want, rtol=1e-5, atol=1e-5)


def test_intrinsics_refuse_mixed_or_integer_arrays():
    from numba.core.errors import TypingError
    with pytest.raises(TypingError, match="must be a 1-D array"):
        KERNELS[0](np.zeros(64, np.float32), U(0), U(8), np.zeros(64), U(0), U(8))
    with pytest.raises(TypingError, match="must be a 1-D array"):
        KERNELS[0](np.zeros(64, np.int32), U(0), U(8), np.zeros(64, np.int32), U(0), U(8))
