"""``concat`` of projections (Paddle's ``concat2`` layer): the projections' outputs side by
side, each with its own parameter (or one shared by name, as the book's word2vec shares its
embedding table): values against a naive loop, v2's sizes, names and dims, float64 gradients
(a shared table and ragged sequences), a network trained through the trainer, build errors."""

import numpy as np
import pytest

import minidl as paddle
from minidl.layers.attrs import ParamAttr
from minidl.layers.graph import Network

from sequence_helpers import RAGGED_LENGTHS, check_layer_gradients, ragged, run_layer

L = paddle.layer
dt = paddle.data_type


def _ids(name, count, sequence=False):
    kind = dt.integer_value_sequence if sequence else dt.integer_value
    return L.data(name=name, type=kind(count))


def test_concat_of_projections_is_a_concat2_layer_with_one_parameter_per_projection():
    paddle.layer.reset_names()
    a, b = _ids("a", 7), L.data(name="b", type=dt.dense_vector(5))
    layer = L.concat(input=[L.table_projection(input=a, size=3),
                            L.full_matrix_projection(input=b, size=4),
                            L.identity_projection(input=b)])
    assert (layer.type, layer.name, layer.size) == ("concat2", "__concat_0__", 3 + 4 + 5)
    assert [(s.name, s.shape) for s in layer.params] == [("___concat_0__.w0", (7, 3)),
                                                        ("___concat_0__.w1", (5, 4))]
    assert [p.name for p in layer.inputs] == ["a", "b", "b"]
    assert type(layer.act).__name__ == "Identity"
    # concat of layers is still the plain concat layer, named from the same counter
    plain = L.concat(input=[a, b])
    assert (plain.type, plain.name, plain.size) == ("concat", "__concat_1__", 12)


def test_values_are_the_projections_side_by_side():
    rng = np.random.default_rng(0)
    ids, x = _ids("ids", 6), L.data(name="x", type=dt.dense_vector(4))
    layer = L.concat(input=[L.table_projection(input=ids, size=2),
                            L.full_matrix_projection(input=x, size=3),
                            L.identity_projection(input=x)], name="c",
                     bias_attr=ParamAttr(name="bias"), act=paddle.activation.Tanh())
    table, w, bias = rng.standard_normal((6, 2)), rng.standard_normal((4, 3)), \
        rng.standard_normal((1, 9))
    id_values, x_values = np.array([5, 0, 3]), rng.standard_normal((3, 4))
    out = run_layer(layer, [(id_values, None), (x_values, None), (x_values, None)],
                    {"_c.w0": table, "_c.w1": w, "bias": bias})
    expected = np.empty((3, 9))
    for i in range(3):  # row by row: [table row | x @ W | x] + bias, through tanh
        expected[i] = np.tanh(np.concatenate([table[id_values[i]], x_values[i] @ w,
                                              x_values[i]]) + bias[0])
    np.testing.assert_allclose(out.data, expected, rtol=1e-6)


def test_one_table_shared_by_name_across_four_words_gets_every_gradient():
    """The book's word2vec: four table projections of one ``_proj`` parameter."""
    rng = np.random.default_rng(1)
    words = [_ids(f"w{i}", 9) for i in range(4)]
    table = ParamAttr(name="_proj")
    layer = L.concat(input=[L.table_projection(input=w, size=3, param_attr=table)
                            for w in words], name="ctx")
    assert [s.name for s in layer.params] == ["_proj"] * 4
    net = Network(layer)
    assert list(net.param_specs) == ["_proj"] and net.param_specs["_proj"].shape == (9, 3)
    ids = [rng.integers(0, 9, 5) for _ in words]
    ids[2][:] = ids[0]  # the same row looked up by two words: both gradients add up
    check_layer_gradients(layer, [(i, None) for i in ids],
                          {"_proj": rng.standard_normal((9, 3))})


@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
def test_float64_gradients_on_ragged_sequences(lengths):
    rng = np.random.default_rng(2)
    x = L.data(name="x", type=dt.dense_vector_sequence(3))
    ids = _ids("ids", 5, sequence=True)
    layer = L.concat(input=[L.context_projection(input=x, context_len=3,
                                                 padding_attr=ParamAttr(name="pad")),
                            L.table_projection(input=ids, size=2),
                            L.dotmul_projection(input=x)],
                     name="c", bias_attr=ParamAttr(name="b"), act=paddle.activation.Sigmoid())
    assert layer.size == 9 + 2 + 3 and layer.seq_level == 1
    values, layout = ragged(rng, lengths, 3)
    id_values = rng.integers(0, 5, layout.num_rows)
    params = {"pad": rng.standard_normal((2, 3)), "_c.w1": rng.standard_normal((5, 2)),
              "_c.w2": rng.standard_normal((1, 3)), "b": rng.standard_normal((1, 14))}
    inputs = [(values, layout), (id_values, layout), (values, layout)]  # x, ids, x
    out = run_layer(layer, inputs, params)
    assert out.shape == (layout.num_rows, 14) and out.seq is layout
    check_layer_gradients(layer, inputs, params)


def test_a_word2vec_like_network_trains_and_infers():
    paddle.init(use_gpu=False, trainer_count=1, seed=3)
    words = [_ids(f"w{i}", 8) for i in range(2)]
    nxt = _ids("next", 8)
    table = ParamAttr(name="_proj", initial_std=0.1)
    context = L.concat(input=[L.table_projection(input=w, size=4, param_attr=table)
                              for w in words])
    predict = L.fc(input=context, size=8, act=paddle.activation.Softmax())
    cost = L.classification_cost(input=predict, label=nxt)
    parameters = paddle.parameters.create(cost)
    assert parameters.get_shape("_proj") == (8, 4)
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Adam(learning_rate=0.05))
    samples = [(a, (a + 1) % 8, (a + 2) % 8) for a in range(8)] * 4  # next = w1 + 1
    costs = []

    def handler(event):
        if isinstance(event, paddle.event.EndIteration):
            costs.append(event.cost)

    trainer.train(paddle.batch(lambda: iter(samples), 8), num_passes=15, event_handler=handler)
    assert np.all(np.isfinite(costs)) and np.mean(costs[-4:]) < 0.5 * np.mean(costs[:4])
    probabilities = paddle.infer(output_layer=predict, parameters=parameters,
                                 input=[(1, 2), (5, 6)])
    assert probabilities.shape == (2, 8)
    assert list(probabilities.argmax(axis=1)) == [3, 7]


def test_build_errors():
    ids, x = _ids("ids", 4), L.data(name="x", type=dt.dense_vector(3))
    with pytest.raises(ValueError, match=r"layer c \(concat of projections\): input 1 is "
                                         r"<DataLayer x.*only layers or only projections"):
        L.concat(input=[L.table_projection(input=ids, size=2), x], name="c")
    with pytest.raises(ValueError, match=r"input 0 is dotmul_operator\(x, x\)"):
        L.concat(input=[L.dotmul_operator(a=x, b=x)], name="c")
    with pytest.raises(ValueError, match=r"table_projection\(input=ids\) does not fix its "
                                         r"output width; give the projection a size"):
        L.concat(input=[L.table_projection(input=ids)], name="c")
    with pytest.raises(ValueError, match="needs an integer_value"):
        L.concat(input=[L.table_projection(input=x, size=2)], name="c")
    with pytest.raises(ValueError, match="bias_attr must be a ParamAttr"):
        L.concat(input=[L.identity_projection(input=x)], name="c", bias_attr="yes")
