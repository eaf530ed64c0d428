"""``paddle.parameters``: the Parameters object, initialisation and ParameterConfig."""

import io
import math
import re

import numpy as np
import pytest

import minidl
from minidl.core import random as minidl_random
from minidl.layers.activations import Linear
from minidl.layers.attrs import Hook, ParamAttr
from minidl.layers.data_types import dense_vector
from minidl.io.paramconfig import ParameterConfig
from minidl.layers.base import Layer, reset_names
from minidl.layers.data import data
from minidl.layers.fc import fc
from minidl.training.parameters import Parameters, create

W0 = "___fc_layer_0__.w0"
BIAS = "___fc_layer_0__.wbias"


def small_net():
    """Two inputs into one fc: ``w0 (4, 3)``, ``w1 (2, 3)``, bias ``(1, 3)``."""
    a = data("a", dense_vector(4))
    b = data("b", dense_vector(2))
    return fc(input=[a, b], size=3)


# --- the dictionary side ---------------------------------------------------------------

def test_names_follow_definition_order():
    x = data("x", dense_vector(4))
    hidden = fc(input=x, size=3, name="hidden")
    out = fc(input=[hidden, x], size=2, name="out")
    parameters = create(out)
    expected = ["_hidden.w0", "_hidden.wbias", "_out.w0", "_out.w1", "_out.wbias"]
    assert parameters.names() == parameters.keys() == list(parameters) == expected
    assert len(parameters) == 5
    assert parameters.has_key("_out.w1") and "_out.w1" in parameters
    assert not parameters.has_key("_out.w2") and "_out.w2" not in parameters and 3 not in parameters
    assert [parameters.get_shape(n) for n in expected] == [(4, 3), (1, 3), (3, 2), (4, 2), (1, 2)]


def test_create_accepts_a_list_and_shares_named_parameters():
    x = data("x", dense_vector(4))
    shared = ParamAttr(name="shared_w")
    one = fc(input=x, size=3, param_attr=shared, bias_attr=False)
    two = fc(input=x, size=3, param_attr=shared, bias_attr=False)
    assert create([one, two]).names() == ["shared_w"]


def test_get_returns_a_float32_copy():
    parameters = create(small_net())
    value = parameters.get(W0)
    assert value.dtype == np.float32 and value.shape == (4, 3)
    value[...] = 7.0
    assert not np.any(parameters.get(W0) == 7.0)
    assert parameters[W0] is not parameters[W0]


def test_set_casts_to_float32_and_accepts_array_likes():
    parameters = create(small_net())
    parameters.set(W0, np.arange(12, dtype=np.float64).reshape(4, 3) / 3)
    np.testing.assert_array_equal(parameters.get(W0),
                                  (np.arange(12).reshape(4, 3) / 3).astype(np.float32))
    parameters[BIAS] = [[1, 2, 3]]
    np.testing.assert_array_equal(parameters[BIAS], [[1, 2, 3]])
    parameters.set(BIAS, np.array([[np.nan, np.inf, -np.inf]]))
    assert np.isnan(parameters.get(BIAS)[0, 0]) and np.isinf(parameters.get(BIAS)[0, 1:]).all()


@pytest.mark.parametrize("bad", [np.zeros((3, 4)), np.zeros(12), np.zeros((4, 3, 1)), 1.0])
def test_set_with_a_wrong_shape_names_both_shapes_and_keeps_the_value(bad):
    parameters = create(small_net())
    before = parameters.get(W0)
    pattern = f"{re.escape(W0)}.*{re.escape(str(np.shape(bad)))}.*{re.escape('(4, 3)')}"
    with pytest.raises(ValueError, match=pattern):
        parameters.set(W0, bad)
    np.testing.assert_array_equal(parameters.get(W0), before)


def test_set_with_a_non_numeric_value_names_the_parameter():
    parameters = create(small_net())
    with pytest.raises(ValueError, match=BIAS):
        parameters.set(BIAS, [["a", "b", "c"]])


