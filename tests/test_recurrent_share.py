"""The cooperative batch-1 sparse LSTM and GRU (several threads in one parallel loop) and
the atomics they are built on, against the NumPy reference."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from numba import njit, prange

from kernel_cases import arrays
from minidl.backends import get_kernel
from minidl.backends.numba_cpu import csr_steps as share
from minidl.backends.numba_cpu.csr_gru_steps import _gru_one_sequence_parallel
from minidl.backends.numba_cpu.atomics import fetch_add, load_acquire
from minidl.backends.numba_cpu.packed_steps import _Steps
from minidl.backends.numba_cpu.recurrent_activations import _codes
from minidl.backends.numba_cpu.sparse_recurrent import _Csr
from minidl.sparse_inference.layout import recurrent_layout


@njit(parallel=True)
def _count_in_parallel(n, counter, olds):
    for i in prange(n):
        olds[i] = fetch_add(counter, 0, 1)


@njit
def _read(counter):
    return load_acquire(counter, 0)


@pytest.mark.parametrize("n", [1, 7, 10_000])
def test_fetch_add_hands_out_every_value_once(n):
    counter = np.zeros(1, dtype=np.int64)
    olds = np.full(n, -1, dtype=np.int64)
    _count_in_parallel(n, counter, olds)
    assert counter[0] == n
    np.testing.assert_array_equal(np.sort(olds), np.arange(n))
    assert _read(counter) == n


def _pruned_lstm(hidden, steps, kept, seed):
    w = arrays((hidden, 4 * hidden), seed, -0.4, 0.4, np.float32)
    w = np.where(arrays(w.shape, seed + 1, 0, 1) < kept, w, 0).astype(np.float32)
    (layout,) = recurrent_layout(w, 4)
    x = arrays((steps, 4 * hidden), seed + 2, -1.5, 1.5, np.float32)
    bias = arrays((7 * hidden,), seed + 3, -0.5, 0.5, np.float32)
    return x, layout, bias


def _reference(x, layout, bias, acts):
    starts = np.array([0, x.shape[0]])
    return get_kernel("lstm_forward_csr", "numpy")(x, layout.indptr, layout.indices,
                                                   layout.values, bias, starts, False, *acts)


@settings(deadline=None, max_examples=40)
@given(hidden=st.integers(1, 24), steps=st.integers(1, 9), kept=st.sampled_from([1, .5, .1, 0]),
       threads=st.integers(1, 5), seed=st.integers(0, 2**16),
       acts=st.sampled_from([("tanh", "sigmoid", "tanh"), ("relu", "sigmoid", "linear")]))
def test_shared_steps_equal_the_reference(hidden, steps, kept, threads, seed, acts):
    """Any number of sharing threads -- more than Numba runs (then one thread takes several
    prange iterations, one after the other, and must not wait for the others) -- gives the
    reference's result."""
    x, layout, bias = _pruned_lstm(hidden, steps, kept, seed)
    w = _Csr(layout.indptr, layout.indices, layout.values, 4 * hidden, "test")
    plan = _Steps(np.array([0, steps]), False, hidden)
    h = np.empty((steps, hidden), np.float32)
    cell, cell_act, h_steps = np.empty_like(h), np.empty_like(h), np.empty_like(h)
    gates, product = np.empty_like(x), np.empty((1, 4 * hidden), np.float32)
    share._lstm_one_sequence_parallel(
        threads, share._chunk_bounds(w, threads), share._unit_bounds(hidden, threads), x,
        bias, *w.arrays(),
        product, np.zeros(4 * hidden, np.float32), plan.rows, plan.prev_rows, *_codes(*acts),
        h, cell, gates, cell_act, h_steps)
    np.testing.assert_allclose(h, _reference(x, layout, bias, acts), rtol=2e-4, atol=1e-4)


def test_chunk_bounds_split_the_nonzeros_evenly():
    x, layout, bias = _pruned_lstm(64, 2, 0.3, 7)
    w = _Csr(layout.indptr, layout.indices, layout.values, 256, "test")
    bounds = share._chunk_bounds(w, 2)
    assert bounds[0] == 0 and bounds[-1] == 256 and np.all(np.diff(bounds) >= 0)
    assert len(bounds) == 2 * share.CHUNKS_PER_THREAD + 1
    per_chunk = np.diff(layout.indptr.astype(np.int64)[bounds])
    assert per_chunk.max() - per_chunk.min() <= 2 * np.diff(layout.indptr.astype(np.int64)).max()


