"""paddle.dataset.voc2012 and paddle.dataset.mq2007 read tiny files built here in the upstream
layouts (a VOC tar; MQ2007's LETOR text files and a RAR archive written byte by byte); the
registry of all v2 dataset modules. No test touches the network."""

import hashlib
import io
import struct
import tarfile
import zlib

import numpy as np
import pytest

import minidl as paddle
from minidl.core import random as minidl_random
from minidl.dataset import mq2007, voc2012
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


# ---- mq2007 ----

def letor(relevance, qid, doc):
    """One LETOR line; document ``doc`` has features doc + j/100, j = 1..46."""
    features = " ".join(f"{j}:{doc + j / 100:.6f}" for j in range(1, 47))
    return f"{relevance} qid:{qid} {features} #docid = GX{doc:03d} inc = 1 prob = 0.5\n"


def features(doc):
    return np.array([doc + j / 100 for j in range(1, 47)])


# query 10: docs 1, 2, 3 with relevance 0, 2, 1; query 20: all 0 (dropped); a line with 47
# fields (skipped); query 30: docs 4, 5, 6 with relevance 1, 1, 0
TRAIN = (letor(0, 10, 1) + letor(2, 10, 2) + letor(1, 10, 3)
         + letor(0, 20, 7) + letor(0, 20, 8)
         + letor(2, 30, 9).replace(" 46:", " ", 1)
         + letor(1, 30, 4) + letor(1, 30, 5) + letor(0, 30, 6))
TEST = letor(1, 40, 11) + letor(0, 40, 12)


@pytest.fixture
def mq(home):
    folder = home / "MQ2007" / "Fold1"
    folder.mkdir(parents=True)
    (folder / "train.txt").write_text(TRAIN)
    (folder / "test.txt").write_text(TEST)
    return folder


def same(samples, expected):
    assert len(samples) == len(expected)
    for got, want in zip(samples, expected):
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b)


def test_mq2007_pairwise(mq):
    # query 10 ranked 2 (rel 2), 3 (rel 1), 1 (rel 0); query 30 ranked 4, 5 (rel 1), 6
    one = np.array([1])
    expected = [(one, features(2), features(3)), (one, features(2), features(1)),
                (one, features(3), features(1)),
                (one, features(4), features(6)), (one, features(5), features(6))]
    same(list(mq2007.train()), expected)
    same(list(mq2007.test(format="pairwise")), [(one, features(11), features(12))])


def test_mq2007_listwise_pointwise_plain(mq):
    same(list(mq2007.train(format="listwise")),
         [(np.array([[2], [1], [0]]), np.stack([features(2), features(3), features(1)])),
          (np.array([[1], [1], [0]]), np.stack([features(4), features(5), features(6)]))])
    ranked = [(10, 2, 2), (10, 1, 3), (10, 0, 1), (30, 1, 4), (30, 1, 5), (30, 0, 6)]
    same(list(mq2007.train(format="pointwise")), [(r, features(d)) for _, r, d in ranked])
    same(list(mq2007.train(format="plain_txt")), [(q, r, features(d)) for q, r, d in ranked])
    label, matrix = next(mq2007.train(format="listwise"))
    assert label.shape == (3, 1) and matrix.shape == (3, 46)


def test_mq2007_is_a_reader_for_the_decorators(mq):
    batches = list(paddle.batch(mq2007.train, 2, drop_last=False)())
    assert [len(b) for b in batches] == [2, 2, 1]


def test_mq2007_shuffle_permutes_queries_reproducibly(mq):
    plain = [label[0, 0] for label, _ in mq2007.train(format="listwise")]
    orders = set()
    for seed in range(8):
        minidl_random.seed(seed)
        first = [m[0, 0] for _, m in mq2007.train(format="listwise", shuffle=True)]
        minidl_random.seed(seed)
        again = [m[0, 0] for _, m in mq2007.train(format="listwise", shuffle=True)]
        assert first == again
        orders.add(tuple(first))
    assert plain == [2, 1] and orders == {(2.01, 4.01), (4.01, 2.01)}


