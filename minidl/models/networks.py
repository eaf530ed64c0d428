"""``paddle.networks``: layer groups scripts use (conv+pool, VGG, separable conv, text
convolution), built from ``paddle.layer``.

Group names follow Paddle: ``simple_img_conv_pool`` names its layers ``<name>_conv`` and
``<name>_pool`` with ``name`` defaulting to ``__conv_pool_N__``, so tarballs of networks
built with these helpers carry Paddle's parameter names.
"""

from ..layers.conv import img_conv
from ..layers.fc import fc
from ..layers.misc import dropout
from ..layers.norm import batch_norm
from ..layers.pool import img_pool
from ..layers.activations import Linear, Relu, Softmax
from ..layers.attrs import ExtraAttr
from ..layers.base import default_name
from ..layers.mixed import mixed
from ..layers.pooling_types import Max
from ..layers.mixed_terms import context_projection
from ..layers.sequence import pooling
# -- recurrent groups --
from ..layers.activations import Identity, SequenceSoftmax, Tanh
from ..layers.math import scaling
from ..layers.pooling_types import Sum
from ..layers.mixed_terms import full_matrix_projection, identity_projection
from ..layers.recurrent_group import recurrent_group
from ..layers.recurrent_inputs import memory
from ..layers.recurrent_step import get_output, gru_step, gru_step_naive, lstm_step
from ..layers.sequence import expand
# -- recurrent layers --
from ..layers.misc import concat
from ..layers.recurrent import grumemory, lstmemory
from ..layers.sequence import first_seq, last_seq


def simple_img_conv_pool(input, filter_size, num_filters, pool_size, name=None, pool_type=None,
                         act=None, groups=1, conv_stride=1, conv_padding=0, bias_attr=None,
                         num_channel=None, param_attr=None, shared_bias=True,
                         conv_layer_attr=None, pool_stride=1, pool_padding=0,
                         pool_layer_attr=None):
    """input -> img_conv -> img_pool."""
    name = name or default_name("conv_pool")
    conv = img_conv(name=f"{name}_conv", input=input, filter_size=filter_size,
                          num_filters=num_filters, num_channels=num_channel, act=act,
                          groups=groups, stride=conv_stride, padding=conv_padding,
                          bias_attr=bias_attr, param_attr=param_attr,
                          shared_biases=shared_bias, layer_attr=conv_layer_attr)
    return img_pool(name=f"{name}_pool", input=conv, pool_size=pool_size,
                          pool_type=pool_type, stride=pool_stride, padding=pool_padding,
                          layer_attr=pool_layer_attr)


def img_conv_bn_pool(input, filter_size, num_filters, pool_size, name=None, pool_type=None,
                     act=None, groups=1, conv_stride=1, conv_padding=0, conv_bias_attr=None,
                     num_channel=None, conv_param_attr=None, shared_bias=True,
                     conv_layer_attr=None, bn_param_attr=None, bn_bias_attr=None,
                     bn_layer_attr=None, pool_stride=1, pool_padding=0, pool_layer_attr=None):
    """input -> img_conv (linear) -> batch_norm (act) -> img_pool."""
    name = name or default_name("conv_bn_pool")
    conv = img_conv(name=f"{name}_conv", input=input, filter_size=filter_size,
                          num_filters=num_filters, num_channels=num_channel, act=Linear(),
                          groups=groups, stride=conv_stride, padding=conv_padding,
                          bias_attr=conv_bias_attr, param_attr=conv_param_attr,
                          shared_biases=shared_bias, layer_attr=conv_layer_attr)
    bn = batch_norm(name=f"{name}_bn", input=conv, act=act, bias_attr=bn_bias_attr,
                          param_attr=bn_param_attr, layer_attr=bn_layer_attr)
    return img_pool(name=f"{name}_pool", input=bn, pool_type=pool_type,
                          pool_size=pool_size, stride=pool_stride, padding=pool_padding,
                          layer_attr=pool_layer_attr)


