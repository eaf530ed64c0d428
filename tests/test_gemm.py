"""``numba_cpu/gemm.py``: products cut across Numba's threads, each part one BLAS call, against
NumPy's ``matmul`` (the kernel registry test checks the ``matmul`` kernel on its cases too)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st



def _operand(rng, shape, dtype, transposed, step):
    """An operand of ``shape``: contiguous, a transposed view, or every ``step``-th column
    of a wider array (a row stride larger than its width)."""
    if transposed:
        return rng.standard_normal(shape[::-1]).astype(dtype).T
    wide = rng.standard_normal((shape[0], shape[1] * step)).astype(dtype)
    return wide[:, ::step] if step > 1 else wide


@settings(deadline=None, max_examples=60)
@given(m=st.integers(0, 70), k=st.integers(0, 70), n=st.integers(0, 70),
       dtype=st.sampled_from([np.float32, np.float64]), transposed=st.tuples(st.booleans(),
                                                                             st.booleans()),
       steps=st.tuples(st.sampled_from([1, 1, 2]), st.sampled_from([1, 1, 3])),
       threads=st.sampled_from([1, 2, 3]), seed=st.integers(0, 2**16))
def test_gemm_equals_numpy(m, k, n, dtype, transposed, steps, threads, seed):
    from minidl.backends.numba_cpu.gemm import gemm
    rng = np.random.default_rng(seed)
    a = _operand(rng, (m, k), dtype, transposed[0], steps[0])
    b = _operand(rng, (k, n), dtype, transposed[1], steps[1])
    got = gemm(a, b, threads=threads)
    assert got.dtype == dtype and got.shape == (m, n)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=tol * 10, atol=tol * (k + 1))


@pytest.mark.parametrize("m, k, n", [(1, 300, 700), (700, 300, 1), (1, 1, 1), (257, 129, 513)])
def test_gemm_writes_into_out_and_cuts_rows_or_columns(m, k, n):
    """One row (gemv), one column, and a product cut across the threads, written into a
    row block of a larger array."""
    from minidl.backends.numba_cpu.gemm import gemm
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    out = np.full((m + 2, n), 7.0, dtype=np.float32)
    assert gemm(a, b, out[1:m + 1], threads=2) is not None
    np.testing.assert_allclose(out[1:m + 1], a @ b, rtol=1e-4, atol=1e-3)
    assert np.all(out[0] == 7.0) and np.all(out[-1] == 7.0)


@pytest.mark.parametrize("m", [2, 3, 4, 5])
@pytest.mark.parametrize("a_transposed", [False, True])
def test_a_few_rows_go_row_by_row_and_equal_numpy(m, a_transposed):
    """Up to ``GEMV_ROWS`` rows are a gemv call per row (5: one gemm), with ``a`` stored
    either way, written into a row block of a larger array and added into it."""
    from minidl.backends.numba_cpu.gemm import GEMV_ROWS, gemm
    assert GEMV_ROWS == 4
    rng = np.random.default_rng(m)
    a = rng.standard_normal((m, 300)).astype(np.float32)
    a = np.asfortranarray(a) if a_transposed else a
    b = rng.standard_normal((300, 700)).astype(np.float32)
    out = np.full((m + 2, 700), 7.0, dtype=np.float32)
    gemm(a, b, out[1:m + 1], threads=2)
    np.testing.assert_allclose(out[1:m + 1], a @ b, rtol=1e-4, atol=1e-3)
    assert np.all(out[0] == 7.0) and np.all(out[-1] == 7.0)
    gemm(a, b, out[1:m + 1], threads=1, accumulate=True)
    np.testing.assert_allclose(out[1:m + 1], 2 * (a @ b), rtol=1e-4, atol=2e-3)


def test_gemm_refuses_shapes_that_do_not_chain_and_passes_integers_to_numpy():
    from minidl.backends.numba_cpu.gemm import gemm
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\)"):
        gemm(np.ones((2, 3), np.float32), np.ones((4, 5), np.float32))
    ints = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(gemm(ints, ints.T), ints @ ints.T)
    zero_k = gemm(np.ones((3, 0), np.float32), np.ones((0, 4), np.float32))
    np.testing.assert_array_equal(zero_k, np.zeros((3, 4), np.float32))


def test_gemm_accumulates_and_stacks():
    """``accumulate`` adds into ``out`` (BLAS's beta = 1); ``gemm_stack`` broadcasts leading
    axes as ``np.matmul`` does; a wrong ``out`` is refused by name."""
    from minidl.backends.numba_cpu.gemm import gemm, gemm_stack
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((40, 30)), rng.standard_normal((30, 50))
    out = rng.standard_normal((40, 50))
    expected = out + a @ b
    gemm(a, b, out, threads=2, accumulate=True)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    kept = out.copy()
    gemm(np.ones((40, 0)), np.ones((0, 50)), out, accumulate=True)   # adds nothing
    np.testing.assert_array_equal(out, kept)
    with pytest.raises(ValueError, match="accumulate needs an out"):
        gemm(a, b, accumulate=True)
    with pytest.raises(ValueError, match="out must be a row-major float64 array"):
        gemm(a, b, np.empty((50, 40)).T)
    stack_a = rng.standard_normal((3, 1, 4, 5)).astype(np.float32)
    stack_b = rng.standard_normal((2, 5, 6)).astype(np.float32)
    np.testing.assert_allclose(gemm_stack(stack_a, stack_b), np.matmul(stack_a, stack_b),
                               rtol=1e-5, atol=1e-5)


def test_gemm_stack_broadcasts_only_the_operand_that_needs_it(monkeypatch):
    """A broadcast view is read-only, a second array type for Numba: stacks of equal shape
    reach ``gemm`` as they are (writable), as the convolutions' products do, and only an
    operand whose leading axes are broadcast is a view."""
    from minidl.backends.numba_cpu import gemm as module
    seen, real = [], module.gemm
    monkeypatch.setattr(module, "gemm", lambda a, b, out=None: seen.append(
        (a.flags.writeable, b.flags.writeable)) or real(a, b, out))
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5))
    np.testing.assert_allclose(module.gemm_stack(a, b), np.matmul(a, b), rtol=1e-12)
    assert seen == [(True, True)] * 2
    seen.clear()
    np.testing.assert_allclose(module.gemm_stack(a, b[:1]), np.matmul(a, b[:1]), rtol=1e-12)
    assert seen == [(True, False)] * 2
