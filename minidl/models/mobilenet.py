"""MobileNet v1 (Howard et al., 2017) as PaddlePaddle's v2 scripts defined it.

Notation (224x224 input, ``scale = 1``)::

    image 3x224x224
    stem       3x3 conv /2, 32 filters, batch norm + ReLU          -> 32 x 112 x 112
    13 blocks  3x3 depthwise (groups = C, stride s) + BN + ReLU,
               1x1 pointwise conv + BN + ReLU:
               32->64 s1, 64->128 s2, 128->128 s1, 128->256 s2, 256->256 s1,
               256->512 s2, 5x 512->512 s1, 512->1024 s2, 1024->1024 s1  -> 1024 x 7 x 7
    average pool over the whole 7x7 map, fc with Softmax                -> class_dim

Every conv has no bias (the batch norm that follows has one). The depthwise convs are
written as Paddle's scripts wrote them -- ``img_conv(groups=C, layer_type='exconv')`` --
and run the depthwise kernels; layer and parameter names are Paddle's defaults
(``__conv_N__``, ``__batch_norm_N__``, ``__fc_layer_0__``), so Paddle tarballs line up.

``scale`` is the width multiplier (every channel count times ``scale``, truncated as
Paddle's ``int(n * scale)``); the input size is any multiple of 32 (the final pool covers
the whole last map: 7x7 at 224, 2x2 at 64).
"""

from ..layers import activations as activation, data_types as data_type, pooling_types as pooling
from ..layers.conv import img_conv
from ..layers.data import data
from ..layers.fc import fc
from ..layers.norm import batch_norm
from ..layers.pool import img_pool
from ..layers.base import image_geometry

#: the 13 depthwise-separable blocks: (input channels, output channels, depthwise stride)
BLOCKS = ((32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1),
          (256, 512, 2)) + ((512, 512, 1),) * 5 + ((512, 1024, 2), (1024, 1024, 1))
#: total stride of the network: the input size must be a multiple of it
REDUCTION = 32


def conv_bn_layer(input, filter_size, num_filters, stride, padding, channels=None, num_groups=1,
                  active_type=None, layer_type=None, param_attr=None):
    """Paddle's wrapper: a linear, bias-free conv, then batch norm with the activation."""
    tmp = img_conv(input=input, filter_size=filter_size, num_channels=channels,
                         num_filters=num_filters, stride=stride, padding=padding,
                         groups=num_groups, act=activation.Linear(), bias_attr=False,
                         layer_type=layer_type, param_attr=param_attr)
    return batch_norm(input=tmp, act=active_type or activation.Relu())


def depthwise_separable(input, num_filters1, num_filters2, num_groups, stride, scale,
                        pointwise_attr=None):
    """3x3 depthwise conv (``groups = C``) + BN + ReLU, then 1x1 conv + BN + ReLU."""
    tmp = conv_bn_layer(input, filter_size=3, num_filters=int(num_filters1 * scale),
                        stride=stride, padding=1, num_groups=int(num_groups * scale),
                        layer_type="exconv")
    return conv_bn_layer(tmp, filter_size=1, num_filters=int(num_filters2 * scale), stride=1,
                         padding=0, param_attr=pointwise_attr)


def image_layer(input_size=224, name="image"):
    """The data layer MobileNet reads: ``3 * input_size**2`` values with their geometry."""
    check_input_size(input_size)
    return data(name=name, type=data_type.dense_vector(3 * input_size * input_size),
                      height=input_size, width=input_size)


def check_input_size(input_size):
    if isinstance(input_size, bool) or not isinstance(input_size, int) or \
            input_size < REDUCTION or input_size % REDUCTION:
        raise ValueError(f"mobile_net: input_size={input_size!r} must be a positive multiple "
                         f"of {REDUCTION} (the network halves the image 5 times)")


def mobile_net(input, class_dim=102, scale=1.0, pointwise_attr=None, fc_attr=None):
    """MobileNet v1 on a 3-channel image layer -> a ``class_dim``-way Softmax layer.

    ``input``: a data layer of ``3 * S * S`` values (give it height and width, or it is
    taken square), ``S`` a multiple of 32 (see :func:`image_layer`). ``scale``: width
    multiplier. ``pointwise_attr`` / ``fc_attr``: ``ParamAttr`` of every 1x1 conv weight /
    of the fc weight (e.g. pruning hooks, as Paddle's MobileNet pruning demo).
    """
    if not scale > 0 or int(32 * scale) < 1:
        raise ValueError(f"mobile_net: scale={scale!r} must be > 0 and leave at least one "
                         "stem filter (int(32 * scale) >= 1)")
    _, height, width = image_geometry("mobile_net", input, 3)
    if height != width:
        raise ValueError(f"mobile_net: input {input.name} is {height}x{width}; expected a "
                         "square image")
    check_input_size(height)
    tmp = conv_bn_layer(input, filter_size=3, channels=3, num_filters=int(32 * scale),
                        stride=2, padding=1)
    for channels_in, channels_out, stride in BLOCKS:
        tmp = depthwise_separable(tmp, num_filters1=channels_in, num_filters2=channels_out,
                                  num_groups=channels_in, stride=stride, scale=scale,
                                  pointwise_attr=pointwise_attr)
    side = tmp.image_shape[1]
    tmp = img_pool(input=tmp, pool_size=side, stride=1, pool_type=pooling.Avg())
    return fc(input=tmp, size=class_dim, act=activation.Softmax(), param_attr=fc_attr)
