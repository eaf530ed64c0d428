"""``batch_norm`` and ``img_cmrnorm``: normalisation layers.

Batch norm, as Paddle's ``BatchNormalizationLayer`` (verified against its source):

* per channel for an image input ``(N, C, H, W)``, per feature for an ``(N, size)`` input;
* parameters ``w0`` scale (initial 1), ``w1`` moving mean, ``w2`` moving variance (both
  static, initial **0** -- Paddle's ``config_parser`` creates them with ``initial_mean=0,
  initial_std=0``), ``wbias`` shift (initial 0); all of dims ``[1, C]``;
* training normalises with the batch mean and the *biased* batch variance and moves
  ``moving = f * moving + (1 - f) * batch`` (``f = moving_average_fraction``); the new
  values go to ``ctx.updates`` and the trainer writes them back after the step -- forward
  never modifies a parameter;
* testing normalises with the moving statistics -- unless ``use_global_stats=False``,
  which makes the test pass use the test batch's own statistics. As in Paddle,
  ``use_global_stats`` is read only when testing: training always uses batch statistics.
"""

import numbers

from .activations import Identity, Relu
from .attrs import ParamAttr
from ..core import Tensor, config
from ..functions.basic import reshape
from ..functions.norm import (batch_norm_act_inference, batch_norm_infer, batch_norm_train,
                              cross_map_norm)
from .base import Layer, as_layer_list, as_param_attr, default_name, image_geometry

BATCH_NORM_TYPES = (None, "batch_norm", "cudnn_batch_norm", "mkldnn_batch_norm")
#: Paddle asserted ``epsilon >= 1e-5`` (cuDNN's smallest); kept so configs stay portable
MIN_EPSILON = 1e-5


def _number(layer_name, what, value, low=None, high=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"layer {layer_name}: {what}={value!r} must be a number")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise ValueError(f"layer {layer_name}: {what}={value!r} must be in {bounds}")
    return float(value)


