"""``paddle.ParameterConfig``: the protobuf message saved beside every parameter.

The message classes are built at run time from a descriptor, with the field numbers, types
and defaults of Paddle's ``proto/ParameterConfig.proto`` (proto2, package ``paddle``), so
no ``protoc`` and no generated ``_pb2`` module are needed, and the bytes are the
protobuf library's own.

:func:`config_for` fills a message from a layer's :class:`~minidl.layers.base.ParamSpec`
the way Paddle's ``config_parser.Parameter`` and ``ParamAttr`` did: ``name``, ``size``,
``dims``, ``initial_mean``, ``initial_std``, ``initial_strategy`` and ``initial_smart``
always; every other field only when it was set explicitly.
"""

import math

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto

#: (number, name, type, label, default) -- Paddle's ParameterConfig, field by field
PARAMETER_CONFIG_FIELDS = (
    (1, "name", "string", "required", None),
    (2, "size", "uint64", "required", None),
    (3, "learning_rate", "double", "optional", "1.0"),
    (4, "momentum", "double", "optional", "0.0"),
    (5, "initial_mean", "double", "optional", "0.0"),
    (6, "initial_std", "double", "optional", "0.01"),
    (7, "decay_rate", "double", "optional", "0.0"),  # L2 rate
    (8, "decay_rate_l1", "double", "optional", "0.0"),
    (9, "dims", "uint64", "repeated", None),
    (10, "device", "int32", "optional", "-1"),
    (11, "initial_strategy", "int32", "optional", "0"),  # 0 normal, 1 uniform
    (12, "initial_smart", "bool", "optional", "false"),
    (13, "num_batches_regularization", "int32", "optional", "1"),
    (14, "is_sparse", "bool", "optional", "false"),
    (15, "format", "string", "optional", ""),
    (16, "sparse_remote_update", "bool", "optional", "false"),
    (17, "gradient_clipping_threshold", "double", "optional", "0.0"),
    (18, "is_static", "bool", "optional", "false"),
    (19, "para_id", "uint64", "optional", None),
    (20, "update_hooks", ".paddle.ParameterUpdaterHookConfig", "repeated", None),
    (21, "need_compact", "bool", "optional", "false"),
    (22, "sparse_update", "bool", "optional", "false"),
    (23, "is_shared", "bool", "optional", "false"),
    (24, "parameter_block_size", "uint64", "optional", "0"),
)

HOOK_CONFIG_FIELDS = (
    (1, "type", "string", "required", None),
    (2, "sparsity_ratio", "double", "optional", "0.8"),
)

_TYPES = {"string": _F.TYPE_STRING, "uint64": _F.TYPE_UINT64, "uint32": _F.TYPE_UINT32,
          "double": _F.TYPE_DOUBLE, "float": _F.TYPE_FLOAT, "int32": _F.TYPE_INT32,
          "bool": _F.TYPE_BOOL}
_LABELS = {"required": _F.LABEL_REQUIRED, "optional": _F.LABEL_OPTIONAL,
           "repeated": _F.LABEL_REPEATED}


def add_message(file_proto, name, fields):
    message = file_proto.message_type.add(name=name)
    for number, field_name, type_name, label, default in fields:
        field = message.field.add(name=field_name, number=number, label=_LABELS[label])
        if type_name.startswith("."):
            field.type = _F.TYPE_MESSAGE
            field.type_name = type_name
        else:
            field.type = _TYPES[type_name]
        if default is not None:
            field.default_value = default


def message_class(descriptor):
    get_message_class = getattr(message_factory, "GetMessageClass", None)
    if get_message_class is not None:  # protobuf >= 4.22
        return get_message_class(descriptor)
    return message_factory.MessageFactory(descriptor.file.pool).GetPrototype(descriptor)


#: A pool of our own: nothing else registering "paddle.ParameterConfig" can clash.
#: :mod:`.modelconfig` adds Paddle's ModelConfig messages to it.
POOL = descriptor_pool.DescriptorPool()

#: the file name ParameterConfig is registered under (others import it by this name)
PARAMETER_CONFIG_FILE = "minidl/paddle/ParameterConfig.proto"


def _build():
    file_proto = descriptor_pb2.FileDescriptorProto(
        name=PARAMETER_CONFIG_FILE, package="paddle", syntax="proto2")
    add_message(file_proto, "ParameterUpdaterHookConfig", HOOK_CONFIG_FIELDS)
    add_message(file_proto, "ParameterConfig", PARAMETER_CONFIG_FIELDS)
    pool = POOL
    pool.AddSerializedFile(file_proto.SerializeToString())
    return (message_class(pool.FindMessageTypeByName("paddle.ParameterConfig")),
            message_class(pool.FindMessageTypeByName("paddle.ParameterUpdaterHookConfig")))