def _per_conv(value, count):
    """Paddle's ``__extend_list__``: a scalar applies to every conv of the group."""
    return list(value) if isinstance(value, (list, tuple)) else [value] * count


def img_conv_group(input, conv_num_filter, pool_size, num_channels=None, conv_padding=1,
                   conv_filter_size=3, conv_act=None, conv_with_batchnorm=False,
                   conv_batchnorm_drop_rate=0, pool_stride=1, pool_type=None, param_attr=None):
    """Several 3x3 convs (each optionally followed by batch norm), then one pool (VGG block).

    With batch norm the conv is linear and the batch norm takes the activation and the
    drop rate.
    """
    if not isinstance(conv_num_filter, (list, tuple)) or not conv_num_filter:
        raise ValueError(f"img_conv_group: conv_num_filter={conv_num_filter!r} must be a "
                         "non-empty list of filter counts")
    count = len(conv_num_filter)
    paddings = _per_conv(conv_padding, count)
    sizes = _per_conv(conv_filter_size, count)
    acts = _per_conv(Relu() if conv_act is None else conv_act, count)
    with_bn = _per_conv(conv_with_batchnorm, count)
    drops = _per_conv(conv_batchnorm_drop_rate, count)
    params = _per_conv(param_attr, count)
    for name, values in (("conv_padding", paddings), ("conv_filter_size", sizes),
                         ("conv_act", acts), ("conv_with_batchnorm", with_bn),
                         ("conv_batchnorm_drop_rate", drops)):
        if len(values) != count:
            raise ValueError(f"img_conv_group: {name} has {len(values)} entries for "
                             f"{count} convolutions")
    tmp = input
    for i, filters in enumerate(conv_num_filter):
        tmp = img_conv(input=tmp, padding=paddings[i], filter_size=sizes[i],
                             num_filters=filters, num_channels=num_channels if i == 0 else None,
                             act=Linear() if with_bn[i] else acts[i], param_attr=params[i])
        if with_bn[i]:
            drop = drops[i]
            attr = ExtraAttr(drop_rate=drop) if drop and abs(drop) >= 1e-5 else None
            tmp = batch_norm(input=tmp, act=acts[i], layer_attr=attr)
    return img_pool(input=tmp, stride=pool_stride, pool_size=pool_size,
                          pool_type=Max() if pool_type is None else pool_type)


def img_separable_conv(input, num_channels, num_out_channels, filter_size, stride=1, padding=0,
                       depth_multiplier=1, act=None, bias_attr=None, param_attr=None,
                       shared_bias=True, layer_type="exconv", name=None):
    """Depthwise-separable convolution (Xception, MobileNet): a depthwise conv then a 1x1.

    ``<name>_depthwise_conv``: ``img_conv`` with ``groups = num_channels`` and
    ``num_channels * depth_multiplier`` filters, linear (it runs the depthwise kernels);
    ``<name>_pointwise_conv``: 1x1 conv to ``num_out_channels`` with ``act``. Both take
    ``bias_attr`` and ``param_attr``; ``name`` defaults to ``__separable_conv_N__``.
    """
    name = name or default_name("separable_conv")
    depthwise = img_conv(name=f"{name}_depthwise_conv", input=input,
                               num_channels=num_channels,
                               num_filters=num_channels * depth_multiplier, groups=num_channels,
                               filter_size=filter_size, stride=stride, padding=padding,
                               act=Linear(), bias_attr=bias_attr, param_attr=param_attr,
                               shared_biases=shared_bias, layer_type=layer_type)
    return img_conv(name=f"{name}_pointwise_conv", input=depthwise,
                          num_channels=num_channels * depth_multiplier,
                          num_filters=num_out_channels, filter_size=1, stride=1, padding=0,
                          act=act, bias_attr=bias_attr, param_attr=param_attr,
                          shared_biases=shared_bias)


