"""``embedding``: v2's construction (a mixed layer with one table_projection), its parameter
name and dims, lookups of id sequences, the scatter-add gradient through the swappable
``table_lookup_grad`` kernel, pretrained tables, ``is_static`` and ``sparse_update``."""

import numpy as np
import pytest

import minidl as paddle
from minidl.backends import registry
from minidl.core.sequence import SequenceLayout
from minidl.core.tensor import Tensor
from minidl.io.paramconfig import config_for
from minidl.layers.attrs import ParamAttr
from minidl.layers.graph import Network, RunContext
from minidl.training.feeding import Feeder

from sequence_helpers import RAGGED_LENGTHS, check_layer_gradients, run_layer

L = paddle.layer
dt = paddle.data_type


def test_embedding_is_paddles_mixed_layer_with_one_table():
    words = L.data("words", dt.integer_value_sequence(50))
    emb = L.embedding(input=words, size=8)
    assert (emb.name, emb.type, emb.size, emb.seq_level) == ("__embedding_0__", "mixed", 8, 1)
    assert isinstance(emb.act, paddle.activation.Linear)
    assert [(s.name, s.shape) for s in emb.params] == [("___embedding_0__.w0", (50, 8))]
    assert emb.params[0].default_std == pytest.approx(1 / np.sqrt(50))
    assert L.embedding(input=words, size=3).name == "__embedding_1__"
    assert L.embedding(input=words, size=3, name="emb").params[0].name == "_emb.w0"
    # the embedding counter is its own: a mixed layer still gets __mixed_0__
    assert L.mixed(input=L.identity_projection(emb)).name == "__mixed_0__"


@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_lookup_keeps_the_layout_and_its_gradient_checks(lengths):
    rng = np.random.default_rng(0)
    emb = L.embedding(input=L.data("w", dt.integer_value_sequence(6)), size=3)
    layout = SequenceLayout.from_lengths(lengths)
    ids = rng.integers(0, 6, layout.num_rows)
    ids[-1] = ids[0]  # a repeated id: its rows' gradients add up
    table = rng.standard_normal((6, 3))
    out = run_layer(emb, [(ids, layout)], {"___embedding_0__.w0": table})
    np.testing.assert_array_equal(out.data, table[ids])
    assert out.seq == layout
    check_layer_gradients(emb, [(ids, layout)], {"___embedding_0__.w0": table})


def test_nested_and_plain_ids():
    rng = np.random.default_rng(1)
    table = rng.standard_normal((5, 2))
    nested = L.embedding(input=L.data("n", dt.integer_value_sub_sequence(5)), size=2)
    layout = SequenceLayout.from_lengths(None, [[2, 1], [3]])
    ids = np.array([4, 0, 1, 2, 2, 3])
    out = run_layer(nested, [(ids, layout)], {"___embedding_0__.w0": table})
    assert out.seq == layout and out.seq.is_nested
    np.testing.assert_array_equal(out.data, table[ids])
    plain = L.embedding(input=L.data("p", dt.integer_value(5)), size=2)
    out = run_layer(plain, [(np.array([3, 3]), None)], {"___embedding_1__.w0": table})
    assert out.seq is None and plain.seq_level == 0
    np.testing.assert_array_equal(out.data, table[[3, 3]])


def test_backward_goes_through_the_table_lookup_grad_kernel(monkeypatch):
    reference = registry._KERNELS["numpy"]["table_lookup_grad"]
    calls = []

    def spy(ids, gy, num_rows):
        calls.append((np.asarray(ids).tolist(), num_rows))
        return reference(ids, gy, num_rows)

    monkeypatch.setitem(registry._KERNELS[registry.current_backend().name],
                        "table_lookup_grad", spy)
    emb = L.embedding(input=L.data("w", dt.integer_value_sequence(4)), size=2)
    table = Tensor(np.ones((4, 2)), requires_grad=True)
    ctx = RunContext({"___embedding_0__.w0": table})
    out = emb.compute(ctx, [Tensor(np.array([1, 3, 1]), seq=SequenceLayout.from_lengths([3]))])
    out.backward(np.full((3, 2), 2.0))
    assert calls == [([1, 3, 1], 4)]
    np.testing.assert_array_equal(table.grad, [[0, 0], [4, 4], [0, 0], [2, 2]])


