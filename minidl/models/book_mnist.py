"""The three digit-recognition networks of the PaddlePaddle book, chapter 2.

Each takes the 784-pixel data layer and returns a 10-way softmax layer.
"""

from ..layers import activations as activation, data_types as data_type
from ..layers.cost import classification_cost
from ..layers.data import data
from ..layers.fc import fc
from . import networks
from ..layers.attrs import ParamAttr


def softmax_regression(img):
    return fc(input=img, size=10, act=activation.Softmax())


def multilayer_perceptron(img):
    hidden1 = fc(input=img, size=128, act=activation.Relu())
    hidden2 = fc(input=hidden1, size=64, act=activation.Relu())
    return fc(input=hidden2, size=10, act=activation.Softmax())


def convolutional_neural_network(img, hook_for=None):
    """LeNet-5 style: two 5x5 conv + 2x2 max-pool groups (20, 50 filters), softmax fc.

    ``hook_for(group)`` (optional) gives the pruning hook of ``conv1``, ``conv2``, ``fc``.
    """
    def attr(group):
        hook = hook_for(group) if hook_for else None
        return ParamAttr(update_hooks=hook) if hook is not None else None

    conv_pool_1 = networks.simple_img_conv_pool(
        input=img, filter_size=5, num_filters=20, num_channel=1, pool_size=2, pool_stride=2,
        act=activation.Relu(), param_attr=attr("conv1"))
    conv_pool_2 = networks.simple_img_conv_pool(
        input=conv_pool_1, filter_size=5, num_filters=50, num_channel=20, pool_size=2,
        pool_stride=2, act=activation.Relu(), param_attr=attr("conv2"))
    return fc(input=conv_pool_2, size=10, act=activation.Softmax(),
                    param_attr=attr("fc"))


def build_conv_network(hook_for=None):
    """Data layers + :func:`convolutional_neural_network` + cost: ``(cost, prediction)``."""
    images = data(name="pixel", type=data_type.dense_vector(784))
    label = data(name="label", type=data_type.integer_value(10))
    prediction = convolutional_neural_network(images, hook_for)
    return classification_cost(input=prediction, label=label), prediction


#: weight parameter of each prunable group (Paddle's default names after reset_names())
GROUP_PARAMETERS = {"conv1": "___conv_pool_0___conv.w0", "conv2": "___conv_pool_1___conv.w0",
                    "fc": "___fc_layer_0__.w0"}


MODELS = {"softmax": softmax_regression, "mlp": multilayer_perceptron,
          "conv": convolutional_neural_network}
