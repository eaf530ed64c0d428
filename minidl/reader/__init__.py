"""``paddle.reader``: readers and the decorators that combine them.

A *reader* is a zero-argument callable that returns an iterator of samples; a sample is usually
a tuple such as ``(image, label)``. Decorators take readers and return new readers, so a data
pipeline is built by composition and nothing is read until the trainer calls the outermost one::

    reader = paddle.batch(paddle.reader.shuffle(paddle.dataset.mnist.train(), buf_size=8192),
                          batch_size=128)
"""

from . import creator
from .decorator import (
    ComposeNotAligned,
    buffered,
    cache,
    chain,
    compose,
    firstn,
    map_readers,
    shuffle,
    xmap_readers,
)
from .pipe import PipeReader

__all__ = ["ComposeNotAligned", "PipeReader", "buffered", "cache", "chain", "compose",
           "creator", "firstn", "map_readers", "shuffle", "xmap_readers"]