def test_pretrained_tables_load_by_name_or_initializer():
    pretrained = np.arange(12, dtype=np.float32).reshape(6, 2)
    words = L.data("words", dt.integer_value_sequence(6))
    by_init = L.embedding(input=words, size=2,
                          param_attr=ParamAttr(name="emb", initializer=lambda name: pretrained))
    shared = L.embedding(input=words, size=2, param_attr=ParamAttr(name="emb"))
    fresh = L.embedding(input=words, size=2)
    params = paddle.parameters.create([by_init, shared, fresh])
    assert params.names() == ["emb", "___embedding_2__.w0"]
    np.testing.assert_array_equal(params.get("emb"), pretrained)
    params.set("___embedding_2__.w0", pretrained[::-1])
    net = Network([by_init, shared, fresh])
    feed = Feeder(net.data_layers)([([5, 0, 2],), ([1],)])
    ctx = RunContext({name: Tensor(params.get(name)) for name in params.names()})
    values = net.forward(feed, ctx)
    ids = [5, 0, 2, 1]
    np.testing.assert_array_equal(values[by_init.name].data, pretrained[ids])
    np.testing.assert_array_equal(values[shared.name].data, pretrained[ids])
    np.testing.assert_array_equal(values[fresh.name].data, pretrained[::-1][ids])
    assert values[fresh.name].seq.lengths.tolist() == [3, 1]


def _train_one_step(param_attr, samples):
    word = L.data("word", dt.integer_value(10))
    label = L.data("label", dt.integer_value(2))
    emb = L.embedding(input=word, size=4, param_attr=param_attr)
    out = L.fc(input=emb, size=2, act=paddle.activation.Softmax())
    cost = L.classification_cost(input=out, label=label)
    params = paddle.parameters.create(cost)
    before = params.get(emb.params[0].name).copy()
    trainer = paddle.trainer.SGD(cost, params, paddle.optimizer.Momentum(learning_rate=0.5))
    trainer.train(paddle.batch(lambda: iter(samples), len(samples)), num_passes=1)
    return before, params.get(emb.params[0].name)


def test_training_changes_only_the_rows_looked_up_and_static_tables_stay():
    samples = [(3, 0), (7, 1), (3, 1)]
    before, after = _train_one_step(None, samples)
    changed = np.flatnonzero(np.any(before != after, axis=1))
    assert changed.tolist() == [3, 7]
    before, after = _train_one_step(ParamAttr(is_static=True), samples)
    np.testing.assert_array_equal(before, after)


def test_sparse_update_is_accepted_and_recorded():
    emb = L.embedding(input=L.data("w", dt.integer_value_sequence(100)), size=4,
                      param_attr=ParamAttr(sparse_update=True))
    config = config_for(emb.params[0])
    assert config.sparse_update and list(config.dims) == [100, 4]


def test_errors_name_the_layer():
    dense = L.data("dense", dt.dense_vector(10))
    sparse = L.data("sparse", dt.sparse_binary_vector(10))
    words = L.data("words", dt.integer_value_sequence(10))
    with pytest.raises(ValueError, match=r"layer __embedding_0__ \(mixed\): table_projection "
                       r"looks up rows by integer id .* dense \(dense_vector\(10\) data\)"):
        L.embedding(input=dense, size=4)
    with pytest.raises(ValueError, match=r"layer e \(mixed\): table_projection .* sparse "
                       r"\(sparse_binary_vector\(10\) data\)"):
        L.embedding(input=sparse, size=4, name="e")
    for size in (0, 2.5, True):
        with pytest.raises(ValueError, match=rf"layer e \(embedding\): size={size!r} must be a "
                           "positive integer"):
            L.embedding(input=words, size=size, name="e")
    # fc cannot read ids as numbers: the id layer feeds an embedding instead
    with pytest.raises(ValueError, match=r"full_matrix_projection .* gives integer ids; use "
                       r"table_projection \(or embedding\)"):
        L.mixed(size=3, input=L.full_matrix_projection(words))