def test_the_registered_kernel_shares_long_runs():
    """Big enough for several threads (``_sharing_threads`` > 1 where Numba has them): the
    public kernel still equals the reference."""
    x, layout, bias = _pruned_lstm(128, 40, 0.5, 3)
    w = _Csr(layout.indptr, layout.indices, layout.values, 512, "test")
    assert int(w.indptr[-1]) * 39 >= share.SERIAL_DOT_BELOW
    acts = ("tanh", "sigmoid", "tanh")
    got = get_kernel("lstm_forward_csr", "cpu")(x, layout.indptr, layout.indices,
                                                 layout.values, bias, np.array([0, 40]),
                                                 False, *acts)
    np.testing.assert_allclose(got, _reference(x, layout, bias, acts), rtol=2e-4, atol=1e-4)


@pytest.mark.parametrize("hidden, threads", [(1, 2), (24, 5), (1024, 2), (100, 3)])
def test_unit_bounds_cover_every_unit_once(hidden, threads):
    bounds = share._unit_bounds(hidden, threads)
    assert len(bounds) == threads + 1 and bounds[0] == 0 and bounds[-1] == hidden
    inner = bounds[1:-1]
    assert np.all(np.diff(bounds) >= 0) and np.all((inner % 16 == 0) | (inner == hidden))


def _pruned_gru(hidden, steps, kept, seed):
    w = arrays((hidden, 3 * hidden), seed, -0.4, 0.4, np.float32)
    w = np.where(arrays(w.shape, seed + 1, 0, 1) < kept, w, 0).astype(np.float32)
    layouts = recurrent_layout(w, 3)
    x = arrays((steps, 3 * hidden), seed + 2, -1.5, 1.5, np.float32)
    bias = arrays((3 * hidden,), seed + 3, -0.5, 0.5, np.float32)
    return x, layouts, bias


def _gru_reference(x, layouts, bias, acts):
    (gate, state), starts = layouts, np.array([0, x.shape[0]])
    return get_kernel("gru_forward_csr", "numpy")(
        x, gate.indptr, gate.indices, gate.values, state.indptr, state.indices, state.values,
        bias, starts, False, *acts)


@settings(deadline=None, max_examples=40)
@given(hidden=st.integers(1, 24), steps=st.integers(1, 9), kept=st.sampled_from([1, .5, .1, 0]),
       threads=st.integers(1, 5), seed=st.integers(0, 2**16),
       acts=st.sampled_from([("tanh", "sigmoid"), ("relu", "sigmoid")]))
def test_shared_gru_steps_equal_the_reference(hidden, steps, kept, threads, seed, acts):
    """The GRU's four phases a step, shared by any number of threads."""
    x, layouts, bias = _pruned_gru(hidden, steps, kept, seed)
    gate = _Csr(layouts[0].indptr, layouts[0].indices, layouts[0].values, 2 * hidden, "test")
    state = _Csr(layouts[1].indptr, layouts[1].indices, layouts[1].values, hidden, "test")
    plan = _Steps(np.array([0, steps]), False, hidden)
    h = np.empty((steps, hidden), np.float32)
    h_steps, gates = np.empty_like(h), np.empty_like(x)
    product = np.empty((1, 2 * hidden), np.float32)
    reset_h, product_state = np.empty((2, 1, hidden), np.float32)
    _gru_one_sequence_parallel(
        threads, share._chunk_bounds(gate, threads), share._chunk_bounds(state, threads),
        share._unit_bounds(hidden, threads), x, bias, *gate.arrays(), *state.arrays(),
        product, product_state, reset_h, np.zeros(2 * hidden, np.float32), plan.rows,
        plan.prev_rows, *_codes(*acts), h, gates, h_steps)
    np.testing.assert_allclose(h, _gru_reference(x, layouts, bias, acts), rtol=2e-4,
                               atol=1e-4)


def test_the_registered_gru_kernel_shares_long_runs():
    """Big enough for several threads: the public GRU kernel equals the reference."""
    x, layouts, bias = _pruned_gru(128, 40, 0.5, 5)
    assert sum(int(w.indptr[-1]) for w in layouts) * 39 >= share.SERIAL_DOT_BELOW
    acts = ("tanh", "sigmoid")
    gate, state = layouts
    got = get_kernel("gru_forward_csr", "cpu")(
        x, gate.indptr, gate.indices, gate.values, state.indptr, state.indices, state.values,
        bias, np.array([0, 40]), False, *acts)
    np.testing.assert_allclose(got, _gru_reference(x, layouts, bias, acts), rtol=2e-4,
                               atol=1e-4)