def small_vgg(input_image, num_channels, num_classes):
    """The CIFAR VGG of Paddle's book: 4 conv groups with batch norm and dropout, fc 512."""
    def group(ipt, num_filter, times, dropouts, channels=None):
        return img_conv_group(input=ipt, num_channels=channels, pool_size=2, pool_stride=2,
                              conv_num_filter=[num_filter] * times, conv_filter_size=3,
                              conv_act=Relu(), conv_with_batchnorm=True,
                              conv_batchnorm_drop_rate=dropouts, pool_type=Max())

    tmp = group(input_image, 64, 2, [0.3, 0], num_channels)
    tmp = group(tmp, 128, 2, [0.4, 0])
    tmp = group(tmp, 256, 3, [0.4, 0.4, 0])
    tmp = group(tmp, 512, 3, [0.4, 0.4, 0])
    tmp = img_pool(input=tmp, stride=2, pool_size=2, pool_type=Max())
    tmp = dropout(input=tmp, dropout_rate=0.5)
    tmp = fc(input=tmp, size=512, layer_attr=ExtraAttr(drop_rate=0.5), act=Linear())
    tmp = batch_norm(input=tmp, act=Relu())
    return fc(input=tmp, size=num_classes, act=Softmax())


def vgg_16_network(input_image, num_channels, num_classes=1000):
    """VGG-16 (Simonyan & Zisserman): 13 3x3 convs in 5 groups, two fc 4096, softmax."""
    tmp = input_image
    for i, filters in enumerate([[64, 64], [128, 128], [256, 256, 256], [512, 512, 512],
                                 [512, 512, 512]]):
        tmp = img_conv_group(input=tmp, num_channels=num_channels if i == 0 else None,
                             conv_padding=1, conv_num_filter=filters, conv_filter_size=3,
                             conv_act=Relu(), pool_size=2, pool_stride=2, pool_type=Max())
    tmp = fc(input=tmp, size=4096, act=Relu(), layer_attr=ExtraAttr(drop_rate=0.5))
    tmp = fc(input=tmp, size=4096, act=Relu(), layer_attr=ExtraAttr(drop_rate=0.5))
    return fc(input=tmp, size=num_classes, act=Softmax())

def sequence_conv_pool(input, context_len, hidden_size, name=None, context_start=None,
                       pool_type=None, context_proj_layer_name=None,
                       context_proj_param_attr=False, fc_layer_name=None, fc_param_attr=None,
                       fc_bias_attr=None, fc_act=None, pool_bias_attr=None, fc_attr=None,
                       context_attr=None, pool_attr=None):
    """Text convolution: each word with its ``context_len`` neighbours (a context projection),
    an fc layer over that window (``hidden_size`` filters, Tanh unless ``fc_act``), then
    pooling over the sequence (Max unless ``pool_type``) -- one vector per sequence.

    Layers are named as Paddle names them: ``<name>_conv_proj`` (the context projection's
    mixed layer), ``<name>_conv_fc`` and ``<name>`` (the pooling), with ``name`` defaulting to
    ``__sequence_conv_pooling_N__``. ``context_proj_param_attr=False`` pads with zeros; a
    ParamAttr makes the padding rows trainable.
    """
    name = name or default_name("sequence_conv_pooling")
    projection = context_projection(input, context_len=context_len,
                                    context_start=context_start,
                                    padding_attr=context_proj_param_attr)
    window = mixed(size=input.size * context_len, input=projection,
                   name=context_proj_layer_name or f"{name}_conv_proj", act=Linear(),
                   layer_attr=context_attr)
    hidden = fc(input=window, size=hidden_size, name=fc_layer_name or f"{name}_conv_fc",
                act=fc_act, param_attr=fc_param_attr, bias_attr=fc_bias_attr,
                layer_attr=fc_attr)
    return pooling(input=hidden, pooling_type=pool_type, name=name, bias_attr=pool_bias_attr,
                   layer_attr=pool_attr)


text_conv_pool = sequence_conv_pool


# --- recurrent groups: v2's step units, their groups, and attention --------------------------

