"""PASCAL VOC 2012 semantic segmentation (http://host.robots.ox.ac.uk/pascal/VOC/voc2012/), as
Paddle v2 read it.

``VOCtrainval_11-May-2012.tar`` (cached in ``voc2012/``, md5 as in v2's source) holds, under
``VOCdevkit/VOC2012/``, the split lists ``ImageSets/Segmentation/<split>.txt`` (one image name
a line), the photos ``JPEGImages/<name>.jpg`` and the class maps
``SegmentationClass/<name>.png`` (palette PNGs whose indices are classes 0..20, 255 on object
borders).

Samples, in the order of the split list::

    (image, label)
    image  uint8 (H, W, 3)  the photo in RGB order, as Pillow decodes it (not BGR)
    label  uint8 (H, W)     the class index of each pixel

v2's split names are kept: :func:`train` reads ``trainval`` (2,913 images), :func:`test`
reads ``train`` (1,464) and :func:`val` reads ``val`` (1,449). Decoding needs Pillow. The
archive is fetched when a reader is created (where
:class:`~minidl.dataset.common.DatasetNotFound` is raised offline) and read when iterated.
"""

import io
import tarfile

import numpy as np

from . import common
from .image import require_pillow

__all__ = ["fetch", "reader_creator", "test", "train", "val"]

MODULE = "voc2012"
VOC_URL = "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar"
VOC_MD5 = "6cd6e144f989b92b3379bac3b3de84fd"
SET_FILE = "VOCdevkit/VOC2012/ImageSets/Segmentation/{}.txt"
DATA_FILE = "VOCdevkit/VOC2012/JPEGImages/{}.jpg"
LABEL_FILE = "VOCdevkit/VOC2012/SegmentationClass/{}.png"


def _member(archive, members, name, tar_file):
    if name not in members:
        raise common.DatasetFormatError(f"{tar_file}: no member {name!r}")
    return archive.extractfile(members[name]).read()


def _decode(data, name, tar_file):
    Image = require_pillow()
    try:
        with Image.open(io.BytesIO(data)) as image:
            return np.array(image)
    except (OSError, SyntaxError, ValueError) as error:
        raise common.DatasetFormatError(f"{tar_file}: {name} is not a decodable image "
                                        f"({error})") from None


def reader_creator(filename, sub_name):
    """A reader of ``(image, label)`` over the images the list ``<sub_name>.txt`` names."""

    def reader():
        try:
            with tarfile.open(filename) as archive:
                members = {member.name: member for member in archive.getmembers()}
                listing = _member(archive, members, SET_FILE.format(sub_name), filename)
                for line in listing.decode("utf-8").splitlines():
                    name = line.strip()
                    if not name:
                        continue
                    photo, label = DATA_FILE.format(name), LABEL_FILE.format(name)
                    image = _decode(_member(archive, members, photo, filename), photo,
                                    filename)
                    classes = _decode(_member(archive, members, label, filename), label,
                                      filename)
                    yield image, classes
        except tarfile.TarError as error:
            raise common.DatasetFormatError(
                f"{filename}: not a readable tar archive ({error})") from None

    return reader


def _archive():
    return common.fetch(MODULE, [common.RemoteFile(VOC_URL.rsplit("/", 1)[-1], VOC_MD5,
                                                   (VOC_URL,))])[0]


def _split(sub_name):
    require_pillow()  # fail now rather than on the first sample
    return reader_creator(_archive(), sub_name)


def train():
    """Reader creator over the ``trainval`` list (2,913 images)."""
    return _split("trainval")


def test():
    """Reader creator over the ``train`` list (1,464 images)."""
    return _split("train")


def val():
    """Reader creator over the ``val`` list (1,449 images)."""
    return _split("val")


def fetch():
    """Download the archive (about 2 GB) into the cache (if not there yet)."""
    _archive()
