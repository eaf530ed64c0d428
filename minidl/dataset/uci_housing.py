"""UCI Boston Housing (506 houses, 13 features, median price in $1000s), as Paddle read it.

``housing.data`` is whitespace-separated text, 14 numbers per house. Paddle normalised every
feature with statistics of the WHOLE file (training and test rows alike)::

    x_normalised = (x - mean) / (max - min)

and split the rows in file order: the first 80% (404 houses) train, the rest (102) test.
Samples are ``(float32[13] features, float32[1] price)``. Paddle also drew a bar chart of the
feature ranges into ``./image/ranges.png`` as a side effect; minidl does not.

:func:`model` is v2's ``uci_housing.model()``: the Paddle book's trained fit-a-line parameters
(``fit_a_line.tar``, one fc layer 13 -> 1, written by PaddlePaddle v2; md5 as in v2's source),
cached as ``uci_housing/fit_a_line.tar`` and returned as ``Parameters``.
"""

import numpy as np

from . import common

__all__ = ["feature_names", "fetch", "load_data", "model", "test", "train"]

URLS = ("https://archive.ics.uci.edu/ml/machine-learning-databases/housing/housing.data",
        "http://paddlemodels.bj.bcebos.com/uci_housing/housing.data")  # later Paddle's mirror
FILE = "housing.data"
MD5 = "d4accdce7a25600298819f8e28e8d593"
MODEL_URLS = ("https://github.com/PaddlePaddle/book/raw/develop/01.fit_a_line/fit_a_line.tar",
              "http://paddlemodels.bj.bcebos.com/uci_housing/fit_a_line.tar")  # v2's later URL
MODEL_FILE = "fit_a_line.tar"
MODEL_MD5 = "52fc3da8ef3937822fcdd87ee05c0c9b"   # v2's MD5_MODEL

feature_names = ["CRIM", "ZN", "INDUS", "CHAS", "NOX", "RM", "AGE", "DIS", "RAD", "TAX",
                 "PTRATIO", "B", "LSTAT", "convert"]
FEATURE_NUM = 14  # 13 features and the price
TRAIN_RATIO = 0.8


def load_data(filename, feature_num=FEATURE_NUM, ratio=TRAIN_RATIO):
    """``(train rows, test rows)``, each ``(n, 14)`` float64 with normalised features."""
    try:
        with open(filename) as f:
            values = np.array(f.read().split(), dtype=np.float64)
    except ValueError as error:
        raise common.DatasetFormatError(f"{filename}: not a table of numbers ({error})") from None
    if values.size == 0 or values.size % feature_num:
        raise common.DatasetFormatError(
            f"{filename}: {values.size} numbers, not a whole number of rows of {feature_num}")
    data = values.reshape(-1, feature_num)
    maximums, minimums, means = data.max(axis=0), data.min(axis=0), data.mean(axis=0)
    span = maximums[:-1] - minimums[:-1]
    if np.any(span == 0):
        raise common.DatasetFormatError(f"{filename}: a feature is constant, cannot normalise")
    data[:, :-1] = (data[:, :-1] - means[:-1]) / span
    offset = int(data.shape[0] * ratio)
    return data[:offset], data[offset:]


def _reader(rows):
    def reader():
        for row in rows:
            yield row[:-1].astype(np.float32), row[-1:].astype(np.float32)

    return reader


def _file():
    return common.fetch("uci_housing", [common.RemoteFile(FILE, MD5, URLS)])[0]


def train():
    """Training rows (first 80%): ``(float32[13] normalised features, float32[1] price)``."""
    return _reader(load_data(_file())[0])


def test():
    """Test rows (last 20%): ``(float32[13] normalised features, float32[1] price)``."""
    return _reader(load_data(_file())[1])


def model():
    """The book's trained fit-a-line parameters (v2's ``uci_housing.model()``).

    For the network ``fc(input=data('x', dense_vector(13)), size=1, act=Linear())``: pass
    them to ``paddle.infer`` with the features of :func:`test`. Downloaded into the cache with
    an md5 check; offline, :class:`~minidl.dataset.common.DatasetNotFound` says where to put
    the file (minidl's ``examples/data/fit_a_line.tar`` is the same file).
    """
    from ..training.parameters import Parameters

    path = common.fetch("uci_housing", [common.RemoteFile(MODEL_FILE, MODEL_MD5, MODEL_URLS)],
                        hint="The same file ships with minidl's source as "
                             "examples/data/fit_a_line.tar.")[0]
    with open(path, "rb") as f:
        return Parameters.from_tar(f)


def fetch():
    """Download ``housing.data`` into the cache (if not there yet)."""
    _file()
