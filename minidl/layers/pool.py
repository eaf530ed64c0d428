"""``img_pool``: 2-D max or average pooling, as Paddle's ``pool`` layer.

Output size per axis is ``1 + ceil((img + 2p - window) / stride)`` (``ceil_mode=True``,
Paddle's default) or ``1 + floor(...)``. Windows that hang past the image (padding or the
ceil overhang) only pool the cells inside it: padding never wins a max, and an average
divides by the cells inside the image unless ``exclude_mode=False`` (then by the whole
window). ``exclude_mode=None`` means True, as in Paddle. See ``backends/numpy_ref/pool.py``.
"""

from ..functions.basic import reshape
from ..functions.pool import pool2d, pool_output_size
from .pooling_types import Avg, BasePoolingType, Max
from .base import Layer, as_layer_list, check_output_image, default_name, image_geometry, pair


def _pool_kind(pool_type, layer_name):
    if pool_type is None:
        return "max"
    pool_type = BasePoolingType.accept(pool_type)  # paddle.pooling.Max without the call
    if isinstance(pool_type, Max):      # includes CudnnMax
        return "max"
    if isinstance(pool_type, Avg):      # includes CudnnAvg
        return "avg"
    raise ValueError(f"layer {layer_name}: pool_type={pool_type!r} is not an image pooling; "
                     "expected paddle.pooling.Max(), Avg(), CudnnMax() or CudnnAvg() "
                     "(Sum and SquareRootN pool sequences, which img_pool does not)")


class PoolLayer(Layer):
    """Paddle's ``pool``: images ``(N, C, H, W)`` -> ``(N, C, OH, OW)``; no parameters."""

    type = "pool"
    accepts_sequences = False

    def __init__(self, input, pool_size, name=None, num_channels=None, pool_type=None, stride=1,
                 padding=0, layer_attr=None, pool_size_y=None, stride_y=None, padding_y=None,
                 ceil_mode=True, exclude_mode=None):
        name = name or default_name("pool")
        inputs = as_layer_list(input, name)
        if len(inputs) != 1:
            raise ValueError(f"layer {name}: img_pool takes one input layer, got {len(inputs)}")
        self.kind = _pool_kind(pool_type, name)
        self.window = pair(pool_size, pool_size_y, "pool_size", name)
        self.stride = pair(stride, stride_y, "stride", name)
        self.padding = pair(padding, padding_y, "padding", name)
        for what, values in (("pool_size", self.window), ("stride", self.stride)):
            if min(values) < 1:
                raise ValueError(f"layer {name}: {what}={values} (height, width) must be >= 1")
        self.ceil_mode = bool(ceil_mode)
        self.exclude_mode = True if exclude_mode is None else bool(exclude_mode)
        channels, height, width = image_geometry(name, inputs[0], num_channels)
        out_h, out_w = (pool_output_size(size, k, s, p, self.ceil_mode) for size, k, s, p in zip(
            (height, width), self.window, self.stride, self.padding))
        check_output_image(name, (out_h, out_w), (height, width),
                           f"window {self.window}, stride {self.stride}, padding {self.padding}")
        super().__init__(name, inputs, channels * out_h * out_w,
                         image_shape=(channels, out_h, out_w), layer_attr=layer_attr)
        self.input_shape = (channels, height, width)

    def forward(self, ctx, xs):
        (x,) = xs
        x = reshape(x, (x.shape[0],) + self.input_shape)
        return pool2d(x, self.kind, self.window, self.stride, self.padding, self.exclude_mode,
                      self.ceil_mode)


def img_pool(input, pool_size, name=None, num_channels=None, pool_type=None, stride=1,
             padding=0, layer_attr=None, pool_size_y=None, stride_y=None, padding_y=None,
             ceil_mode=True, exclude_mode=None):
    """Paddle's ``img_pool`` (default ``Max()``, ceil mode, default name ``__pool_N__``)."""
    return PoolLayer(input, pool_size, name, num_channels, pool_type, stride, padding,
                     layer_attr, pool_size_y, stride_y, padding_y, ceil_mode, exclude_mode)
