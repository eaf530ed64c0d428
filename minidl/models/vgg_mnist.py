"""A small VGG-style network for 28x28 digits, built to be pruned.

Two conv groups (2 convs each, batch norm + ReLU, 2x2 max pool) and three fc layers, sized
like the fc head of Paddle's CIFAR VGG (512, 512, classes) so that the pruning experiment's
0.99 fc sparsity still leaves ~5 weights per class in the last layer::

    1x28x28 -> [conv 32, conv 32] -> pool -> [conv 64, conv 64] -> pool
            -> fc 512 -> fc 512 -> fc 10 (softmax)

``hook_for(group)`` returns the update hook of each prunable layer, by the name the
experiment's tables use: ``conv1`` ... ``conv4``, ``fc1`` ... ``fc3`` (None: no hook). Layer
and parameter names are Paddle's defaults, so a tarball trained without hooks loads into
the network rebuilt with hooks.
"""

from ..layers import activations as activation, data_types as data_type
from ..layers.cost import classification_cost
from ..layers.data import data
from ..layers.fc import fc
from . import networks
from ..layers.attrs import ExtraAttr, ParamAttr

CONV_GROUPS = ("conv1", "conv2", "conv3", "conv4")
FC_GROUPS = ("fc1", "fc2", "fc3")


def _attr(hook_for, group):
    hook = hook_for(group) if hook_for else None
    return ParamAttr(update_hooks=hook) if hook is not None else None


def vgg_mnist(hook_for=None):
    """Returns ``(cost, prediction)``; data layers are ``pixel`` (784) and ``label`` (10)."""
    image = data(name="pixel", type=data_type.dense_vector(784), height=28, width=28)
    label = data(name="label", type=data_type.integer_value(10))
    tmp = networks.img_conv_group(
        input=image, num_channels=1, conv_num_filter=[32, 32], pool_size=2, pool_stride=2,
        conv_act=activation.Relu(), conv_with_batchnorm=True,
        param_attr=[_attr(hook_for, "conv1"), _attr(hook_for, "conv2")])
    tmp = networks.img_conv_group(
        input=tmp, conv_num_filter=[64, 64], pool_size=2, pool_stride=2,
        conv_act=activation.Relu(), conv_with_batchnorm=True,
        param_attr=[_attr(hook_for, "conv3"), _attr(hook_for, "conv4")])
    tmp = fc(input=tmp, size=512, act=activation.Relu(),
                   param_attr=_attr(hook_for, "fc1"), layer_attr=ExtraAttr(drop_rate=0.25))
    tmp = fc(input=tmp, size=512, act=activation.Relu(),
                   param_attr=_attr(hook_for, "fc2"))
    prediction = fc(input=tmp, size=10, act=activation.Softmax(),
                          param_attr=_attr(hook_for, "fc3"))
    return classification_cost(input=prediction, label=label), prediction


#: weight parameter of each prunable group (Paddle's default names after reset_names())
GROUP_PARAMETERS = {
    "conv1": "___conv_0__.w0", "conv2": "___conv_1__.w0",
    "conv3": "___conv_2__.w0", "conv4": "___conv_3__.w0",
    "fc1": "___fc_layer_0__.w0", "fc2": "___fc_layer_1__.w0", "fc3": "___fc_layer_2__.w0",
}
