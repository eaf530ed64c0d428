"""The cpu backend's embedding-gradient loop against the NumPy reference (np.add.at)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl.backends.numba_cpu.table_lookup as fast
import minidl.backends.numpy_ref.mixed as ref


@settings(max_examples=80, deadline=None)
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]),
       num_rows=st.integers(1, 50), count=st.integers(0, 120),
       width=st.sampled_from([(1,), (7,), (32,), (3, 4)]))
def test_scatter_add_matches_the_reference(data, dtype, num_rows, count, width):
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1), label="seed"))
    # few distinct ids among many rows: repeated ids must add up, in order
    ids = rng.integers(-num_rows, num_rows, count) if data.draw(st.booleans(), label="neg") \
        else rng.integers(0, min(num_rows, 3), count)
    gy = rng.normal(size=(count,) + width).astype(dtype)
    got = fast.table_lookup_grad(ids, gy, num_rows)
    expected = ref.table_lookup_grad(ids, gy, num_rows)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_an_id_outside_the_table_raises():
    gy = np.ones((2, 3), np.float32)
    for bad in ([0, 5], [-6, 0]):
        with pytest.raises(IndexError):
            ref.table_lookup_grad(np.array(bad), gy, 5)
        with pytest.raises(IndexError):
            fast.table_lookup_grad(np.array(bad), gy, 5)
