"""paddle.networks: v2's eighteen networks are all there, and the ones no other test builds
(dropout_layer, the image groups, the VGGs, lstmemory_unit and gru_unit on their own) give
v2's layer names, output sizes and parameter shapes."""

import numpy as np
import pytest

import minidl as paddle
from minidl.core import Tensor
from minidl.layers.graph import Network, RunContext

L, dt, act = paddle.layer, paddle.data_type, paddle.activation

V2_NETWORKS = ["sequence_conv_pool", "text_conv_pool", "img_conv_bn_pool", "img_conv_group",
               "simple_img_conv_pool", "small_vgg", "vgg_16_network", "lstmemory_unit",
               "lstmemory_group", "simple_lstm", "bidirectional_lstm", "gru_unit", "gru_group",
               "simple_gru", "simple_gru2", "bidirectional_gru", "simple_attention",
               "dropout_layer"]


def shapes(*outputs):
    return {name: spec.shape for name, spec in Network(list(outputs)).param_specs.items()}


def image(channels, side, name="img"):
    return L.data(name, dt.dense_vector(channels * side * side), height=side, width=side)


def forward(output, feed, rng, is_train=False):
    network = Network([output])
    params = {spec.name: Tensor(rng.standard_normal(spec.compute_shape) * 0.3)
              for spec in network.param_specs.values()}
    ctx = RunContext(params, is_train=is_train, rng=np.random.default_rng(0))
    return network.forward({k: Tensor(v) for k, v in feed.items()}, ctx)[output.name].data


def test_every_v2_network_is_exported():
    assert set(V2_NETWORKS) <= set(paddle.networks.__all__)
    for name in V2_NETWORKS:
        assert callable(getattr(paddle.networks, name)), name
    assert paddle.networks.text_conv_pool is paddle.networks.sequence_conv_pool


def test_dropout_layer_is_v2s_addto_with_a_drop_rate(rng):
    x = L.data("x", dt.dense_vector(300))
    drop = paddle.networks.dropout_layer(input=x, dropout_rate=0.3)
    assert (drop.name, drop.type, drop.size, drop.params) == ("__dropout_0__", "addto", 300, [])
    assert drop.layer_attr.drop_rate == 0.3 and isinstance(drop.act, act.Linear)
    values = rng.standard_normal((6, 300))
    np.testing.assert_allclose(forward(drop, {"x": values}, rng), 0.7 * values)
    trained = forward(drop, {"x": values}, rng, is_train=True)
    kept = trained != 0
    np.testing.assert_array_equal(trained[kept], values[kept])
    assert 0.6 < kept.mean() < 0.8
    named = paddle.networks.dropout_layer(input=x, dropout_rate=0.5, name="d")
    assert named.name == "d"
    with pytest.raises(ValueError, match=r"layer bad.*1.5"):
        paddle.networks.dropout_layer(input=x, dropout_rate=1.5, name="bad")


def test_simple_img_conv_pool_names_and_sizes(rng):
    img = image(2, 6)
    out = paddle.networks.simple_img_conv_pool(input=img, filter_size=3, num_filters=4,
                                               pool_size=2, pool_stride=2, num_channel=2,
                                               act=act.Relu())
    assert out.name == "__conv_pool_0___pool" and out.image_shape == (4, 2, 2)
    conv = out.inputs[0]
    assert conv.name == "__conv_pool_0___conv" and isinstance(conv.act, act.Relu)
    assert shapes(out) == {"___conv_pool_0___conv.w0": (1, 4 * 2 * 3 * 3),
                           "___conv_pool_0___conv.wbias": (4, 1)}
    assert forward(out, {"img": rng.standard_normal((3, 72))}, rng).shape == (3, 4, 2, 2)


def test_img_conv_bn_pool_names_and_sizes(rng):
    img = image(3, 4)
    out = paddle.networks.img_conv_bn_pool(input=img, filter_size=3, num_filters=5,
                                           pool_size=2, pool_stride=2, conv_padding=1,
                                           num_channel=3, act=act.Relu(), name="g")
    bn = out.inputs[0]
    conv = bn.inputs[0]
    assert (out.name, bn.name, conv.name) == ("g_pool", "g_bn", "g_conv")
    assert isinstance(conv.act, act.Linear) and isinstance(bn.act, act.Relu)
    assert out.image_shape == (5, 2, 2) and out.size == 20
    assert shapes(out) == {"_g_conv.w0": (1, 5 * 3 * 9), "_g_conv.wbias": (5, 1),
                           "_g_bn.w0": (1, 5), "_g_bn.w1": (1, 5), "_g_bn.w2": (1, 5),
                           "_g_bn.wbias": (1, 5)}
    y = forward(out, {"img": rng.standard_normal((2, 48))}, rng)
    assert y.shape == (2, 5, 2, 2) and np.isfinite(y).all()