def lstmemory_unit(input, out_memory=None, name=None, size=None, param_attr=None, act=None,
                   gate_act=None, state_act=None, input_proj_bias_attr=None,
                   input_proj_layer_attr=None, lstm_bias_attr=None, lstm_layer_attr=None):
    """One LSTM step, for use inside a recurrent_group step: ``<name>_input_recurrent`` (a
    mixed layer: ``input`` plus the previous output ``out_memory`` -- by default
    ``memory(name)`` -- through a full matrix projection), then ``lstm_step`` ``<name>``
    with the cell from ``memory('<name>_state')``, and ``get_output`` ``<name>_state`` (the
    new cell, which that memory reads). ``input`` holds the ``4 * size`` input projections;
    ``name`` defaults to ``__lstm_unit_N__``."""
    name = name or default_name("lstm_unit")
    if size is None:
        if input.size % 4:
            raise ValueError(f"lstmemory_unit {name}: input {input.name} has size {input.size}, "
                             "not 4 * size (the four gates' input projections); give size")
        size = input.size // 4
    out_mem = memory(name=name, size=size) if out_memory is None else out_memory
    state_mem = memory(name=f"{name}_state", size=size)
    with mixed(name=f"{name}_input_recurrent", size=size * 4, bias_attr=input_proj_bias_attr,
               layer_attr=input_proj_layer_attr, act=Identity()) as projected:
        projected += identity_projection(input=input)
        projected += full_matrix_projection(input=out_mem, param_attr=param_attr)
    lstm_out = lstm_step(name=name, input=projected, state=state_mem, size=size,
                         bias_attr=lstm_bias_attr, act=act, gate_act=gate_act,
                         state_act=state_act, layer_attr=lstm_layer_attr)
    get_output(name=f"{name}_state", input=lstm_out, arg_name="state")
    return lstm_out


def lstmemory_group(input, size=None, name=None, out_memory=None, reverse=False,
                    param_attr=None, act=None, gate_act=None, state_act=None,
                    input_proj_bias_attr=None, input_proj_layer_attr=None, lstm_bias_attr=None,
                    lstm_layer_attr=None):
    """The LSTM of ``lstmemory`` as a recurrent_group (``<name>_recurrent_group``) of
    :func:`lstmemory_unit` steps, so each step's output and cell are layers one can read.
    ``input``: the ``4 * size`` input projections of each timestep; ``name`` defaults to
    ``__lstm_group_N__``."""
    name = name or default_name("lstm_group")

    def lstm_step_function(ipt):
        return lstmemory_unit(input=ipt, name=name, size=size, act=act, gate_act=gate_act,
                              state_act=state_act, out_memory=out_memory,
                              input_proj_bias_attr=input_proj_bias_attr,
                              input_proj_layer_attr=input_proj_layer_attr,
                              param_attr=param_attr, lstm_layer_attr=lstm_layer_attr,
                              lstm_bias_attr=lstm_bias_attr)

    return recurrent_group(name=f"{name}_recurrent_group", step=lstm_step_function,
                           reverse=reverse, input=input)


def gru_unit(input, memory_boot=None, size=None, name=None, gru_bias_attr=None,
             gru_param_attr=None, act=None, gate_act=None, gru_layer_attr=None, naive=False):
    """One GRU step inside a recurrent_group step: ``gru_step`` (or, with ``naive``,
    ``gru_step_naive``) ``<name>`` reading its previous output through ``memory(name)``,
    booted by ``memory_boot`` (zeros if None). ``input`` holds the ``3 * size`` input
    projections; ``name`` defaults to ``__gru_unit_N__``."""
    name = name or default_name("gru_unit")
    if input.size % 3:
        raise ValueError(f"gru_unit {name}: input {input.name} has size {input.size}, not "
                         "3 * size (the update gate, reset gate and candidate projections)")
    if size is None:
        size = input.size // 3
    out_mem = memory(name=name, size=size, boot_layer=memory_boot)
    step = gru_step_naive if naive else gru_step
    return step(name=name, input=input, output_mem=out_mem, size=size, bias_attr=gru_bias_attr,
                param_attr=gru_param_attr, act=act, gate_act=gate_act,
                layer_attr=gru_layer_attr)


