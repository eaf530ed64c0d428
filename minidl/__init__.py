"""minidl: a readable NumPy deep-learning engine with the PaddlePaddle v2 API.

    import minidl as paddle
    paddle.init(use_gpu=False, trainer_count=1)
"""

from . import activation, attr, data_type, layer, pooling
from .init import init

__version__ = "0.1.0"

__all__ = ["activation", "attr", "data_type", "init", "layer", "pooling"]