def test_img_conv_group_with_batch_norm_and_drop_rates(rng):
    img = image(3, 8)
    out = paddle.networks.img_conv_group(input=img, conv_num_filter=[4, 6], pool_size=2,
                                         num_channels=3, pool_stride=2,
                                         conv_with_batchnorm=True,
                                         conv_batchnorm_drop_rate=[0.3, 0])
    assert out.type == "pool" and out.image_shape == (6, 4, 4)
    bn2 = out.inputs[0]
    conv2 = bn2.inputs[0]
    bn1 = conv2.inputs[0]
    assert [layer.name for layer in (conv2, bn1, bn1.inputs[0])] == [
        "__conv_1__", "__batch_norm_0__", "__conv_0__"]
    assert bn1.layer_attr.drop_rate == 0.3 and not bn2.layer_attr.drop_rate
    assert isinstance(bn1.act, act.Relu) and isinstance(conv2.act, act.Linear)
    assert shapes(out)["___conv_1__.w0"] == (1, 6 * 4 * 9)
    plain = paddle.networks.img_conv_group(input=img, conv_num_filter=[2], pool_size=2,
                                           num_channels=3, conv_act=act.Tanh())
    assert plain.inputs[0].type == "exconv" and isinstance(plain.inputs[0].act, act.Tanh)
    assert forward(out, {"img": rng.standard_normal((2, 192))}, rng).shape == (2, 6, 4, 4)


def test_small_vgg_layers_and_parameters():
    img = image(3, 32)
    out = paddle.networks.small_vgg(input_image=img, num_channels=3, num_classes=10)
    assert out.size == 10 and isinstance(out.act, act.Softmax)
    params = shapes(out)
    filters = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512]
    channels = [3] + filters[:-1]
    for i, (f, c) in enumerate(zip(filters, channels)):
        assert params[f"___conv_{i}__.w0"] == (1, f * c * 9)
        assert params[f"___batch_norm_{i}__.w0"] == (1, f)
    # four pools halve 32 to 2, the last to 1: the fc reads 512 x 1 x 1
    assert params["___fc_layer_0__.w0"] == (512, 512)
    assert params["___batch_norm_10__.w0"] == (1, 512)
    assert params["___fc_layer_1__.w0"] == (512, 10)
    dropout = out.inputs[0].inputs[0].inputs[0]
    assert dropout.name == "__dropout_0__" and dropout.layer_attr.drop_rate == 0.5


def test_vgg_16_network_layers_and_parameters():
    img = image(3, 32)
    out = paddle.networks.vgg_16_network(input_image=img, num_channels=3, num_classes=7)
    assert out.size == 7 and out.name == "__fc_layer_2__"
    params = shapes(out)
    filters = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    channels = [3] + filters[:-1]
    assert [params[f"___conv_{i}__.w0"] for i in range(13)] == [
        (1, f * c * 9) for f, c in zip(filters, channels)]
    assert params["___fc_layer_0__.w0"] == (512, 4096)
    assert params["___fc_layer_1__.w0"] == (4096, 4096)
    assert params["___fc_layer_2__.w0"] == (4096, 7)
    assert len(params) == 13 * 2 + 3 * 2
    assert out.inputs[0].layer_attr.drop_rate == 0.5


def test_lstmemory_unit_and_gru_unit_in_a_recurrent_group(rng):
    size = 3
    x4 = L.data("x4", dt.dense_vector_sequence(4 * size))
    x3 = L.data("x3", dt.dense_vector_sequence(3 * size))

    def lstm_step(ipt):
        return paddle.networks.lstmemory_unit(input=ipt, name="u")

    def gru_step(ipt):
        return paddle.networks.gru_unit(input=ipt, name="g")

    lstm = L.recurrent_group(step=lstm_step, input=x4, name="lg")
    gru = L.recurrent_group(step=gru_step, input=x3, name="gg")
    assert lstm.size == size and gru.size == size
    assert shapes(lstm) == {"_u_input_recurrent@lg.w1": (size, 4 * size),
                            "_u@lg.wbias": (1, 3 * size)}
    assert shapes(gru) == {"_g@gg.w0": (size, 3 * size), "_g@gg.wbias": (1, 3 * size)}
    x7 = L.data("x7", dt.dense_vector_sequence(7))
    with pytest.raises(ValueError, match=r"gru_unit bad: input x7 has size 7, not 3 \* size"):
        L.recurrent_group(step=lambda ipt: paddle.networks.gru_unit(input=ipt, name="bad"),
                          input=x7, name="bg")
    with pytest.raises(ValueError, match=r"lstmemory_unit bad: input x7 has size 7, not 4 \* "
                                         r"size"):
        L.recurrent_group(step=lambda ipt: paddle.networks.lstmemory_unit(input=ipt,
                                                                          name="bad"),
                          input=x7, name="bl")