def gru_group(input, memory_boot=None, size=None, name=None, reverse=False, gru_bias_attr=None,
              gru_param_attr=None, act=None, gate_act=None, gru_layer_attr=None, naive=False):
    """The GRU of ``grumemory`` as a recurrent_group (``<name>_recurrent_group``) of
    :func:`gru_unit` steps. ``input``: the ``3 * size`` input projections of each timestep;
    ``name`` defaults to ``__gru_group_N__``."""
    name = name or default_name("gru_group")

    def gru_step_function(ipt):
        return gru_unit(input=ipt, memory_boot=memory_boot, name=name, size=size,
                        gru_bias_attr=gru_bias_attr, gru_param_attr=gru_param_attr, act=act,
                        gate_act=gate_act, gru_layer_attr=gru_layer_attr, naive=naive)

    return recurrent_group(name=f"{name}_recurrent_group", step=gru_step_function,
                           reverse=reverse, input=input)


def simple_attention(encoded_sequence, encoded_proj, decoder_state, transform_param_attr=None,
                     softmax_param_attr=None, weight_act=None, name=None):
    """Bahdanau attention (Paddle's ``simple_attention``): the context vector
    ``sum_j a_j h_j`` over the rows ``h_j`` of ``encoded_sequence``, with
    ``a = sequence softmax(v . weight_act(W s + U h_j))`` -- ``s`` the ``decoder_state``,
    ``U h_j`` the rows of ``encoded_proj`` (computed once, outside the step). Layers:
    ``<name>_transform`` (``W s``), ``<name>_expand``, ``<name>_combine`` (Tanh unless
    ``weight_act``), ``<name>_softmax`` (``v``, size 1, no bias), ``<name>_scaling`` and
    ``<name>_pooling`` (Sum); ``name`` defaults to ``__simple_attention_N__``."""
    name = name or default_name("simple_attention")
    if encoded_proj.size != decoder_state.size:
        raise ValueError(f"simple_attention {name}: encoded_proj {encoded_proj.name} (size "
                         f"{encoded_proj.size}) and decoder_state {decoder_state.name} (size "
                         f"{decoder_state.size}) must have the same size")
    proj_size = encoded_proj.size
    with mixed(size=proj_size, name=f"{name}_transform") as transformed:
        transformed += full_matrix_projection(decoder_state, param_attr=transform_param_attr)
    expanded = expand(input=transformed, expand_as=encoded_sequence, name=f"{name}_expand")
    with mixed(size=proj_size, act=Tanh() if weight_act is None else weight_act,
               name=f"{name}_combine") as combined:
        combined += identity_projection(expanded)
        combined += identity_projection(encoded_proj)
    # one score per row, normalised over the rows of each sequence (combined is a sequence:
    # it is expanded as encoded_sequence)
    attention_weight = fc(input=combined, size=1, act=SequenceSoftmax(), bias_attr=False,
                          name=f"{name}_softmax", param_attr=softmax_param_attr)
    scaled = scaling(weight=attention_weight, input=encoded_sequence, name=f"{name}_scaling")
    return pooling(input=scaled, pooling_type=Sum(), name=f"{name}_pooling")


# --- recurrent networks ---------------------------------------------------------------------

