"""``fc`` and ``full_matrix_projection`` on sparse input rows: the CSR x dense kernels against
naive loops, no densifying, float64 gradients for the weight (none for the data), fed
samples of every sparse data type, and a training step that touches only the rows used."""

import numpy as np
import pytest

import minidl as paddle
from minidl.backends.numpy_ref import sparse_input as ref
from minidl.core.sequence import SequenceLayout
from minidl.core.sparse_rows import SparseRows
from minidl.core.tensor import Tensor
from minidl.functions.sparse_input import SparseRowsMatMul
from minidl.layers.graph import Network, RunContext
from minidl.training.feeding import Feeder

from sequence_helpers import RAGGED_LENGTHS, check_layer_gradients, run_layer

L = paddle.layer
dt = paddle.data_type


def _random_rows(rng, n, dim, binary, dtype=np.float64):
    indptr, indices, values = [0], [], []
    for _ in range(n):
        k = int(rng.integers(0, min(dim, 4) + 1))
        chosen = rng.choice(dim, size=k, replace=False)
        indices.extend(chosen.tolist())
        values.extend(rng.standard_normal(k).tolist())
        indptr.append(len(indices))
    return SparseRows(indptr, indices, None if binary else np.array(values, dtype), dim)


@pytest.mark.parametrize("binary", [True, False])
def test_kernels_match_naive_loops(binary):
    rng = np.random.default_rng(0)
    x = _random_rows(rng, 6, 9, binary)
    w = rng.standard_normal((9, 3))
    y = ref.sparse_rows_matmul(x.indptr, x.indices, x.values, w)
    expected = np.zeros((6, 3))
    gy = rng.standard_normal((6, 3))
    gw_expected = np.zeros((9, 3))
    for n in range(6):
        for e in range(x.indptr[n], x.indptr[n + 1]):
            v = 1.0 if x.values is None else x.values[e]
            expected[n] += v * w[x.indices[e]]
            gw_expected[x.indices[e]] += v * gy[n]
    np.testing.assert_allclose(y, expected)
    np.testing.assert_allclose(y, x.to_dense(np.float64) @ w)
    gw = ref.sparse_rows_matmul_grad_weight(x.indptr, x.indices, x.values, gy, 9)
    np.testing.assert_allclose(gw, gw_expected)
    np.testing.assert_allclose(gw, x.to_dense(np.float64).T @ gy)


def test_empty_rows_and_no_entries_at_all():
    w = np.ones((5, 2))
    empty = SparseRows([0, 0, 0], [], None, 5)
    np.testing.assert_array_equal(ref.sparse_rows_matmul(empty.indptr, empty.indices, None, w),
                                  np.zeros((2, 2)))
    np.testing.assert_array_equal(
        ref.sparse_rows_matmul_grad_weight(empty.indptr, empty.indices, None, np.ones((2, 2)), 5),
        np.zeros((5, 2)))


def test_the_data_gets_no_gradient_and_is_never_made_dense(monkeypatch):
    def refuse(self, dtype=None):
        raise AssertionError("sparse input was densified")

    monkeypatch.setattr(SparseRows, "to_dense", refuse)
    rng = np.random.default_rng(1)
    x = Tensor(_random_rows(rng, 4, 1000, binary=True))
    w = Tensor(rng.standard_normal((1000, 2)), requires_grad=True)
    fn = SparseRowsMatMul()
    y = fn(x, w)
    y.backward(np.ones((4, 2)))
    assert fn.needs_input_grad == (False, True)
    assert w.grad.shape == (1000, 2) and x.grad is None


@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
@pytest.mark.parametrize("binary", [True, False])
def test_fc_gradients_on_sparse_sequences(lengths, binary):
    rng = np.random.default_rng(2)
    kind = dt.sparse_binary_vector_sequence if binary else dt.sparse_float_vector_sequence
    s, d = L.data("s", kind(12)), L.data("d", dt.dense_vector_sequence(3))
    fc = L.fc(input=[s, d], size=4)
    layout = SequenceLayout.from_lengths(lengths)
    x = _random_rows(rng, layout.num_rows, 12, binary)
    dense = rng.standard_normal((layout.num_rows, 3))
    params = {spec.name: rng.standard_normal(spec.shape) for spec in fc.params}
    out = run_layer(fc, [(x, layout), (dense, layout)], params)
    expected = np.tanh(x.to_dense(np.float64) @ params["___fc_layer_0__.w0"]
                       + dense @ params["___fc_layer_0__.w1"] + params["___fc_layer_0__.wbias"])
    np.testing.assert_allclose(out.data, expected)
    assert out.seq == layout
    check_layer_gradients(fc, [(x, layout), (dense, layout)], params, wrt_inputs=[1])