@pytest.mark.parametrize("method", ["get", "get_shape", "get_grad", "value", "config"])
def test_unknown_names_raise_key_and_value_errors_listing_known_names(method):
    parameters = create(small_net())
    for error in (KeyError, ValueError):
        with pytest.raises(error, match=r"no parameter named '___fc_layer_0__\.w9'.*did you "
                                        r"mean.*___fc_layer_0__\.w0"):
            getattr(parameters, method)("___fc_layer_0__.w9")
    with pytest.raises(KeyError, match="known: ___fc_layer_0__.w0, ___fc_layer_0__.w1"):
        parameters.set("nothing_like_it", np.zeros((1, 3)))


def test_gradients_are_zeros_until_set_and_copied_in_paddle_dims():
    parameters = create(small_net())
    np.testing.assert_array_equal(parameters.get_grad(W0), np.zeros((4, 3), np.float32))
    grad = np.arange(12, dtype=np.float32)
    parameters.set_grad(W0, grad)
    got = parameters.get_grad(W0)
    assert got.shape == (4, 3)
    np.testing.assert_array_equal(got.ravel(), grad)
    got[...] = 0
    np.testing.assert_array_equal(parameters.get_grad(W0).ravel(), grad)
    with pytest.raises(ValueError, match=rf"{W0}.*\(5,\).*5 elements, expected 12"):
        parameters.set_grad(W0, np.zeros(5))


def test_static_parameters_report_zero_gradients():
    x = data("x", dense_vector(3))
    parameters = create(fc(input=x, size=2, param_attr=ParamAttr(is_static=True)))
    parameters.set_grad(W0, np.ones((3, 2), np.float32))
    np.testing.assert_array_equal(parameters.get_grad(W0), np.zeros((3, 2)))


class TwoShapes(Layer):
    """A layer whose weight is stored flat but computed as 4-D (as a conv weight)."""

    type = "two_shapes"

    def __init__(self, input, extra=None):
        super().__init__("two", [input], 1)
        self.add_param("w0", (1, 24), ParamAttr(), default_std=0.1,
                       compute_shape=(2, 3, 2, 2), extra=extra or {})


def test_compute_view_shares_memory_and_set_updates_it_in_place():
    parameters = create(TwoShapes(data("x", dense_vector(3))))
    view = parameters.compute_view("_two.w0")
    assert view.shape == (2, 3, 2, 2)
    assert np.shares_memory(view, parameters.value("_two.w0"))
    parameters.set("_two.w0", np.arange(24, dtype=np.float32).reshape(1, 24))
    np.testing.assert_array_equal(view.ravel(), np.arange(24))
    view[0, 0, 0, 0] = -5
    assert parameters.get("_two.w0")[0, 0] == -5
    assert parameters.spec("_two.w0").compute_shape == (2, 3, 2, 2)


def test_parameters_read_from_a_tarball_have_no_spec():
    out = io.BytesIO()
    create(TwoShapes(data("x", dense_vector(3)))).to_tar(out)
    loaded = Parameters.from_tar(io.BytesIO(out.getvalue()))
    assert loaded.spec("_two.w0") is None
    assert loaded.compute_view("_two.w0").shape == (1, 24)


def test_append_config_declares_a_parameter_and_refuses_duplicates():
    parameters = Parameters()
    config = ParameterConfig(name="p", size=6)
    config.dims.extend([2, 3])
    parameters.__append_config__(config)
    assert parameters.names() == ["p"] and parameters.get_shape("p") == (2, 3)
    np.testing.assert_array_equal(parameters.get("p"), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="duplicated parameter p"):
        parameters.append_config(config)
    with pytest.raises(ValueError, match="paddle.ParameterConfig"):
        parameters.append_config({"name": "q"})


# --- initialisation --------------------------------------------------------------------