def simple_lstm(input, size, name=None, reverse=False, mat_param_attr=None,
                bias_param_attr=None, inner_param_attr=None, act=None, gate_act=None,
                state_act=None, mixed_layer_attr=None, lstm_cell_attr=None):
    """An LSTM of hidden size ``size`` over ``input``: a linear mixed layer without bias
    (``full_matrix_projection`` to ``4 * size``, named ``lstm_transform_<name>``), then
    ``lstmemory`` (named ``name``, default ``__lstm_N__``)."""
    name = name or default_name("lstm")
    transform = mixed(name=f"lstm_transform_{name}", size=size * 4, act=Linear(),
                      bias_attr=False, layer_attr=mixed_layer_attr,
                      input=full_matrix_projection(input, param_attr=mat_param_attr))
    return lstmemory(name=name, input=transform, reverse=reverse, bias_attr=bias_param_attr,
                     param_attr=inner_param_attr, act=act, gate_act=gate_act,
                     state_act=state_act, layer_attr=lstm_cell_attr)


def _gru_transform(input, size, name, param_attr, bias_attr, layer_attr):
    """The mixed layer ``<name>_transform`` in front of a GRU: ``input`` through a
    ``full_matrix_projection`` to the ``3 * size`` gate inputs (linear)."""
    return mixed(name=f"{name}_transform", size=size * 3, bias_attr=bias_attr,
                 layer_attr=layer_attr, input=full_matrix_projection(input, param_attr=param_attr))


def simple_gru(input, size, name=None, reverse=False, mixed_param_attr=None,
               mixed_bias_param_attr=None, mixed_layer_attr=None, gru_bias_attr=None,
               gru_param_attr=None, act=None, gate_act=None, gru_layer_attr=None,
               naive=False):
    """A GRU of hidden size ``size`` over ``input``, as Paddle built it: a mixed layer
    ``<name>_transform`` (``full_matrix_projection`` to ``3 * size``, linear, a bias only if
    ``mixed_bias_param_attr`` asks), then :func:`gru_group` named ``name`` (default
    ``__simple_gru_N__``) -- a recurrent group of ``gru_step`` layers, whose parameters are
    ``_<name>@<name>_recurrent_group.w0`` / ``.wbias``. It computes what ``simple_gru2``
    (one fused ``grumemory``) computes, step by step; ``simple_gru2`` is the faster one."""
    name = name or default_name("simple_gru")
    transform = _gru_transform(input, size, name, mixed_param_attr, mixed_bias_param_attr,
                               mixed_layer_attr)
    return gru_group(name=name, size=size, input=transform, reverse=reverse,
                     gru_bias_attr=gru_bias_attr, gru_param_attr=gru_param_attr, act=act,
                     gate_act=gate_act, gru_layer_attr=gru_layer_attr, naive=naive)


def simple_gru2(input, size, name=None, reverse=False, mixed_param_attr=None,
                mixed_bias_attr=None, gru_param_attr=None, gru_bias_attr=None, act=None,
                gate_act=None, mixed_layer_attr=None, gru_cell_attr=None):
    """``simple_gru`` with ``grumemory`` itself: mixed layer ``<name>_transform`` (as in
    ``simple_gru``), then ``grumemory`` named ``name`` (default ``__simple_gru2_N__``), whose
    parameters are ``_<name>.w0`` / ``_<name>.wbias``."""
    name = name or default_name("simple_gru2")
    transform = _gru_transform(input, size, name, mixed_param_attr, mixed_bias_attr,
                               mixed_layer_attr)
    return grumemory(name=name, input=transform, reverse=reverse, bias_attr=gru_bias_attr,
                     param_attr=gru_param_attr, act=act, gate_act=gate_act,
                     layer_attr=gru_cell_attr)


