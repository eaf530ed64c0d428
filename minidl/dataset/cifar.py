"""CIFAR-10 and CIFAR-100 (https://www.cs.toronto.edu/~kriz/cifar.html), as Paddle read them.

The "python version" archives hold pickled batches, each a dict with ``data``, a uint8 array of
shape ``(N, 3072)`` (each row a 32×32 image as 1024 red, 1024 green, then 1024 blue values, i.e.
CHW), and the labels: ``labels`` (CIFAR-10) or ``fine_labels`` (CIFAR-100, 100 classes).

Samples are ``(float32[3072] = data / 255 in [0, 1], int label)``. Batches are read in the order
they appear in the archive (as Paddle did): CIFAR-10 training = members ``data_batch_*``,
test = ``test_batch``; CIFAR-100 training = ``train``, test = ``test``.

Pickles can run arbitrary code when loaded, so batches go through
:class:`~minidl.reader.safe_pickle.RestrictedUnpickler`, which lets through only plain
data and the NumPy functions that rebuild an array.
"""

import os
import tarfile

import numpy as np

from . import common
from ..reader.safe_pickle import RestrictedUnpickler, UnsafePickleError

__all__ = ["RestrictedUnpickler", "UnsafePickleError", "fetch", "reader_creator", "test10",
           "test100", "train10", "train100"]

URL_PREFIX = "https://www.cs.toronto.edu/~kriz/"
CIFAR10_FILE = "cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR100_FILE = "cifar-100-python.tar.gz"
CIFAR100_MD5 = "eb9058c3a382ffc7106e4002c42a8d85"

_IMAGE_SIZE = 3 * 32 * 32
#: classes of each label key: CIFAR-10's labels, CIFAR-100's fine and coarse labels
NUM_CLASSES = {"labels": 10, "fine_labels": 100, "coarse_labels": 20}
_SCALE_ROWS = 1000  # rows converted to float at a time, to keep a pass's memory small


def load_batch(file, source, label_key):
    """``(data uint8 (N, 3072), labels int (N,))`` from one pickled batch, checked."""
    try:
        batch = RestrictedUnpickler(file, source).load()
    except UnsafePickleError:
        raise
    except Exception as error:  # truncated or garbled pickles raise all sorts of errors
        raise common.DatasetFormatError(f"{source}: not a readable pickle ({error})") from None
    if not isinstance(batch, dict) or "data" not in batch or label_key not in batch:
        keys = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise common.DatasetFormatError(
            f"{source}: expected a dict with 'data' and '{label_key}', got {keys}")
    data, labels = batch["data"], np.asarray(batch[label_key])
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
            and data.shape[1] == _IMAGE_SIZE and labels.shape == (len(data),)):
        raise common.DatasetFormatError(
            f"{source}: expected uint8 data of shape (N, 3072) and N labels, got "
            f"{getattr(data, 'dtype', type(data).__name__)} {getattr(data, 'shape', '')} data "
            f"and {labels.shape} labels")
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise common.DatasetFormatError(f"{source}: labels must be integers, got {labels.dtype}")
    classes = NUM_CLASSES.get(label_key)
    if classes is not None and labels.size and (labels.min() < 0 or labels.max() >= classes):
        bad = int(np.flatnonzero((labels < 0) | (labels >= classes))[0])
        raise common.DatasetFormatError(
            f"{source}: label {int(labels[bad])} of image {bad} is outside 0..{classes - 1} "
            f"('{label_key}' has {classes} classes)")
    return data, labels.astype(np.int64)


def _member_wanted(member, member_prefix):
    return member.isfile() and os.path.basename(member.name).startswith(member_prefix)


def reader_creator(filename, member_prefix, label_key):
    """A reader over the batches of a CIFAR archive whose file name starts with ``member_prefix``.

    Samples ``(float32[3072] = data / 255, int label)``, in archive order.
    """

    def reader():
        with tarfile.open(filename, mode="r:*") as archive:
            for member in archive:
                if not _member_wanted(member, member_prefix):
                    continue
                source = f"{filename}:{member.name}"
                data, labels = load_batch(archive.extractfile(member), source, label_key)
                for start in range(0, len(data), _SCALE_ROWS):
                    # float64 division then float32, as Paddle's (sample / 255.0).astype
                    block = (data[start:start + _SCALE_ROWS] / 255.0).astype(np.float32)
                    for sample, label in zip(block, labels[start:start + _SCALE_ROWS]):
                        yield sample, int(label)

    return reader


def _remote(name, md5):
    return common.RemoteFile(name, md5, (URL_PREFIX + name,))


def _cifar10():
    return common.fetch("cifar", [_remote(CIFAR10_FILE, CIFAR10_MD5)])[0]


def _cifar100():
    return common.fetch("cifar", [_remote(CIFAR100_FILE, CIFAR100_MD5)])[0]


def train10():
    """CIFAR-10 training set: 50,000 images, labels 0..9 (members ``data_batch_1..5``)."""
    return reader_creator(_cifar10(), "data_batch", "labels")


def test10():
    """CIFAR-10 test set: 10,000 images, labels 0..9 (member ``test_batch``)."""
    return reader_creator(_cifar10(), "test_batch", "labels")


def train100():
    """CIFAR-100 training set: 50,000 images, fine labels 0..99 (member ``train``)."""
    return reader_creator(_cifar100(), "train", "fine_labels")


def test100():
    """CIFAR-100 test set: 10,000 images, fine labels 0..99 (member ``test``)."""
    return reader_creator(_cifar100(), "test", "fine_labels")


def fetch():
    """Download both CIFAR archives into the cache (if not there yet)."""
    _cifar10()
    _cifar100()