def test_mq2007_bad_format(mq):
    with pytest.raises(ValueError, match="format must be one of.*got 'rowwise'"):
        next(mq2007.train(format="rowwise"))


def rar4_stored(members):
    """A RAR 4 archive storing ``(name, bytes)`` members uncompressed: a marker, an archive
    header, per member a file header (CRC-16 of the header is the low half of its CRC-32)
    followed by the data, and an end block."""
    def block(head_type, flags, body):
        head = struct.pack("<BHH", head_type, flags, 7 + len(body)) + body
        return struct.pack("<H", zlib.crc32(head) & 0xFFFF) + head

    out = b"Rar!\x1a\x07\x00" + block(0x73, 0, b"\0" * 6)
    dos_time = ((2020 - 1980) << 9 | 1 << 5 | 1) << 16
    for name, data in members:
        raw = name.encode()
        # pack size, size, host OS 3 (Unix), CRC-32, time, version 2.0, method 0x30 (store)
        body = struct.pack("<IIBIIBBHI", len(data), len(data), 3, zlib.crc32(data), dos_time,
                           20, 0x30, len(raw), 0o100644) + raw
        out += block(0x74, 0x8000, body) + data
    return out + block(0x7B, 0x4000, b"")


def test_mq2007_extracts_the_fold_from_the_rar_archive(home, monkeypatch):
    pytest.importorskip("rarfile")
    data = rar4_stored([("MQ2007/Fold1/train.txt", TRAIN.encode()),
                        ("MQ2007/Fold1/test.txt", TEST.encode()),
                        ("MQ2007/Fold2/train.txt", b"")])
    (home / "MQ2007").mkdir(parents=True)
    (home / "MQ2007" / "MQ2007.rar").write_bytes(data)
    monkeypatch.setattr(mq2007, "MD5", hashlib.md5(data).hexdigest())
    assert len(list(mq2007.test())) == 1
    assert (home / "MQ2007" / "Fold1" / "test.txt").read_text() == TEST
    assert len(list(mq2007.train(format="pointwise"))) == 6


def test_mq2007_damaged_rar_is_a_format_error(home, monkeypatch):
    pytest.importorskip("rarfile")
    data = b"not a rar archive at all"
    (home / "MQ2007").mkdir(parents=True)
    (home / "MQ2007" / "MQ2007.rar").write_bytes(data)
    monkeypatch.setattr(mq2007, "MD5", hashlib.md5(data).hexdigest())
    with pytest.raises(DatasetFormatError, match="cannot extract Fold1/train.txt"):
        next(mq2007.train())
    data = rar4_stored([("MQ2007/Fold2/train.txt", b"")])
    (home / "MQ2007" / "MQ2007.rar").write_bytes(data)
    monkeypatch.setattr(mq2007, "MD5", hashlib.md5(data).hexdigest())
    with pytest.raises(DatasetFormatError, match="no member ends with Fold1/train.txt"):
        next(mq2007.train())


def test_mq2007_without_rarfile_says_what_to_do(home, monkeypatch):
    import sys

    data = b"Rar!"
    (home / "MQ2007").mkdir(parents=True)
    (home / "MQ2007" / "MQ2007.rar").write_bytes(data)
    monkeypatch.setattr(mq2007, "MD5", hashlib.md5(data).hexdigest())
    monkeypatch.setitem(sys.modules, "rarfile", None)
    with pytest.raises(ImportError, match="pip install rarfile.*extract Fold1/train.txt"):
        next(mq2007.train())


def test_mq2007_offline_error_offers_the_manual_route(home):
    with pytest.raises(DatasetNotFound) as info:
        next(mq2007.test())
    message = str(info.value)
    assert "MQ2007.rar  md5 7be1640ae95c6408dab0ae7207bdc706" in message
    assert mq2007.URL in message
    assert f"put Fold1/test.txt of the archive in {home / 'MQ2007' / 'Fold1'}" in message
