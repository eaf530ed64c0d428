"""Oxford 102 Flowers (https://www.robots.ox.ac.uk/~vgg/data/flowers/102/), as Paddle read it.

Nilsback, M-E. and Zisserman, A. "Automated flower classification over a large number of
classes", ICVGIP 2008. 8,189 JPEG images of 102 flower species.

Files: ``102flowers.tgz`` (``jpg/image_00001.jpg`` ...), ``imagelabels.mat`` (``labels``: the
1-based class of each image) and ``setid.mat`` (``trnid``, ``valid``, ``tstid``: 1-based image
numbers of each split). The official test split is the largest (6,149 images), so Paddle
swapped it with the training split: ``train()`` reads ``tstid``, ``test()`` reads ``trnid``
(1,020 images), ``valid()`` reads ``valid`` (1,020 images). minidl keeps Paddle's choice.

Samples are ``(float32[3*224*224], int label 0..101)``, made by :func:`default_mapper` with
``paddle.image.simple_transform`` (:mod:`minidl.dataset.image`): decode to BGR, resize so the
shorter side is 256 (bicubic), crop 224×224 (training: random position, then a horizontal
flip with probability 1/2, both drawn from ``minidl.random.get_rng()``; test and valid: the
centre), transpose to CHW, convert to float32 and subtract the per-channel BGR mean
``[103.94, 116.78, 123.68]`` (pixels stay in the 0..255 scale). Images are read in archive
order. JPEG decoding needs Pillow (``pip install pillow``); Paddle used OpenCV, so resized
pixels may differ slightly from Paddle's.

Notation::

    jpeg bytes --decode--> (H, W, 3) BGR uint8 --resize--> (H', W', 3), min(H', W') = 256
      --crop--> (224, 224, 3) --CHW, float32, - mean--> (3, 224, 224) --flatten--> (150528,)
"""

import functools
import os
import tarfile

import numpy as np

from ..reader import map_readers, xmap_readers
from . import common
from .image import require_pillow, load_image_bytes, simple_transform

__all__ = ["default_mapper", "fetch", "load_image_bytes", "reader_creator", "simple_transform",
           "test", "test_mapper", "train", "train_mapper", "valid"]

URL_PREFIX = "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/"
DATA_FILE, DATA_MD5 = "102flowers.tgz", "33bfc11892f1e405ca193ae9a9f2a118"
LABEL_FILE, LABEL_MD5 = "imagelabels.mat", "e0620be6f572b9609742df49c70aed4d"
SETID_FILE, SETID_MD5 = "setid.mat", "a5357ecc9cb78c4bef273ce3793fc85c"

# the official readme calls tstid the test split, but it is the largest, so Paddle trained on it
TRAIN_FLAG = "tstid"
TEST_FLAG = "trnid"
VALID_FLAG = "valid"

MEAN_BGR = [103.94, 116.78, 123.68]
RESIZE_SHORT, CROP = 256, 224


def default_mapper(is_train, sample):
    """``(jpeg bytes, label)`` -> ``(float32[3*224*224], label)``."""
    data, label = sample
    image = simple_transform(load_image_bytes(data), RESIZE_SHORT, CROP, is_train,
                             mean=MEAN_BGR)
    return image.reshape(-1), label


train_mapper = functools.partial(default_mapper, True)
test_mapper = functools.partial(default_mapper, False)


def _load_mat(path, key):
    from scipy.io import loadmat  # scipy.io is slow to import; only flowers needs it

    try:
        return np.asarray(loadmat(path)[key]).reshape(-1)
    except KeyError:
        raise common.DatasetFormatError(f"{path}: no variable '{key}'") from None
    except Exception as error:  # scipy raises several types for a damaged file
        raise common.DatasetFormatError(f"{path}: not a readable .mat file ({error})") from None


def reader_creator(data_file, label_file, setid_file, dataset_name, mapper,
                   buffered_size=1024, use_xmap=True):
    """A reader of ``mapper((jpeg bytes, label 0..101))`` over one split of the archive.

    ``use_xmap`` maps in ``$CPU_NUM`` (default: all cores) threads, as Paddle did; the sample
    order then depends on thread timing, so for a reproducible order (and reproducible crops
    with ``paddle.init(seed=...)``) pass ``use_xmap=False``.
    """
    labels = _load_mat(label_file, "labels")
    indexes = _load_mat(setid_file, dataset_name)
    if indexes.size and (indexes.min() < 1 or indexes.max() > len(labels)):
        raise common.DatasetFormatError(
            f"{setid_file}: '{dataset_name}' refers to images outside 1..{len(labels)}")
    label_of = {f"jpg/image_{i:05d}.jpg": int(labels[i - 1]) - 1 for i in indexes}

    def reader():
        with tarfile.open(data_file, mode="r:*") as archive:
            for member in archive:
                if member.isfile() and member.name in label_of:
                    yield archive.extractfile(member).read(), label_of[member.name]

    if use_xmap:
        threads = int(os.environ.get("CPU_NUM", os.cpu_count() or 1))
        return xmap_readers(mapper, reader, threads, buffered_size)
    return map_readers(mapper, reader)


def _files():
    return common.fetch("flowers", [
        common.RemoteFile(DATA_FILE, DATA_MD5, (URL_PREFIX + DATA_FILE,)),
        common.RemoteFile(LABEL_FILE, LABEL_MD5, (URL_PREFIX + LABEL_FILE,)),
        common.RemoteFile(SETID_FILE, SETID_MD5, (URL_PREFIX + SETID_FILE,)),
    ])


def _split(flag, mapper, buffered_size, use_xmap, default):
    if mapper is default:
        require_pillow()  # fail now, not inside a worker thread during the first pass
    return reader_creator(*_files(), flag, mapper, buffered_size, use_xmap)


def train(mapper=train_mapper, buffered_size=1024, use_xmap=True):
    """Training split (setid ``tstid``, 6,149 images): random crop and flip."""
    return _split(TRAIN_FLAG, mapper, buffered_size, use_xmap, train_mapper)


def test(mapper=test_mapper, buffered_size=1024, use_xmap=True):
    """Test split (setid ``trnid``, 1,020 images): centre crop."""
    return _split(TEST_FLAG, mapper, buffered_size, use_xmap, test_mapper)


def valid(mapper=test_mapper, buffered_size=1024, use_xmap=True):
    """Validation split (setid ``valid``, 1,020 images): centre crop."""
    return _split(VALID_FLAG, mapper, buffered_size, use_xmap, test_mapper)


def fetch():
    """Download the three Flowers files into the cache (if not there yet)."""
    _files()
