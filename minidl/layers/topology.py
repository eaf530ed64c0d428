"""``paddle.topology.Topology``: the network description, serialisable without pickle; and
``paddle.layer.parse_network``: the same network as Paddle's ``ModelConfig`` protobuf.

``serialize_for_inference(f)`` writes JSON (layer types, names, inputs, sizes, image
geometry, activations, parameter names and shapes). Book scripts call it to ship a model
description next to the parameter tarball; JSON cannot execute code when read back.
``Topology.proto()`` / :func:`parse_network` give the :class:`ModelConfig` message Paddle's
config parser wrote: layers in forward order with their inputs, input parameters, bias,
activation and image geometry; every ParameterConfig; input (data) and output layer names.
"""

import json

from ..io.modelconfig import ModelConfig
from ..io.paramconfig import config_for
from .graph import Network

FORMAT = "minidl-topology"


def _as_list(layers):
    if layers is None:
        return []
    return list(layers) if isinstance(layers, (list, tuple)) else [layers]


def _input_parameter(layer, index):
    """The name of the weight that multiplies input ``index`` (Paddle's ``.w<index>``)."""
    for spec in layer.params:
        if spec.name.endswith(f".w{index}"):
            return spec.name
    return None


def _fill_image_configs(layer, input_config):
    shape = getattr(layer, "input_shape", None)
    if layer.type in ("exconv", "cudnn_conv", "depthwise_conv") and shape is not None:
        (fy, fx), (sy, sx), (py, px) = layer.filter_size, layer.stride, layer.padding
        channels, height, width = shape
        _, out_h, out_w = layer.image_shape
        input_config.conv_conf.MergeFrom(input_config.conv_conf.__class__(
            filter_size=fx, filter_size_y=fy, channels=channels, stride=sx, stride_y=sy,
            padding=px, padding_y=py, groups=layer.groups,
            filter_channels=channels // layer.groups, output_x=out_w, output_y=out_h,
            img_size=width, img_size_y=height, caffe_mode=True,
            dilation=layer.dilation[1], dilation_y=layer.dilation[0]))
    elif layer.type == "pool" and shape is not None:
        (wy, wx), (sy, sx), (py, px) = layer.window, layer.stride, layer.padding
        channels, height, width = shape
        _, out_h, out_w = layer.image_shape
        input_config.pool_conf.MergeFrom(input_config.pool_conf.__class__(
            pool_type=f"{layer.kind}-projection", channels=channels, size_x=wx, size_y=wy,
            stride=sx, stride_y=sy, padding=px, padding_y=py, output_x=out_w,
            output_y=out_h, img_size=width, img_size_y=height))


def parse_network(output_layers, extra_layers=None):
    """The network that computes ``output_layers`` (and ``extra_layers``) as a Paddle
    ``ModelConfig`` message (:mod:`minidl.io.modelconfig`)."""
    outputs = _as_list(output_layers)
    network = Network(outputs + _as_list(extra_layers))
    model = ModelConfig(type="nn")
    for layer in network.layers:
        config = model.layers.add(name=layer.name, type=layer.type, size=int(layer.size))
        act = getattr(layer.act, "name", None)
        if act is not None:
            config.active_type = act
        if layer.image_shape:
            config.height, config.width = layer.image_shape[1], layer.image_shape[2]
            if hasattr(layer, "filter_size"):
                config.num_filters = layer.image_shape[0]
        for index, parent in enumerate(layer.inputs):
            input_config = config.inputs.add(input_layer_name=parent.name)
            weight = _input_parameter(layer, index)
            if weight is not None:
                input_config.input_parameter_name = weight
            _fill_image_configs(layer, input_config)
        for spec in layer.params:
            if spec.is_bias:
                config.bias_parameter_name = spec.name
        if hasattr(layer, "coeff"):
            config.coeff = layer.coeff
        if "classification_error_evaluator" in getattr(layer, "evaluators", ()):
            model.evaluators.add(name="classification_error_evaluator",
                                 type="classification_error",
                                 input_layers=[parent.name for parent in layer.inputs[:2]])
    for spec in network.param_specs.values():
        model.parameters.append(config_for(spec))
    model.input_layer_names.extend(layer.name for layer in network.data_layers)
    model.output_layer_names.extend(layer.name for layer in outputs)
    return model


class Topology:
    def __init__(self, layers, extra_layers=None):
        self.main_outputs = _as_list(layers)
        self.extra_outputs = _as_list(extra_layers)
        self.outputs = self.main_outputs + self.extra_outputs
        self.network = Network(self.outputs)

    def proto(self):
        """The network as Paddle's ``ModelConfig`` message (see :func:`parse_network`)."""
        return parse_network(self.main_outputs, self.extra_outputs)

    def layers(self):
        return list(self.network.layers)

    def get_layer(self, name):
        for layer in self.network.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"no layer named {name!r} in this topology")

    def data_layers(self):
        """{name: data layer}, in definition order."""
        return {layer.name: layer for layer in self.network.data_layers}

    def data_type(self):
        """[(name, InputType)] of the data layers, as Paddle's ``Topology.data_type()``."""
        return [(layer.name, layer.input_type) for layer in self.network.data_layers]

    def describe(self):
        """The network as plain data (what ``serialize_for_inference`` writes)."""
        layers = []
        for layer in self.network.layers:
            layers.append({
                "name": layer.name,
                "type": layer.type,
                "inputs": [parent.name for parent in layer.inputs],
                "size": layer.size,
                "image_shape": list(layer.image_shape) if layer.image_shape else None,
                "act": getattr(layer.act, "name", None),
                "params": [{"name": spec.name, "shape": list(spec.shape)}
                           for spec in layer.params],
            })
        return {"format": FORMAT, "version": 1, "layers": layers,
                "outputs": [layer.name for layer in self.outputs]}

    def serialize_for_inference(self, stream):
        """Write :meth:`describe` as UTF-8 JSON to a binary stream (or a path)."""
        text = json.dumps(self.describe(), indent=1).encode("utf-8")
        if isinstance(stream, (str, bytes)) or hasattr(stream, "__fspath__"):
            with open(stream, "wb") as f:
                f.write(text)
        else:
            stream.write(text)


def load_description(stream):
    """Read what :meth:`Topology.serialize_for_inference` wrote (plain data, no code)."""
    data = json.loads(stream.read() if hasattr(stream, "read") else open(stream, "rb").read())
    if data.get("format") != FORMAT:
        raise ValueError(f"not a minidl topology file (format={data.get('format')!r})")
    return data

__all__ = ["FORMAT", "Topology", "load_description", "parse_network"]
