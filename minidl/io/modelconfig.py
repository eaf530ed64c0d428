"""``paddle.ModelConfig``: the protobuf message describing a whole network.

Built at run time like :mod:`.paramconfig` (and in the same descriptor pool, since a
ModelConfig holds ParameterConfigs), with the field numbers, types and defaults of
Paddle's ``proto/ModelConfig.proto`` -- the messages and fields a feed-forward or sequence
network built from minidl's layers fills. Bytes written here parse with Paddle's generated
classes, and Paddle's bytes parse here (fields not declared here are kept as unknown
fields). :func:`minidl.layers.topology.parse_network` fills it.
"""

from google.protobuf import descriptor_pb2

from .paramconfig import PARAMETER_CONFIG_FILE, POOL, add_message, message_class

#: (number, name, type, label, default), message by message, as in Paddle's proto file
IMAGE_CONFIG_FIELDS = (
    (2, "channels", "uint32", "required", None),
    (8, "img_size", "uint32", "required", None),
    (9, "img_size_y", "uint32", "optional", None),
)

CONV_CONFIG_FIELDS = (
    (1, "filter_size", "uint32", "required", None),
    (2, "channels", "uint32", "required", None),
    (3, "stride", "uint32", "required", None),
    (4, "padding", "uint32", "required", None),
    (5, "groups", "uint32", "required", None),
    (6, "filter_channels", "uint32", "required", None),
    (7, "output_x", "uint32", "required", None),
    (8, "img_size", "uint32", "required", None),
    (9, "caffe_mode", "bool", "required", "true"),
    (10, "filter_size_y", "uint32", "required", None),
    (11, "padding_y", "uint32", "required", None),
    (12, "stride_y", "uint32", "required", None),
    (13, "output_y", "uint32", "optional", None),
    (14, "img_size_y", "uint32", "optional", None),
    (15, "dilation", "uint32", "optional", "1"),
    (16, "dilation_y", "uint32", "optional", "1"),
)

POOL_CONFIG_FIELDS = (
    (1, "pool_type", "string", "required", None),
    (2, "channels", "uint32", "required", None),
    (3, "size_x", "uint32", "required", None),
    (5, "stride", "uint32", "required", "1"),
    (6, "output_x", "uint32", "required", None),
    (7, "img_size", "uint32", "required", None),
    (8, "padding", "uint32", "optional", "0"),
    (9, "size_y", "uint32", "optional", None),
    (10, "stride_y", "uint32", "optional", None),
    (11, "output_y", "uint32", "optional", None),
    (12, "img_size_y", "uint32", "optional", None),
    (13, "padding_y", "uint32", "optional", None),
)

LAYER_INPUT_CONFIG_FIELDS = (
    (1, "input_layer_name", "string", "required", None),
    (2, "input_parameter_name", "string", "optional", None),
    (3, "conv_conf", ".paddle.ConvConfig", "optional", None),
    (4, "pool_conf", ".paddle.PoolConfig", "optional", None),
    (8, "image_conf", ".paddle.ImageConfig", "optional", None),
)

LAYER_CONFIG_FIELDS = (
    (1, "name", "string", "required", None),
    (2, "type", "string", "required", None),
    (3, "size", "uint64", "optional", None),
    (4, "active_type", "string", "optional", None),
    (5, "inputs", ".paddle.LayerInputConfig", "repeated", None),
    (6, "bias_parameter_name", "string", "optional", None),
    (7, "num_filters", "uint32", "optional", None),
    (8, "shared_biases", "bool", "optional", "false"),
    (10, "drop_rate", "double", "optional", None),
    (11, "num_classes", "uint32", "optional", None),
    (13, "reversed", "bool", "optional", "false"),
    (14, "active_gate_type", "string", "optional", None),
    (15, "active_state_type", "string", "optional", None),
    (26, "coeff", "double", "optional", "1.0"),
    (50, "height", "uint64", "optional", None),
    (51, "width", "uint64", "optional", None),
)

EVALUATOR_CONFIG_FIELDS = (
    (1, "name", "string", "required", None),
    (2, "type", "string", "required", None),
    (3, "input_layers", "string", "repeated", None),
)

MODEL_CONFIG_FIELDS = (
    (1, "type", "string", "required", "nn"),
    (2, "layers", ".paddle.LayerConfig", "repeated", None),
    (3, "parameters", ".paddle.ParameterConfig", "repeated", None),
    (4, "input_layer_names", "string", "repeated", None),
    (5, "output_layer_names", "string", "repeated", None),
    (6, "evaluators", ".paddle.EvaluatorConfig", "repeated", None),
)

MESSAGES = (("ImageConfig", IMAGE_CONFIG_FIELDS), ("ConvConfig", CONV_CONFIG_FIELDS),
            ("PoolConfig", POOL_CONFIG_FIELDS), ("LayerInputConfig", LAYER_INPUT_CONFIG_FIELDS),
            ("LayerConfig", LAYER_CONFIG_FIELDS),
            ("EvaluatorConfig", EVALUATOR_CONFIG_FIELDS), ("ModelConfig", MODEL_CONFIG_FIELDS))


def _build():
    file_proto = descriptor_pb2.FileDescriptorProto(
        name="minidl/paddle/ModelConfig.proto", package="paddle", syntax="proto2",
        dependency=[PARAMETER_CONFIG_FILE])
    for name, fields in MESSAGES:
        add_message(file_proto, name, fields)
    POOL.AddSerializedFile(file_proto.SerializeToString())
    return {name: message_class(POOL.FindMessageTypeByName(f"paddle.{name}"))
            for name, _ in MESSAGES}


_CLASSES = _build()
ImageConfig = _CLASSES["ImageConfig"]
ConvConfig = _CLASSES["ConvConfig"]
PoolConfig = _CLASSES["PoolConfig"]
LayerInputConfig = _CLASSES["LayerInputConfig"]
LayerConfig = _CLASSES["LayerConfig"]
EvaluatorConfig = _CLASSES["EvaluatorConfig"]
ModelConfig = _CLASSES["ModelConfig"]

__all__ = ["ConvConfig", "EvaluatorConfig", "ImageConfig", "LayerConfig", "LayerInputConfig",
           "ModelConfig", "PoolConfig"]
