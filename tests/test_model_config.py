"""``paddle.layer.parse_network`` / ``Topology.proto()``: Paddle's ModelConfig message, and
``Topology.data_type()`` with v2's ``InputType.type``."""

import minidl as paddle
from minidl.io.modelconfig import LayerConfig, ModelConfig
from minidl.io.paramconfig import ParameterConfig
from minidl.layers.base import reset_names
from minidl.models.book_mnist import build_conv_network


def _varint_field(number, value):
    assert value < 128
    return bytes([number << 3 | 0, value])


def _bytes_field(number, text):
    data = text.encode()
    return bytes([number << 3 | 2, len(data)]) + data


def test_wire_format_uses_paddles_field_numbers():
    """Encoded by hand from ModelConfig.proto: name=1, type=2, size=3, active_type=4."""
    layer = LayerConfig(name="a", type="fc", size=3, active_type="relu")
    assert layer.SerializeToString() == (_bytes_field(1, "a") + _bytes_field(2, "fc")
                                         + _varint_field(3, 3) + _bytes_field(4, "relu"))
    model = ModelConfig(type="nn", input_layer_names=["x"], output_layer_names=["y"])
    assert model.SerializeToString() == (_bytes_field(1, "nn") + _bytes_field(4, "x")
                                         + _bytes_field(5, "y"))


def test_conv_network_as_paddle_writes_it():
    reset_names()
    cost, prediction = build_conv_network()
    model = paddle.layer.parse_network(cost)
    names = [layer.name for layer in model.layers]
    assert names == ["pixel", "__conv_pool_0___conv", "__conv_pool_0___pool",
                     "__conv_pool_1___conv", "__conv_pool_1___pool", "__fc_layer_0__", "label",
                     "__cost_0__"]
    assert list(model.input_layer_names) == ["pixel", "label"]
    assert list(model.output_layer_names) == ["__cost_0__"]
    conv = model.layers[1]
    assert (conv.type, conv.size, conv.active_type, conv.num_filters) == ("exconv", 11520,
                                                                         "relu", 20)
    assert conv.inputs[0].input_layer_name == "pixel"
    assert conv.inputs[0].input_parameter_name == "___conv_pool_0___conv.w0"
    assert conv.bias_parameter_name == "___conv_pool_0___conv.wbias"
    c = conv.inputs[0].conv_conf
    assert (c.filter_size, c.channels, c.stride, c.padding, c.output_x, c.img_size) == \
        (5, 1, 1, 0, 24, 28)
    pool = model.layers[4].inputs[0].pool_conf
    assert (pool.pool_type, pool.channels, pool.size_x, pool.stride, pool.output_x,
            pool.img_size) == ("max-projection", 50, 2, 2, 4, 8)
    fc = model.layers[5]
    assert (fc.type, fc.size, fc.active_type) == ("fc", 10, "softmax")
    assert [e.type for e in model.evaluators] == ["classification_error"]

    # the parameters are the configs a tarball would hold
    parameters = paddle.parameters.create(cost)
    assert [p.name for p in model.parameters] == parameters.names()
    for config in model.parameters:
        assert config == ParameterConfig.FromString(
            parameters.config(config.name).SerializeToString())

    # bytes round trip
    again = ModelConfig.FromString(model.SerializeToString())
    assert again == model


def test_topology_proto_and_data_type():
    reset_names()
    x = paddle.layer.data("x", paddle.data_type.dense_vector(4))
    words = paddle.layer.data("words", paddle.data_type.integer_value_sequence(30))
    tags = paddle.layer.data("tags", paddle.data_type.sparse_binary_vector(7))
    values = paddle.layer.data("values", paddle.data_type.sparse_float_vector(7))
    emb = paddle.layer.embedding(input=words, size=4)
    pooled = paddle.layer.pooling(input=emb, pooling_type=paddle.pooling.Sum())
    out = paddle.layer.fc(input=[x, pooled, tags, values], size=2,
                          act=paddle.activation.Softmax())
    topology = paddle.topology.Topology(out)
    types = dict(topology.data_type())
    DataType = paddle.data_type.DataType
    assert {name: t.type for name, t in types.items()} == {
        "x": DataType.Dense, "words": DataType.Index, "tags": DataType.SparseNonValue,
        "values": DataType.SparseValue}
    assert types["words"].seq_type == paddle.data_type.SequenceType.SEQUENCE
    model = topology.proto()
    assert list(model.input_layer_names) == [name for name, _ in topology.data_type()]
    fc = [layer for layer in model.layers if layer.type == "fc"][0]
    assert [i.input_parameter_name for i in fc.inputs] == [
        f"{'_' + fc.name}.w{i}" for i in range(4)]
