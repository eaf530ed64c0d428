"""selective_fc: the selected-entries kernels against naive loops (hypothesis selections), the
layer against a dense fc computed by hand (with and without select, one or two inputs, on
sequences), float64 gradient checks, v2's names and transposed parameter dims, a tiny
training run with a softmax over the selected columns, and the errors."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minidl as paddle
from minidl.backends import kernel
from minidl.core.sequence import SequenceLayout
from minidl.core.sparse_rows import SparseRows

from conftest import to_numpy
from sequence_helpers import check_layer_gradients, run_layer

L = paddle.layer
dt = paddle.data_type


def selection(rng, num_rows, size, counts):
    """SparseRows selecting ``counts[i]`` distinct random columns of row i."""
    indices = [rng.choice(size, count, replace=False) for count in counts]
    indptr = np.concatenate([[0], np.cumsum(counts)])
    return SparseRows(indptr, np.concatenate(indices) if indices else [], None, size)


def naive_selected(x, w, sel):
    """The selected entries of ``x @ w^T`` by loops, in CSR order."""
    out = []
    for i in range(len(sel)):
        for c in sel.indices[sel.indptr[i]:sel.indptr[i + 1]]:
            out.append(sum(x[i, j] * w[c, j] for j in range(x.shape[1])))
    return np.array(out)


def naive_layer(xs, ws, bias, sel, act):
    """Dense ``(N, S)``: ``act`` of the selected pre-activations of each row, 0 elsewhere."""
    z = sum(x @ w.T for x, w in zip(xs, ws)) + bias
    out = np.zeros_like(z)
    for i in range(z.shape[0]):
        cols = sel.indices[sel.indptr[i]:sel.indptr[i + 1]]
        out[i, cols] = act(z[i, cols])
    return out


def softmax(v):
    e = np.exp(v - v.max())
    return e / e.sum()


# ---- kernels ----------------------------------------------------------------------------------

@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=20)
@given(n=st.integers(1, 4), i=st.integers(1, 4), s=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_selected_entries_kernels_match_naive_loops(backend, xp, n, i, s, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((n, i)), rng.standard_normal((s, i))
    sel = selection(rng, n, s, rng.integers(0, s + 1, n))
    rows, cols = sel.row_of_entries(), sel.indices
    values = kernel("selective_fc_forward")(xp.asarray(x), xp.asarray(w), rows, cols)
    np.testing.assert_allclose(to_numpy(values), naive_selected(x, w, sel), rtol=1e-12,
                               atol=1e-12)
    # the gradients against the dense product's, restricted to the selected entries
    gv = rng.standard_normal(len(cols))
    gx, gw = map(to_numpy, kernel("selective_fc_backward")(xp.asarray(x), xp.asarray(w), rows,
                                                           cols, xp.asarray(gv)))
    g_dense = np.zeros((n, s))
    g_dense[rows, cols] = gv
    np.testing.assert_allclose(gx, g_dense @ w, atol=1e-12)
    np.testing.assert_allclose(gw, g_dense.T @ x, atol=1e-12)
    dense = to_numpy(kernel("selected_entries_to_dense")(xp.asarray(gv), rows, cols, (n, s)))
    np.testing.assert_array_equal(dense, g_dense)
    np.testing.assert_array_equal(
        to_numpy(kernel("dense_to_selected_entries")(xp.asarray(g_dense), rows, cols)), gv)


# ---- the layer --------------------------------------------------------------------------------

def _params(rng, layer):
    return {spec.name: rng.standard_normal(spec.shape) for spec in layer.params}


def test_names_sizes_and_transposed_weights():
    x, y = L.data("x", dt.dense_vector(3)), L.data("y", dt.dense_vector(2))
    layer = L.selective_fc(input=[x, y], size=5, select=L.data("s", dt.sparse_binary_vector(5)))
    assert (layer.name, layer.type, layer.size) == ("__selective_fc_layer_0__", "selective_fc", 5)
    assert isinstance(layer.act, paddle.activation.Tanh)
    assert [p.name for p in layer.inputs] == ["x", "y", "s"]
    assert [(spec.name, spec.shape) for spec in layer.params] == [
        ("___selective_fc_layer_0__.w0", (5, 3)), ("___selective_fc_layer_0__.w1", (5, 2)),
        ("___selective_fc_layer_0__.wbias", (1, 5))]
    assert layer.params[0].default_std == pytest.approx(1 / math.sqrt(5))
    plain = L.selective_fc(input=x, size=4, bias_attr=False)
    assert [spec.shape for spec in plain.params] == [(4, 3)] and plain.inputs == [x]


@pytest.mark.parametrize("act,fn", [(paddle.activation.Softmax(), softmax),
                                    (None, np.tanh), (paddle.activation.Linear(), lambda v: v)])
def test_equal_counts_act_over_the_selected_columns(rng, act, fn):
    x, y = L.data("x", dt.dense_vector(3)), L.data("y", dt.dense_vector(2))
    layer = L.selective_fc(input=[x, y], size=6, act=act,
                           select=L.data("s", dt.sparse_binary_vector(6)), name="sel")
    params = _params(rng, layer)
    xv, yv = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    sel = selection(rng, 4, 6, [3, 3, 3, 3])
    inputs = [(xv, None), (yv, None), (sel, None)]
    out = run_layer(layer, inputs, params).data
    expected = naive_layer([xv, yv], [params["_sel.w0"], params["_sel.w1"]],
                           params["_sel.wbias"], sel, fn)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-15)
    if act is not None and act.name == "softmax":
        np.testing.assert_allclose(out.sum(axis=1), 1.0)
    check_layer_gradients(layer, inputs, params, wrt_inputs=[0, 1])


def test_rows_selecting_different_counts(rng):
    x = L.data("x", dt.dense_vector(3))
    select = L.data("s", dt.sparse_binary_vector(5))
    layer = L.selective_fc(input=x, size=5, select=select, name="sel")
    params = _params(rng, layer)
    xv = rng.standard_normal((3, 3))
    sel = selection(rng, 3, 5, [1, 4, 0])
    inputs = [(xv, None), (sel, None)]
    out = run_layer(layer, inputs, params).data
    np.testing.assert_allclose(out, naive_layer([xv], [params["_sel.w0"]], params["_sel.wbias"],
                                                sel, np.tanh), rtol=1e-12)
    assert (out[2] == 0).all()
    check_layer_gradients(layer, inputs, params, wrt_inputs=[0])
    softmax_layer = L.selective_fc(input=x, size=5, select=select, name="soft",
                                   act=paddle.activation.Softmax())
    with pytest.raises(ValueError, match=r"layer soft \(selective_fc\): activation softmax "
                                         r"normalises each row over its selected columns, which "
                                         r"needs every row to select the same number of "
                                         r"columns; got \[1, 4, 0\]"):
        run_layer(softmax_layer, inputs, _params(rng, softmax_layer))


def test_a_float_select_counts_only_its_pattern(rng):
    layer = L.selective_fc(input=L.data("x", dt.dense_vector(3)), size=4, name="f",
                           select=L.data("s", dt.sparse_float_vector(4)))
    params, xv = _params(rng, layer), rng.standard_normal((2, 3))
    binary = SparseRows([0, 2, 3], [0, 3, 1], None, 4)
    floats = SparseRows([0, 2, 3], [0, 3, 1], [5.0, -2.0, 0.5], 4)
    np.testing.assert_array_equal(run_layer(layer, [(xv, None), (floats, None)], params).data,
                                  run_layer(layer, [(xv, None), (binary, None)], params).data)


def test_without_select_it_is_an_fc_with_transposed_weights(rng):
    layer = L.selective_fc(input=L.data("x", dt.dense_vector(3)), size=4, name="full")
    params = _params(rng, layer)
    xv = rng.standard_normal((5, 3))
    out = run_layer(layer, [(xv, None)], params).data
    np.testing.assert_allclose(out, np.tanh(xv @ params["_full.w0"].T + params["_full.wbias"]))
    check_layer_gradients(layer, [(xv, None)], params)


def test_on_sequences_the_layout_is_kept(rng):
    layout = SequenceLayout.from_lengths([2, 1, 3])
    layer = L.selective_fc(input=L.data("x", dt.dense_vector_sequence(3)), size=4, name="sq",
                           select=L.data("s", dt.sparse_binary_vector_sequence(4)))
    params = _params(rng, layer)
    xv = rng.standard_normal((6, 3))
    sel = selection(rng, 6, 4, [2] * 6)
    inputs = [(xv, layout), (sel, layout)]
    out = run_layer(layer, inputs, params)
    assert out.seq == layout
    np.testing.assert_allclose(out.data, naive_layer([xv], [params["_sq.w0"]],
                                                     params["_sq.wbias"], sel, np.tanh))
    check_layer_gradients(layer, inputs, params, wrt_inputs=[0])


def test_run_time_errors(rng):
    layer = L.selective_fc(input=L.data("x", dt.dense_vector(2)), size=3, name="sel",
                           select=L.data("s", dt.sparse_binary_vector(3)))
    params = _params(rng, layer)
    twice = SparseRows([0, 2], [1, 1], None, 3)
    with pytest.raises(ValueError, match=r"select s names a column twice in one row"):
        run_layer(layer, [(np.ones((1, 2)), None), (twice, None)], params)
    with pytest.raises(ValueError, match=r"select s has 1 rows for 2 input rows"):
        run_layer(layer, [(np.ones((2, 2)), None), (SparseRows([0, 1], [0], None, 3), None)],
                  params)


# ---- training -----------------------------------------------------------------------------------

def test_training_with_a_softmax_over_the_selected_columns():
    """Each sample selects its gold class and two others; the cross entropy over the selected
    columns falls and the gold column wins."""
    paddle.init(use_gpu=False, trainer_count=1, seed=11)
    classes = 8
    x = L.data("x", dt.dense_vector(classes))
    select = L.data("sel", dt.sparse_binary_vector(classes))
    label = L.data("label", dt.integer_value(classes))
    out = L.selective_fc(input=x, size=classes, select=select, name="sfc",
                         act=paddle.activation.Softmax())
    cost = L.classification_cost(input=out, label=label)
    parameters = paddle.parameters.create(cost)
    assert parameters.get_shape("_sfc.w0") == (classes, classes)
    rng = np.random.default_rng(3)
    samples = []
    for _ in range(64):
        gold = int(rng.integers(classes))
        feature = np.eye(classes, dtype=np.float32)[(gold + 3) % classes]   # class = shift
        others = rng.choice([c for c in range(classes) if c != gold], 2, replace=False)
        samples.append((feature, sorted([gold, *others.tolist()]), gold))
    costs = []
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Adam(learning_rate=0.1))
    trainer.train(paddle.batch(lambda: iter(samples), 16), num_passes=10,
                  event_handler=lambda e: costs.append(e.cost)
                  if isinstance(e, paddle.event.EndIteration) else None)
    assert np.mean(costs[-4:]) < 0.1 * np.mean(costs[:4])
    probs = paddle.infer(output_layer=out, parameters=parameters,
                         input=[(s[0], s[1]) for s in samples[:8]],
                         feeding={"x": 0, "sel": 1})
    assert list(probs.argmax(axis=1)) == [s[2] for s in samples[:8]]


# ---- construction-time errors -------------------------------------------------------------------

def test_build_errors():
    x = L.data("x", dt.dense_vector(3))
    sparse5 = L.data("s5", dt.sparse_binary_vector(5))
    with pytest.raises(ValueError, match=r"layer f: select s5 has size 5; expected the layer's "
                                         r"size 4"):
        L.selective_fc(x, 4, select=sparse5, name="f")
    with pytest.raises(ValueError, match=r"layer f \(selective_fc\): select must be a "
                                         r"sparse_binary_vector\(4\) data layer"):
        L.selective_fc(x, 4, select=L.data("d", dt.dense_vector(4)), name="f")
    with pytest.raises(ValueError, match=r"layer f \(selective_fc\): input s5 gives sparse rows; "
                                         r"only select may be sparse"):
        L.selective_fc(sparse5, 5, name="f")
    with pytest.raises(ValueError, match=r"layer f: has_selected_colums=False says there is no "
                                         r"select input, but select=s5 was given"):
        L.selective_fc(x, 5, select=sparse5, has_selected_colums=False, name="f")
    with pytest.raises(ValueError, match=r"layer f: mul_ratio=2 must be a number in \[0, 1\]"):
        L.selective_fc(x, 5, mul_ratio=2, name="f")
    with pytest.raises(ValueError, match=r"layer f \(selective_fc\): act=SequenceSoftmax "
                                         r"normalises over timesteps"):
        L.selective_fc(x, 5, select=sparse5, act=paddle.activation.SequenceSoftmax(), name="f")
    with pytest.raises(ValueError, match=r"layer f: size=0 must be a positive integer"):
        L.selective_fc(x, 0, name="f")
    with pytest.raises(ValueError, match=r"layer f: 2 param_attr for 1 inputs"):
        L.selective_fc(x, 3, param_attr=[None, None], name="f")
