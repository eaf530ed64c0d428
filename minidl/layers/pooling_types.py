"""``paddle.pooling``: pooling types for ``img_pool``."""

from .choice import Choice


class BasePoolingType(Choice):
    name = None


class Max(BasePoolingType):
    """Maximum over the window (padding never wins)."""
    name = "max"


class Avg(BasePoolingType):
    """Mean over the window; ``img_pool(exclude_mode=...)`` decides whether padding counts."""
    name = "average"


class CudnnMax(Max):
    """Alias of :class:`Max` (Paddle's cuDNN spelling)."""


class CudnnAvg(Avg):
    """Alias of :class:`Avg` (Paddle's cuDNN spelling)."""


class Sum(BasePoolingType):
    """Sum over a sequence (sequence pooling, not supported by img_pool)."""
    name = "sum"


class SquareRootN(BasePoolingType):
    """Sum / sqrt(n) over a sequence (sequence pooling, not supported by img_pool)."""
    name = "squarerootn"


MaxPooling, AvgPooling = Max, Avg

__all__ = ["BasePoolingType", "Max", "Avg", "CudnnMax", "CudnnAvg", "Sum", "SquareRootN",
           "MaxPooling", "AvgPooling"]