@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_full_matrix_projection_gradients_on_sparse_rows(lengths):
    rng = np.random.default_rng(3)
    s = L.data("s", dt.sparse_float_vector_sequence(20))
    m = L.mixed(size=3, bias_attr=True, input=L.full_matrix_projection(s))
    assert [spec.shape for spec in m.params] == [(20, 3), (1, 3)]
    layout = SequenceLayout.from_lengths(lengths)
    x = _random_rows(rng, layout.num_rows, 20, binary=False)
    params = {spec.name: rng.standard_normal(spec.shape) for spec in m.params}
    out = run_layer(m, [(x, layout)], params)
    np.testing.assert_allclose(out.data, x.to_dense(np.float64) @ params["___mixed_0__.w0"]
                               + params["___mixed_0__.wbias"])
    check_layer_gradients(m, [(x, layout)], params, wrt_inputs=[])


def test_fed_samples_of_every_sparse_type():
    rng = np.random.default_rng(4)
    binary = L.data("binary", dt.sparse_binary_vector(6))
    floats = L.data("floats", dt.sparse_float_vector(6))
    seq = L.data("seq", dt.sparse_binary_vector_sequence(6))
    a = L.fc(input=[binary, floats], size=2, act=paddle.activation.Linear())
    b = L.mixed(size=2, input=L.full_matrix_projection(seq))
    samples = [([0, 5], [(1, 0.5), (5, -2.0)], [[1], [2, 3]]),
               ([], [(0, 3.0)], [[0, 1, 2, 3, 4, 5]])]
    net = Network([a, b])
    feed = Feeder(net.data_layers)(samples)
    params = {s.name: rng.standard_normal(s.shape).astype(np.float32)
              for s in net.param_specs.values()}
    values = net.forward(feed, RunContext({k: Tensor(v) for k, v in params.items()}))

    def dense(rows, weights=None):
        out = np.zeros((len(rows), 6), np.float32)
        for i, row in enumerate(rows):
            for j, k in enumerate(row):
                out[i, k] = 1.0 if weights is None else weights[i][j]
        return out

    xb = dense([[0, 5], []])
    xf = dense([[1, 5], [0]], [[0.5, -2.0], [3.0]])
    np.testing.assert_allclose(values[a.name].data, xb @ params["___fc_layer_0__.w0"]
                               + xf @ params["___fc_layer_0__.w1"]
                               + params["___fc_layer_0__.wbias"], rtol=1e-5, atol=1e-6)
    xs = dense([[1], [2, 3], [0, 1, 2, 3, 4, 5]])
    np.testing.assert_allclose(values[b.name].data, xs @ params["___mixed_0__.w0"], rtol=1e-5,
                               atol=1e-6)
    assert values[b.name].seq.lengths.tolist() == [2, 1]


def test_a_training_step_changes_only_the_weight_rows_the_batch_uses():
    words = L.data("words", dt.sparse_binary_vector(50))
    label = L.data("label", dt.integer_value(2))
    out = L.fc(input=words, size=2, act=paddle.activation.Softmax())
    cost = L.classification_cost(input=out, label=label)
    params = paddle.parameters.create(cost)
    before = params.get("___fc_layer_0__.w0").copy()
    samples = [([3, 10], 0), ([10, 41], 1), ([7], 1)]
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=0.5))
    trainer.train(paddle.batch(lambda: iter(samples), 3), num_passes=1)
    changed = np.flatnonzero(np.any(params.get("___fc_layer_0__.w0") != before, axis=1))
    assert changed.tolist() == [3, 7, 10, 41]


def test_layers_that_cannot_read_sparse_rows_refuse_them():
    s = L.data("s", dt.sparse_float_vector(8))
    for build in (lambda: L.mixed(input=L.dotmul_projection(s)),
                  lambda: L.mixed(input=L.scaling_projection(s)),
                  lambda: L.mixed(size=8, input=L.trans_full_matrix_projection(s))):
        with pytest.raises(ValueError, match=r"cannot read the sparse rows of s "
                           r"\(sparse_float_vector\(8\) data\); use full_matrix_projection or fc"):
            build()
    with pytest.raises(ValueError, match=r"dotmul_operator needs dense rows, but s .* gives "
                       "sparse rows"):
        L.mixed(input=L.dotmul_operator(s, s))


@pytest.mark.parametrize("sparse", [None, False, True, "auto"])
def test_inference_with_every_sparse_plan_setting(sparse):
    """The pruned-weight plan (``sparse=True``) multiplies dense inputs: an fc reading sparse
    rows runs its own forward whatever the setting."""
    s = L.data("s", dt.sparse_binary_vector(50))
    out = L.fc(input=s, size=3, act=paddle.activation.Linear(), bias_attr=False)
    params = paddle.parameters.create(out)
    result = paddle.infer(output_layer=out, parameters=params, input=[([1, 2],), ([49],)],
                          sparse=sparse)
    w = params.get("___fc_layer_0__.w0")
    np.testing.assert_allclose(result, np.stack([w[1] + w[2], w[49]]), rtol=1e-6)
