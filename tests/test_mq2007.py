"""paddle.dataset.mq2007 reads MQ2007's LETOR text files built here, and a RAR archive written
byte by byte in the upstream layout. No test touches the network."""

import hashlib
import struct
import sys
import zlib

import numpy as np
import pytest

import minidl as paddle
from minidl.core import random as minidl_random
from minidl.dataset import mq2007
from minidl.dataset.common import DatasetFormatError, DatasetNotFound

pytestmark = pytest.mark.usefixtures("offline")


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
