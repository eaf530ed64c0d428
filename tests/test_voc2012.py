"""paddle.dataset.voc2012 reads a tiny VOC tar built here in the upstream layout; the
registry of all thirteen v2 dataset modules. No test touches the network."""

import hashlib
import io
import tarfile

import numpy as np
import pytest

import minidl as paddle
from minidl.dataset import voc2012
from minidl.dataset.common import DatasetFormatError, DatasetNotFound

pytestmark = pytest.mark.usefixtures("offline")

V2_DATASETS = ("mnist", "cifar", "conll05", "imdb", "imikolov", "movielens", "sentiment",
               "uci_housing", "wmt14", "wmt16", "mq2007", "flowers", "voc2012")


def test_every_v2_dataset_module_is_in_paddle_dataset():
    for name in V2_DATASETS:
        module = getattr(paddle.dataset, name)
        assert module.__name__ == f"minidl.dataset.{name}" and name in paddle.dataset.__all__
    for name in ("DATA_HOME", "download", "md5file", "split", "cluster_files_reader", "convert"):
        assert hasattr(paddle.dataset.common, name)


# ---- voc2012 ----

def image_bytes(array, fmt, palette=None):
    from PIL import Image

    image = Image.fromarray(array, mode="P" if palette else None)
    if palette:
        image.putpalette(palette)
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def voc_tar(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members:
            info = tarfile.TarInfo("VOCdevkit/VOC2012/" + name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


PHOTO = {"a": (200, 40, 10), "b": (10, 90, 250)}   # flat RGB colours
CLASSES = {"a": np.array([[0, 15, 255], [1, 1, 0]], np.uint8),
           "b": np.array([[20, 20], [0, 255], [3, 4]], np.uint8)}


def voc_members(skip=()):
    members = [("ImageSets/Segmentation/trainval.txt", b"b\na\n"),
               ("ImageSets/Segmentation/train.txt", b"a\n"),
               ("ImageSets/Segmentation/val.txt", b"b\n\n")]
    for name, colour in PHOTO.items():
        h, w = CLASSES[name].shape
        photo = np.empty((h * 8, w * 8, 3), np.uint8)
        photo[:] = colour
        members.append((f"JPEGImages/{name}.jpg", image_bytes(photo, "JPEG")))
        members.append((f"SegmentationClass/{name}.png",
                        image_bytes(CLASSES[name], "PNG", palette=list(range(256)) * 3)))
    return [m for m in members if m[0] not in skip]


def install_voc(home, monkeypatch, data):
    path = home / "voc2012" / "VOCtrainval_11-May-2012.tar"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    monkeypatch.setattr(voc2012, "VOC_MD5", hashlib.md5(data).hexdigest())


def test_voc2012_splits_order_and_sample_format(home, monkeypatch):
    pytest.importorskip("PIL")
    install_voc(home, monkeypatch, voc_tar(voc_members()))
    samples = list(voc2012.train()())   # trainval lists b, then a
    assert len(samples) == 2
    for (image, label), name in zip(samples, "ba"):
        h, w = CLASSES[name].shape
        assert image.shape == (h * 8, w * 8, 3) and image.dtype == np.uint8
        np.testing.assert_allclose(image.reshape(-1, 3).mean(axis=0), PHOTO[name], atol=2)
        assert label.dtype == np.uint8
        np.testing.assert_array_equal(label, CLASSES[name])   # palette indices, 255 kept
    assert [label.shape for _, label in voc2012.test()()] == [(2, 3)]   # train.txt: a
    assert [label.shape for _, label in voc2012.val()()] == [(3, 2)]    # val.txt: b


def test_voc2012_missing_member_and_bad_archive(home, monkeypatch):
    pytest.importorskip("PIL")
    install_voc(home, monkeypatch,
                voc_tar(voc_members(skip=("SegmentationClass/a.png",))))
    with pytest.raises(DatasetFormatError, match="no member.*SegmentationClass/a.png"):
        list(voc2012.test()())
    install_voc(home, monkeypatch, b"garbage" * 100)
    with pytest.raises(DatasetFormatError, match="not a readable tar archive"):
        list(voc2012.val()())


def test_voc2012_offline_error(home):
    pytest.importorskip("PIL")
    with pytest.raises(DatasetNotFound) as info:
        voc2012.train()
    message = str(info.value)
    assert "VOCtrainval_11-May-2012.tar  md5 6cd6e144f989b92b3379bac3b3de84fd" in message
    assert voc2012.VOC_URL in message and str(home / "voc2012") in message
