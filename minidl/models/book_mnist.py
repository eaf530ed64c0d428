"""The three digit-recognition networks of the PaddlePaddle book, chapter 2.

Each takes the 784-pixel data layer and returns a 10-way softmax layer.
"""

from .. import activation, layer, networks


def softmax_regression(img):
    return layer.fc(input=img, size=10, act=activation.Softmax())


def multilayer_perceptron(img):
    hidden1 = layer.fc(input=img, size=128, act=activation.Relu())
    hidden2 = layer.fc(input=hidden1, size=64, act=activation.Relu())
    return layer.fc(input=hidden2, size=10, act=activation.Softmax())


def convolutional_neural_network(img):
    """LeNet-5 style: two 5x5 conv + 2x2 max-pool groups (20, 50 filters), softmax fc."""
    conv_pool_1 = networks.simple_img_conv_pool(
        input=img, filter_size=5, num_filters=20, num_channel=1, pool_size=2, pool_stride=2,
        act=activation.Relu())
    conv_pool_2 = networks.simple_img_conv_pool(
        input=conv_pool_1, filter_size=5, num_filters=50, num_channel=20, pool_size=2,
        pool_stride=2, act=activation.Relu())
    return layer.fc(input=conv_pool_2, size=10, act=activation.Softmax())


MODELS = {"softmax": softmax_regression, "mlp": multilayer_perceptron,
          "conv": convolutional_neural_network}