def test_fc_weights_are_normal_with_std_one_over_sqrt_fan_in_and_biases_zero():
    minidl_random.seed(0)
    x = data("x", dense_vector(400))
    parameters = create(fc(input=x, size=500))
    w = parameters.get(W0).astype(np.float64)
    assert abs(w.mean()) < 3 * 0.05 / math.sqrt(w.size)
    assert w.std() == pytest.approx(1 / math.sqrt(400), rel=0.01)
    # normal, not uniform: kurtosis 3
    assert np.mean((w / w.std()) ** 4) == pytest.approx(3.0, abs=0.05)
    np.testing.assert_array_equal(parameters.get(BIAS), np.zeros((1, 500)))


def test_param_attr_mean_std_min_max_are_honoured():
    minidl_random.seed(1)
    x = data("x", dense_vector(300))
    layers = [fc(input=x, size=200, name="normal",
                 param_attr=ParamAttr(initial_mean=2.0, initial_std=0.5),
                 bias_attr=ParamAttr(initial_mean=0.25, initial_std=0.0)),
              fc(input=x, size=200, name="uniform",
                 param_attr=ParamAttr(initial_min=-0.3, initial_max=0.1)),
              fc(input=x, size=200, name="mean_only", param_attr=ParamAttr(initial_mean=1.0))]
    parameters = create(layers)
    normal = parameters.get("_normal.w0").astype(np.float64)
    assert normal.mean() == pytest.approx(2.0, abs=0.01)
    assert normal.std() == pytest.approx(0.5, rel=0.01)
    np.testing.assert_array_equal(parameters.get("_normal.wbias"), np.full((1, 200), 0.25))
    uniform = parameters.get("_uniform.w0")
    assert uniform.min() >= np.float32(-0.3) and uniform.max() <= np.float32(0.1)
    assert uniform.min() < -0.29 and uniform.max() > 0.09
    assert uniform.astype(np.float64).std() == pytest.approx(0.4 / math.sqrt(12), rel=0.02)
    mean_only = parameters.get("_mean_only.w0").astype(np.float64)
    assert mean_only.mean() == pytest.approx(1.0, abs=0.01)
    assert mean_only.std() == pytest.approx(1 / math.sqrt(300), rel=0.02)


def test_initializer_is_called_with_the_name_and_its_shape_checked():
    seen = []

    def initializer(name):
        seen.append(name)
        return np.full((3, 2), 0.5)

    x = data("x", dense_vector(3))
    parameters = create(fc(input=x, size=2, param_attr=ParamAttr(initializer=initializer)))
    assert seen == [W0]
    np.testing.assert_array_equal(parameters.get(W0), np.full((3, 2), 0.5, np.float32))

    x = data("y", dense_vector(3))
    wrong = ParamAttr(initializer=lambda name: np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"_wrong\.w0.*\(2, 3\), expected \(3, 2\)"):
        create(fc(input=x, size=2, name="wrong", param_attr=wrong))


def test_initializer_may_return_the_compute_shape():
    attr_layer = TwoShapes(data("x", dense_vector(3)))
    attr_layer.params[0].attr = ParamAttr(initializer=lambda name: np.ones((2, 3, 2, 2)))
    parameters = create(attr_layer)
    np.testing.assert_array_equal(parameters.get("_two.w0"), np.ones((1, 24)))


def test_seed_makes_initialisation_reproducible():
    def draw(seed):
        reset_names()
        minidl_random.seed(seed)
        return create(small_net()).get(W0)

    np.testing.assert_array_equal(draw(3), draw(3))
    assert not np.array_equal(draw(3), draw(4))
    reset_names()
    minidl.init(seed=11)
    first = create(small_net()).get(W0)
    reset_names()
    minidl.init(seed=11)
    np.testing.assert_array_equal(create(small_net()).get(W0), first)


def test_conv_weights_use_paddles_conv_std():
    from minidl.v2.layer import img_conv
    minidl_random.seed(2)
    image = data("image", dense_vector(8 * 12 * 12), height=12, width=12)
    conv = img_conv(input=image, filter_size=5, num_filters=64, num_channels=8)
    parameters = create(conv)
    w = parameters.get("___conv_0__.w0").astype(np.float64)
    std = math.sqrt(2 / (5 * 5 * 8))
    assert w.std() == pytest.approx(std, rel=0.03)
    config = parameters.config("___conv_0__.w0")
    assert config.initial_std == std and not config.initial_smart
    np.testing.assert_array_equal(parameters.get("___conv_0__.wbias"), np.zeros((64, 1)))