class BatchNormLayer(Layer):
    """Batch normalisation; see the module docstring for Paddle's semantics."""

    type = "batch_norm"

    def __init__(self, input, act=None, name=None, num_channels=None, bias_attr=None,
                 param_attr=None, layer_attr=None, batch_norm_type=None, epsilon=1e-5,
                 moving_average_fraction=0.9, use_global_stats=None, mean_var_names=None):
        name = name or default_name("batch_norm")
        inputs = as_layer_list(input, name)
        if len(inputs) != 1:
            raise ValueError(f"layer {name}: batch_norm takes one input, got {len(inputs)}")
        parent = inputs[0]
        if batch_norm_type not in BATCH_NORM_TYPES:
            raise ValueError(f"layer {name}: batch_norm_type={batch_norm_type!r} must be one of "
                             f"{BATCH_NORM_TYPES}")
        self.epsilon = _number(name, "epsilon", epsilon, low=MIN_EPSILON)
        self.moving_average_fraction = _number(name, "moving_average_fraction",
                                               moving_average_fraction, 0.0, 1.0)
        if use_global_stats not in (None, True, False):
            raise ValueError(f"layer {name}: use_global_stats={use_global_stats!r} must be "
                             "None, True or False")
        self.use_global_stats = use_global_stats
        if mean_var_names is not None and (
                len(mean_var_names) != 2 or not all(isinstance(n, str) for n in mean_var_names)):
            raise ValueError(f"layer {name}: mean_var_names={mean_var_names!r} must be two "
                             "parameter names (moving mean, moving variance)")

        # Paddle: channels from the input's image geometry, else num_channels, else size
        image_shape = None
        if parent.image_shape is not None or num_channels not in (None, parent.size):
            image_shape = image_geometry(name, parent, num_channels)
            channels = image_shape[0]
        else:
            channels = parent.size
        super().__init__(name, inputs, parent.size, act=Relu() if act is None else act,
                         image_shape=image_shape, layer_attr=layer_attr)
        self.channels = channels

        dims = (1, channels)
        self.scale = self.add_param("w0", dims, as_param_attr(param_attr, f"{name} param_attr"),
                                    default_std=0.0, default_mean=1.0)
        names = mean_var_names or (None, None)
        self.moving_mean, self.moving_var = (
            self.add_param(suffix, dims, ParamAttr(name=param_name, is_static=True,
                                                   initial_mean=0.0, initial_std=0.0),
                           static=True)
            for suffix, param_name in (("w1", names[0]), ("w2", names[1])))
        self.bias = None
        if bias_attr is not False:
            self.bias = self.add_param("wbias", dims,
                                       as_param_attr(bias_attr, f"{name} bias_attr"),
                                       is_bias=True)

    def compute(self, ctx, xs):
        """At inference, with nothing to differentiate and a ReLU or linear activation,
        normalise and activate in one pass (``batch_norm_act_infer``); otherwise the
        general path: the normalisation as a Function, then the activation."""
        fusable = (not ctx.is_train and self.use_global_stats is not False
                   and not self.layer_attr.drop_rate and type(self.act) in (Relu, Identity)
                   and not (config.grad_enabled and self._needs_grad(ctx, xs)))
        if not fusable:
            return super().compute(ctx, xs)
        # no graph is recorded here, so plain array reshapes (not reshape Functions)
        x = xs[0].data
        n = x.shape[0]
        y = batch_norm_act_inference(
            x.reshape(n, self.channels, self.size // self.channels),
            ctx.param(self.scale).data.reshape(-1),
            None if self.bias is None else ctx.param(self.bias).data.reshape(-1),
            ctx.param(self.moving_mean).data.reshape(-1),
            ctx.param(self.moving_var).data.reshape(-1), self.epsilon,
            relu=type(self.act) is Relu)
        return Tensor(y.reshape((n,) + self.image_shape if self.image_shape else (n, self.size)))

    def _needs_grad(self, ctx, xs):
        params = [self.scale] + ([self.bias] if self.bias is not None else [])
        return xs[0].requires_grad or any(ctx.param(p).requires_grad for p in params)

    def forward(self, ctx, xs):
        x = xs[0]
        n = x.shape[0]
        x3 = reshape(x, (n, self.channels, self.size // self.channels))
        gamma = reshape(ctx.param(self.scale), (self.channels,))
        beta = None if self.bias is None else reshape(ctx.param(self.bias), (self.channels,))
        mean = ctx.param(self.moving_mean).data
        var = ctx.param(self.moving_var).data
        if ctx.is_train or self.use_global_stats is False:
            y, function = batch_norm_train(x3, gamma, beta, self.epsilon)
            if ctx.is_train:
                f = self.moving_average_fraction
                ctx.updates[self.moving_mean.name] = (
                    f * mean + (1 - f) * function.batch_mean.reshape(mean.shape))
                ctx.updates[self.moving_var.name] = (
                    f * var + (1 - f) * function.batch_var.reshape(var.shape))
        else:
            y = batch_norm_infer(x3, gamma, beta, mean.reshape(-1), var.reshape(-1),
                                 self.epsilon)
        out_shape = (n,) + self.image_shape if self.image_shape else (n, self.size)
        return reshape(y, out_shape)


def batch_norm(input, act=None, name=None, num_channels=None, bias_attr=None, param_attr=None,
               layer_attr=None, batch_norm_type=None, epsilon=1e-5, moving_average_fraction=0.9,
               use_global_stats=None, mean_var_names=None):
    return BatchNormLayer(input, act, name, num_channels, bias_attr, param_attr, layer_attr,
                          batch_norm_type, epsilon, moving_average_fraction, use_global_stats,
                          mean_var_names)


class CrossMapNormLayer(Layer):
    """Response normalisation across channels (Paddle's ``cmrnorm-projection``).

    ``y = x * (1 + (scale / size) * sum_{size channels around c} x^2)^(-power)``: Paddle
    stores ``scale / size`` and its kernel uses it as is. For an even ``size`` the window
    covers ``size/2 - 1`` channels before ``c`` and ``size/2`` after.
    """

    type = "norm"
    accepts_sequences = False

    def __init__(self, input, size, scale=0.0128, power=0.75, name=None, num_channels=None,
                 layer_attr=None):
        name = name or default_name("crmnorm")
        inputs = as_layer_list(input, name)
        if len(inputs) != 1:
            raise ValueError(f"layer {name}: img_cmrnorm takes one input, got {len(inputs)}")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"layer {name}: size={size!r} must be a positive integer "
                             "(number of channels in the window)")
        image_shape = image_geometry(name, inputs[0], num_channels)
        super().__init__(name, inputs, inputs[0].size, act=None, image_shape=image_shape,
                         layer_attr=layer_attr)
        self.norm_size = size
        self.scale = _number(name, "scale", scale, low=0.0)
        self.power = _number(name, "power", power)
        self.alpha = self.scale / size  # what Paddle stores in norm_conf.scale

    def forward(self, ctx, xs):
        x = reshape(xs[0], (xs[0].shape[0],) + self.image_shape)
        return cross_map_norm(x, self.norm_size, self.alpha, self.power)


def img_cmrnorm(input, size, scale=0.0128, power=0.75, name=None, num_channels=None,
                layer_attr=None):
    return CrossMapNormLayer(input, size, scale, power, name, num_channels, layer_attr)