ParameterConfig, ParameterUpdaterHookConfig = _build()


# --- from a layer's parameter description to the message ------------------------------

def config_dims(spec):
    """The ``dims`` Paddle recorded: the spec's shape unless the layer says otherwise.

    A layer may put ``extra["config_dims"]`` in its spec (Paddle's conv weights, for one,
    have no dims at all: ``()``; readers then take the shape ``(1, size)``).
    """
    return tuple(int(d) for d in spec.extra.get("config_dims", spec.shape))


def initial_distribution(spec):
    """``(strategy, mean, std, smart)`` of a parameter: how its first values are drawn.

    ``strategy`` 0 is normal(mean, std); 1 is uniform on ``[mean - std, mean + std]``
    (Paddle's encoding of ``initial_min``/``initial_max``). Unset values take the layer's
    defaults (``spec.default_mean``, ``spec.default_std``). ``smart`` is Paddle's
    ``initial_smart``: a weight given no ``initial_*`` whose default is Paddle's
    ``1/sqrt(dims[0])`` (fc weights); the layer can force it with ``extra["initial_smart"]``.
    Biases are never smart (Paddle's default bias attribute is ``initial_std=0``).
    """
    attr = spec.attr
    if attr.initial_min is not None:
        mean = (attr.initial_max + attr.initial_min) / 2
        return 1, mean, mean - attr.initial_min, False
    explicit = attr.initial_mean is not None or attr.initial_std is not None
    mean = attr.initial_mean if attr.initial_mean is not None else float(spec.default_mean)
    std = attr.initial_std if attr.initial_std is not None else float(spec.default_std)
    smart = False
    if not explicit and not spec.is_bias:
        dims = config_dims(spec)
        smart = bool(spec.extra.get(
            "initial_smart", bool(dims) and mean == 0.0 and std == 1.0 / math.sqrt(dims[0])))
    return 0, mean, std, smart


def config_for(spec):
    """A :class:`ParameterConfig` describing ``spec``, with the fields Paddle set.

    Learning rate, momentum and the L1/L2 rates are left out for a static parameter, as
    ``ParamAttr`` did. A hook is written as ``{type, sparsity_ratio}``; for
    ``dynamic_pruning`` ``sparsity_ratio`` holds the final sparsity ``upper_bound``
    (the message has no field for the schedule).
    """
    attr = spec.attr
    config = ParameterConfig(name=spec.name, size=spec.size)
    config.dims.extend(config_dims(spec))
    strategy, mean, std, smart = initial_distribution(spec)
    config.initial_mean = mean
    config.initial_std = std
    config.initial_strategy = strategy
    config.initial_smart = smart
    if not spec.static:
        for field, value in (("learning_rate", attr.learning_rate), ("momentum", attr.momentum),
                             ("decay_rate", attr.l2_rate), ("decay_rate_l1", attr.l1_rate)):
            if value is not None:
                setattr(config, field, value)
    else:
        config.is_static = True
    if attr.gradient_clipping_threshold is not None:
        config.gradient_clipping_threshold = attr.gradient_clipping_threshold
    if attr.sparse_update:  # ParamAttr(sparse_update=True) set both
        config.sparse_update = True
        config.sparse_remote_update = True
    for hook in attr.update_hooks:
        config.update_hooks.add(type=hook.type, sparsity_ratio=hook.sparsity)
    return config


def hooks_from_config(config):
    """The :class:`~minidl.hooks.Hook` objects saved in a config's ``update_hooks``.

    The message keeps only ``type`` and ``sparsity_ratio`` (Paddle's default 0.8 when
    unset), so a ``dynamic_pruning`` hook comes back with its upper bound and the default
    schedule (``inter_pass=3, end_pass=60, curve='log'``). A type or ratio that
    :class:`Hook` refuses raises ValueError naming the parameter.
    """
    from ..hooks.spec import Hook
    hooks = []
    for message in config.update_hooks:
        try:
            if message.type == "dynamic_pruning":
                hooks.append(Hook("dynamic_pruning", upper_bound=message.sparsity_ratio))
            else:
                hooks.append(Hook(message.type, sparsity_ratio=message.sparsity_ratio))
        except ValueError as error:
            raise ValueError(f"parameter {config.name}: saved update hook cannot be used "
                             f"({error})") from None
    return hooks


def shape_of(config):
    """Paddle's ``get_shape``: ``dims``, or ``(1, size)`` when the config has none."""
    return tuple(int(d) for d in config.dims) if len(config.dims) else (1, int(config.size))