# --- ParameterConfig -------------------------------------------------------------------

def set_fields(config):
    return {field.name for field, _ in config.ListFields()}


def test_default_fc_configs_match_paddles_fields():
    parameters = create(small_net())
    weight, bias = parameters.config(W0), parameters.config(BIAS)
    always = {"name", "size", "dims", "initial_mean", "initial_std", "initial_strategy",
              "initial_smart"}
    assert set_fields(weight) == set_fields(bias) == always
    assert (weight.initial_std, weight.initial_smart) == (0.5, True)
    assert (parameters.config("___fc_layer_0__.w1").initial_std, bias.initial_std) == (
        1 / math.sqrt(2), 0.0)
    assert not bias.initial_smart


def test_param_attr_fields_reach_the_config():
    x = data("x", dense_vector(4))
    attr = ParamAttr(learning_rate=0.5, momentum=0.9, l2_rate=1e-4, l1_rate=1e-5,
                     gradient_clipping_threshold=10.0, initial_min=-1.0, initial_max=3.0,
                     update_hooks=Hook("pruning", sparsity_ratio=0.75))
    parameters = create(fc(input=x, size=2, param_attr=attr,
                           bias_attr=ParamAttr(sparse_update=True)))
    config = parameters.config(W0)
    assert (config.learning_rate, config.momentum, config.decay_rate, config.decay_rate_l1,
            config.gradient_clipping_threshold) == (0.5, 0.9, 1e-4, 1e-5, 10.0)
    assert (config.initial_strategy, config.initial_mean, config.initial_std,
            config.initial_smart) == (1, 1.0, 2.0, False)
    assert [(h.type, h.sparsity_ratio) for h in config.update_hooks] == [("pruning", 0.75)]
    assert not config.HasField("is_static")
    bias = parameters.config(BIAS)
    assert bias.sparse_update and bias.sparse_remote_update


def test_static_parameters_drop_rates_and_dynamic_pruning_stores_its_bound():
    x = data("x", dense_vector(4))
    parameters = create([
        fc(input=x, size=2, name="frozen", param_attr=ParamAttr(is_static=True,
                                                                learning_rate=2.0)),
        fc(input=x, size=2, name="pruned", param_attr=ParamAttr(
            update_hooks=[Hook("dynamic_pruning", upper_bound=0.9)]))])
    frozen = parameters.config("_frozen.w0")
    assert frozen.is_static and not frozen.HasField("learning_rate")
    hooks = parameters.config("_pruned.w0").update_hooks
    assert [(h.type, h.sparsity_ratio) for h in hooks] == [("dynamic_pruning", 0.9)]


def test_layers_can_override_dims_and_smart_flag():
    layer = TwoShapes(data("x", dense_vector(3)),
                      extra={"config_dims": (), "initial_smart": False})
    parameters = create(layer)
    config = parameters.config("_two.w0")
    assert list(config.dims) == [] and not config.initial_smart
    assert parameters.get_shape("_two.w0") == (1, 24)
    out = io.BytesIO()
    parameters.to_tar(out)
    assert Parameters.from_tar(io.BytesIO(out.getvalue())).get_shape("_two.w0") == (1, 24)


def test_config_bytes_parse_back_with_the_same_fields():
    x = data("x", dense_vector(4))
    parameters = create(fc(input=x, size=2, act=Linear(), param_attr=ParamAttr(momentum=0.5)))
    config = parameters.config(W0)
    assert ParameterConfig.FromString(config.SerializeToString()) == config
    assert config.DESCRIPTOR.full_name == "paddle.ParameterConfig"
    assert config.DESCRIPTOR.fields_by_name["update_hooks"].number == 20
