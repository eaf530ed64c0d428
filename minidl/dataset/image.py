"""``paddle.image``: decoding images and the simple augmentations v2's image readers used.

Layouts: a colour image is ``(H, W, 3)`` with channels in **BGR** order (as OpenCV decodes,
which v2 used), a grey image ``(H, W)``; networks take **CHW**, so :func:`to_chw` transposes.
Decoding and resizing need Pillow (``pip install pillow``); everything else is NumPy. Random
choices (crop position, flip) come from ``rng`` or else ``minidl.random.get_rng()``, so
``paddle.init(seed=...)`` makes them reproducible.

Notation (:func:`simple_transform`)::

    (H, W, 3) --resize_short--> short side = resize_size --crop--> (S, S, 3)
      --[train: flip with prob. 1/2]--> --to_chw--> (3, S, S) float32 --minus mean-->
"""

import io
import os
import pickle
import tarfile

import numpy as np

from ..core import random as _random

__all__ = ["batch_images_from_tar", "center_crop", "left_right_flip", "load_and_transform",
           "load_image", "load_image_bytes", "random_crop", "resize_short", "simple_transform",
           "to_chw"]


def require_pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("minidl decodes and resizes images with Pillow, which is not "
                          "installed: pip install pillow") from None
    return Image


def _decode(image, is_color):
    """A Pillow image -> ``(H, W, 3)`` BGR or ``(H, W)`` grey uint8."""
    if is_color:
        return np.asarray(image.convert("RGB"))[:, :, ::-1]
    return np.asarray(image.convert("L"))  # ITU-R 601 luma, as OpenCV's grey decoding


def load_image_bytes(bytes, is_color=True):
    """Decode encoded image bytes (JPEG, PNG, ...): ``(H, W, 3)`` BGR, or ``(H, W)`` grey."""
    Image = require_pillow()
    try:
        image = Image.open(io.BytesIO(bytes))
        image.load()
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"load_image_bytes: not a decodable image ({error})") from None
    return _decode(image, is_color)


def load_image(file, is_color=True):
    """Decode the image file ``file``: ``(H, W, 3)`` BGR, or ``(H, W)`` grey."""
    with open(file, "rb") as f:
        return load_image_bytes(f.read(), is_color)


def resize_short(im, size):
    """Resize (bicubic) ``(H, W[, C])`` so the shorter side is ``size``, the longer side
    ``size * long // short`` (floored, as v2)."""
    h, w = im.shape[:2]
    new_h, new_w = (size * h // w, size) if h > w else (size, size * w // h)
    Image = require_pillow()
    if im.dtype == np.uint8:
        resized = Image.fromarray(np.ascontiguousarray(im)).resize((new_w, new_h), Image.BICUBIC)
        return np.asarray(resized)
    # other dtypes: one 32-bit float image per channel
    channels = im.reshape(h, w, -1).astype(np.float32)
    planes = [np.asarray(Image.fromarray(np.ascontiguousarray(channels[:, :, c]), mode="F")
                         .resize((new_w, new_h), Image.BICUBIC))
              for c in range(channels.shape[2])]
    return np.stack(planes, axis=2).reshape((new_h, new_w) + im.shape[2:])


def to_chw(im, order=(2, 0, 1)):
    """Transpose an ``(H, W, C)`` image to ``order`` (default: ``(C, H, W)``)."""
    if im.ndim != len(order):
        raise ValueError(f"to_chw: image has {im.ndim} axes, order {tuple(order)} has "
                         f"{len(order)}")
    return im.transpose(order)


def _check_crop(name, im, size):
    h, w = im.shape[:2]
    if not 0 < size <= min(h, w):
        raise ValueError(f"{name}: crop size {size} does not fit an image of {h}x{w}")
    return h, w


def center_crop(im, size, is_color=True):
    """The central ``size x size`` window (the top-left corner at ``((H-size)//2,
    (W-size)//2)``) of an HWC or HW image; ``is_color`` is accepted for v2's signature."""
    h, w = _check_crop("center_crop", im, size)
    top, left = (h - size) // 2, (w - size) // 2
    return im[top:top + size, left:left + size]


def random_crop(im, size, is_color=True, rng=None):
    """A ``size x size`` window at a uniformly drawn position (top first, then left)."""
    h, w = _check_crop("random_crop", im, size)
    rng = rng if rng is not None else _random.get_rng()
    top = int(rng.integers(0, h - size + 1))
    left = int(rng.integers(0, w - size + 1))
    return im[top:top + size, left:left + size]


def left_right_flip(im, is_color=True):
    """The image mirrored left to right (the W axis of HWC or HW reversed)."""
    return im[:, ::-1]


def simple_transform(im, resize_size, crop_size, is_train, is_color=True, mean=None, rng=None):
    """v2's augmentation: resize the short side to ``resize_size``, crop ``crop_size``
    (training: random position, then flip when ``rng.integers(2) == 0``; otherwise the
    centre), HWC -> CHW for a 3-axis image, float32, minus ``mean``.

    ``mean`` is one value per channel (``(C,)``, broadcast over H and W) or an element-wise
    mean of the output's shape.
    """
    im = resize_short(im, resize_size)
    if is_train:
        rng = rng if rng is not None else _random.get_rng()
        im = random_crop(im, crop_size, is_color, rng)
        if rng.integers(2) == 0:
            im = left_right_flip(im, is_color)
    else:
        im = center_crop(im, crop_size, is_color)
    if im.ndim == 3:
        im = to_chw(im)
    im = im.astype(np.float32)
    if mean is not None:
        mean = np.asarray(mean, dtype=np.float32)
        if mean.ndim == 1 and im.ndim == 3:
            mean = mean[:, None, None]
        im -= mean
    return im


def load_and_transform(filename, resize_size, crop_size, is_train, is_color=True, mean=None,
                       rng=None):
    """:func:`load_image` then :func:`simple_transform`."""
    im = load_image(filename, is_color)
    return simple_transform(im, resize_size, crop_size, is_train, is_color, mean, rng)


def batch_images_from_tar(data_file, dataset_name, img2label, num_per_batch=1024):
    """Pickle the images of ``data_file`` (a tar) named in ``img2label`` in batches.

    Members are taken in archive order; every ``num_per_batch`` of them (and the rest) go to
    ``<data_file>_batch/<dataset_name>/batch_<k>`` as ``{'data': [bytes, ...], 'label':
    [label, ...]}``. Returns the list file ``<data_file>_batch/<dataset_name>.txt``, which
    names each batch file by absolute path. If the batch folder exists, nothing is rewritten.
    """
    batch_dir = data_file + "_batch"
    out_path = os.path.join(batch_dir, dataset_name)
    meta_file = os.path.join(batch_dir, dataset_name + ".txt")
    if os.path.exists(out_path):
        return meta_file
    os.makedirs(out_path)
    written = []

    def dump(data, labels):
        path = os.path.abspath(os.path.join(out_path, f"batch_{len(written)}"))
        with open(path, "wb") as f:
            pickle.dump({"label": labels, "data": data}, f, protocol=pickle.HIGHEST_PROTOCOL)
        written.append(path)

    data, labels = [], []
    with tarfile.open(data_file) as archive:
        for member in archive:
            if member.name in img2label:
                data.append(archive.extractfile(member).read())
                labels.append(img2label[member.name])
                if len(data) == num_per_batch:
                    dump(data, labels)
                    data, labels = [], []
    if data:
        dump(data, labels)
    with open(meta_file, "w") as meta:
        meta.writelines(path + "\n" for path in written)
    return meta_file