def _bidirectional(unit, arguments):
    """Paddle's bidirectional network from the arguments of ``bidirectional_lstm`` /
    ``bidirectional_gru`` (their ``locals()``): ``unit`` run forwards as ``<name>_fw`` with
    the ``fwd_*`` arguments and reversed as ``<name>_bw`` with the ``bwd_*`` ones (the
    prefix dropped, as Paddle does), then joined: with ``return_seq`` the two sequences side
    by side (``concat``, named ``name``); else the forward's last row and the backward's
    first (``<name>_fw_last`` / ``<name>_bw_last``: the ends where each read the whole
    sequence)."""
    name, input, size = arguments["name"], arguments["input"], arguments["size"]

    def direction(prefix):
        return {key[len(prefix):]: value for key, value in arguments.items()
                if key.startswith(prefix)}

    forward = unit(input, size, name=f"{name}_fw", **direction("fwd_"))
    backward = unit(input, size, name=f"{name}_bw", reverse=True, **direction("bwd_"))
    join = dict(name=name, layer_attr=arguments["concat_attr"], act=arguments["concat_act"])
    if arguments["return_seq"]:
        return concat(input=[forward, backward], **join)
    forward_end = last_seq(name=f"{name}_fw_last", input=forward,
                           layer_attr=arguments["last_seq_attr"])
    backward_end = first_seq(name=f"{name}_bw_last", input=backward,
                             layer_attr=arguments["first_seq_attr"])
    return concat(input=[forward_end, backward_end], **join)


def bidirectional_lstm(input, size, name=None, return_seq=False, fwd_mat_param_attr=None,
                       fwd_bias_param_attr=None, fwd_inner_param_attr=None, fwd_act=None,
                       fwd_gate_act=None, fwd_state_act=None, fwd_mixed_layer_attr=None,
                       fwd_lstm_cell_attr=None, bwd_mat_param_attr=None,
                       bwd_bias_param_attr=None, bwd_inner_param_attr=None, bwd_act=None,
                       bwd_gate_act=None, bwd_state_act=None, bwd_mixed_layer_attr=None,
                       bwd_lstm_cell_attr=None, last_seq_attr=None, first_seq_attr=None,
                       concat_attr=None, concat_act=None):
    """Two ``simple_lstm`` of hidden size ``size``, ``<name>_fw`` forwards and ``<name>_bw``
    reversed (default name ``__bidirectional_lstm_N__``), joined as ``return_seq`` says: a
    sequence of ``2 * size`` per row, or one row of ``2 * size`` per sequence."""
    name = name or default_name("bidirectional_lstm")
    return _bidirectional(simple_lstm, locals())


def bidirectional_gru(input, size, name=None, return_seq=False, fwd_mixed_param_attr=None,
                      fwd_mixed_bias_attr=None, fwd_gru_param_attr=None, fwd_gru_bias_attr=None,
                      fwd_act=None, fwd_gate_act=None, fwd_mixed_layer_attr=None,
                      fwd_gru_cell_attr=None, bwd_mixed_param_attr=None,
                      bwd_mixed_bias_attr=None, bwd_gru_param_attr=None,
                      bwd_gru_bias_attr=None, bwd_act=None, bwd_gate_act=None,
                      bwd_mixed_layer_attr=None, bwd_gru_cell_attr=None, last_seq_attr=None,
                      first_seq_attr=None, concat_attr=None, concat_act=None):
    """Two ``simple_gru2`` of hidden size ``size``, ``<name>_fw`` forwards and ``<name>_bw``
    reversed (default name ``__bidirectional_gru_N__``), joined as in
    :func:`bidirectional_lstm`."""
    name = name or default_name("bidirectional_gru")
    return _bidirectional(simple_gru2, locals())


def dropout_layer(input, dropout_rate, name=None):
    """v2's ``networks.dropout_layer``: ``input`` passed on with dropout at ``dropout_rate``
    while training -- an ``addto`` layer of the one input, linear, no bias, with
    ``ExtraAttr(drop_rate=dropout_rate)``; ``name`` defaults to ``__dropout_N__``."""
    return dropout(input=input, dropout_rate=dropout_rate, name=name)


__all__ = ["bidirectional_gru", "bidirectional_lstm", "dropout_layer", "gru_group", "gru_unit",
           "img_conv_bn_pool", "img_conv_group", "img_separable_conv", "lstmemory_group",
           "lstmemory_unit", "sequence_conv_pool", "simple_attention", "simple_gru",
           "simple_gru2", "simple_img_conv_pool", "simple_lstm", "small_vgg", "text_conv_pool",
           "vgg_16_network"]
