"""``paddle.reader.creator``: readers made from an array, a text file or RecordIO files."""


from . import recordio as _recordio
from . import safe_pickle
from ._validate import check_count
from .threaded import buffered

__all__ = ["np_array", "recordio", "text_file"]


def np_array(x):
    """A reader yielding ``x[0], x[1], ...``: the elements of a vector, the rows of a matrix,
    the sub-arrays along the first axis in general; a 0-d array is yielded once, as itself."""

    def reader():
        if x.ndim < 1:
            yield x
            return
        yield from x

    return reader


def text_file(path):
    """A reader yielding the lines of the text file ``path`` without their trailing ``\\n``."""

    def reader():
        with open(path) as f:
            for line in f:
                yield line.rstrip("\n")

    return reader


def recordio(paths, buf_size=100):
    """A reader of the samples stored in RecordIO files by ``paddle.dataset.common.convert``.

    ``paths`` is a string of comma-separated glob patterns or a list of patterns. Each record
    is a pickled sample, read by :mod:`minidl.reader.safe_pickle` (plain data and NumPy arrays
    only: a record naming any other Python object raises). Samples are read ahead ``buf_size`` at a
    time by a background thread (:func:`~minidl.reader.buffered`), as in v2.
    """
    check_count("recordio", "buf_size", buf_size, allow_zero=True)
    _recordio.resolve_paths(paths)  # fail now, not on the first pass, when nothing matches

    def reader():
        for record in _recordio.read_records(paths):
            yield safe_pickle.loads(record, "recordio record")

    return buffered(reader, buf_size)
