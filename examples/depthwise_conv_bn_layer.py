"""The design's MobileNet building block: a depthwise convolution, then batch norm.

    python examples/depthwise_conv_bn_layer.py

``depthwise_conv_bn_layer`` is the wrapper the design shows (``img_depthwise_conv`` with a
linear activation and no bias; the batch norm takes the activation). Paddle's own scripts
wrote the same layer as ``img_conv(groups=C, layer_type='exconv')``; both run minidl's
depthwise kernels. Run as a script, it builds one block on a random image batch and prints
what comes out.
"""

import numpy as np

import minidl as paddle
from minidl.layers import activations as activation
from minidl.v2 import layer


def depthwise_conv_bn_layer(input, filter_size, num_filters, stride, padding, channels=None,
                            num_groups=1, active_type=None):
    """``img_depthwise_conv`` (linear, no bias) + ``batch_norm`` with ``active_type``
    (default Relu). ``num_groups`` is accepted for the design's signature: a depthwise
    convolution has one group per input channel whatever it says."""
    tmp = layer.img_depthwise_conv(input=input, filter_size=filter_size, num_channels=channels,
                                   num_filters=num_filters, stride=stride, padding=padding,
                                   act=activation.Linear(), bias_attr=False)
    return layer.batch_norm(input=tmp, act=active_type or activation.Relu())


def main(channels=8, size=16, batch=2, seed=0):
    """One block (3x3, stride 2, depth multiplier 2) on random images; returns the output."""
    paddle.init(use_gpu=False, trainer_count=1, seed=seed)
    image = layer.data(name="image", type=paddle.data_type.dense_vector(channels * size * size),
                       height=size, width=size)
    block = depthwise_conv_bn_layer(image, filter_size=3, num_filters=2 * channels, stride=2,
                                    padding=1, channels=channels)
    parameters = paddle.parameters.create(block)
    images = np.random.default_rng(seed).standard_normal((batch, channels * size * size))
    out = paddle.infer(output_layer=block, parameters=parameters,
                       input=[(row.astype(np.float32),) for row in images])
    return block, parameters, out


if __name__ == "__main__":
    block, parameters, out = main()
    conv = block.inputs[0]
    print(f"{conv.name} ({conv.type}): {conv.input_shape} -> {conv.image_shape}, "
          f"depth multiplier {conv.depth_multiplier}")
    for name in parameters.names():
        print(f"  {name}: {parameters.get_shape(name)}")
    print(f"{block.name}: output {out.shape} (batch, {block.size} values)")
