"""``paddle.batch``: group a reader's samples into mini-batches."""

from ._validate import check_count

__all__ = ["batch"]


def batch(reader, batch_size, drop_last=True):
    """A reader yielding lists of ``batch_size`` consecutive samples of ``reader``.

    ``drop_last=True`` (Paddle's default) drops a final batch shorter than ``batch_size``, so
    every batch has the same size; ``drop_last=False`` yields it as well.

    Example::

        train_reader = paddle.batch(paddle.dataset.mnist.train(), batch_size=128)
        for samples in train_reader():   # samples: a list of 128 (image, label) tuples
            ...
    """
    check_count("batch", "batch_size", batch_size)

    def batch_reader():
        samples = []
        for sample in reader():
            samples.append(sample)
            if len(samples) == batch_size:
                yield samples
                samples = []
        if samples and not drop_last:
            yield samples

    return batch_reader
