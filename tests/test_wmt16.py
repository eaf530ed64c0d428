"""paddle.dataset.wmt16 reads a tiny archive built here in the upstream layout; every expected
dictionary and sample is worked out by hand in comments. No test touches the network."""

import hashlib
import io
import tarfile

import pytest

import minidl as paddle
from minidl.dataset import wmt16
from minidl.dataset.common import DatasetFormatError, DatasetNotFound

pytestmark = pytest.mark.usefixtures("offline")

TRAIN = (b"a cat sits\tdie katze sitzt\n"
         b"a dog\tein hund\n"
         b"no tab on this line\n"        # skipped: one field
         b"a cat\tdie katze\n"
         b"x\ty\tz\n")                   # skipped: three fields
TEST = b"a sits\tdie hund\n"
VAL = b"dog\tkatze\n"
# English counts in the kept lines: a 3, cat 2, sits 1, dog 1 (ties in order of appearance)
# German counts: die 2, katze 2, sitzt 1, ein 1, hund 1


def wmt16_archive(members=None):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members or [("wmt16/train", TRAIN), ("wmt16/test", TEST),
                                      ("wmt16/val", VAL)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def install(home, monkeypatch, data):
    path = home / "wmt16" / "wmt16.tar.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    monkeypatch.setattr(wmt16, "DATA_MD5", hashlib.md5(data).hexdigest())
    return path


@pytest.fixture
def archive(home, monkeypatch):
    return install(home, monkeypatch, wmt16_archive())


def test_train_samples_english_to_german(archive):
    # en dict 5: <s> 0 <e> 1 <unk> 2 a 3 cat 4;  de dict 5: ... die 3 katze 4
    expected = [([0, 3, 4, 2, 1], [0, 3, 4, 2], [3, 4, 2, 1]),   # sits, sitzt unknown
                ([0, 3, 2, 1], [0, 2, 2], [2, 2, 1]),            # dog, ein, hund unknown
                ([0, 3, 4, 1], [0, 3, 4], [3, 4, 1])]
    reader = wmt16.train(5, 5)
    assert list(reader()) == expected
    assert list(reader()) == expected
    assert list(wmt16.test(5, 5)()) == [([0, 3, 2, 1], [0, 3, 2], [3, 2, 1])]
    assert list(wmt16.validation(5, 5)()) == [([0, 2, 1], [0, 4], [4, 1])]


def test_german_to_english_uses_the_other_column(archive):
    # de dict 5: die 3 katze 4;  en dict 6: a 3 cat 4 sits 5
    samples = list(wmt16.train(5, 6, src_lang="de")())
    assert samples[0] == ([0, 3, 4, 2, 1], [0, 3, 4, 5], [3, 4, 5, 1])
    assert samples[1] == ([0, 2, 2, 1], [0, 3, 2], [3, 2, 1])


def test_dictionaries_are_cached_per_language_and_size(archive, home):
    list(wmt16.train(5, 6)())
    assert (home / "wmt16" / "en_5.dict").read_text() == "<s>\n<e>\n<unk>\na\ncat\n"
    assert (home / "wmt16" / "de_6.dict").read_text() == "<s>\n<e>\n<unk>\ndie\nkatze\nsitzt\n"
    # a cached dictionary of the right length is used as it is (as v2 did)
    (home / "wmt16" / "en_5.dict").write_text("<s>\n<e>\n<unk>\ncat\na\n")
    assert next(iter(wmt16.train(5, 6)()))[0] == [0, 4, 3, 2, 1]
    # one of the wrong length is rebuilt
    (home / "wmt16" / "en_5.dict").write_text("<s>\n<e>\n")
    assert next(iter(wmt16.train(5, 6)()))[0] == [0, 3, 4, 2, 1]


def test_get_dict(archive):
    assert wmt16.get_dict("en", 5) == {"<s>": 0, "<e>": 1, "<unk>": 2, "a": 3, "cat": 4}
    assert wmt16.get_dict("de", 4, reverse=True) == {0: "<s>", 1: "<e>", 2: "<unk>", 3: "die"}
    # more words asked for than there are: all of them, in count order
    assert wmt16.get_dict("en", 50, reverse=True) == {0: "<s>", 1: "<e>", 2: "<unk>", 3: "a",
                                                       4: "cat", 5: "sits", 6: "dog"}


def test_dict_sizes_are_capped_at_the_vocabulary(archive, home):
    wmt16.get_dict("en", 10**6)
    wmt16.get_dict("de", 10**6)
    assert (home / "wmt16" / f"en_{wmt16.TOTAL_EN_WORDS}.dict").exists()
    assert (home / "wmt16" / f"de_{wmt16.TOTAL_DE_WORDS}.dict").exists()


def test_bad_arguments(archive):
    with pytest.raises(ValueError, match="language must be 'en'.*got 'fr'"):
        wmt16.train(5, 5, src_lang="fr")
    with pytest.raises(ValueError, match="dict_size=2 must be an integer >= 3"):
        wmt16.test(2, 5)
    with pytest.raises(ValueError, match="dict_size=True"):
        wmt16.get_dict("en", True)


def test_malformed_archives(home, monkeypatch):
    install(home, monkeypatch, wmt16_archive([("wmt16/train", TRAIN)]))
    with pytest.raises(DatasetFormatError, match="no member 'wmt16/val'"):
        list(wmt16.validation(5, 5)())
    install(home, monkeypatch, b"not a tar")
    with pytest.raises(DatasetFormatError, match="not a readable tar archive"):
        list(wmt16.train(5, 5)())


def test_offline_error_names_file_md5_urls_and_directory(home, offline):
    for create in (lambda: wmt16.train(10, 10), lambda: wmt16.test(10, 10),
                   lambda: wmt16.validation(10, 10), lambda: wmt16.get_dict("en", 10)):
        with pytest.raises(DatasetNotFound) as info:
            create()
        message = str(info.value)
        assert "wmt16.tar.gz  md5 0c38be43600334966403524a40dcd81e" in message
        assert all(url in message for url in wmt16.DATA_URLS)
        assert str(home / "wmt16") in message and "(missing)" in message
    assert set(offline) == set(wmt16.DATA_URLS)   # each mirror tried


def test_convert_writes_recordio_that_the_creator_reads_back(archive, tmp_path):
    out = tmp_path / "recordio"
    out.mkdir()
    wmt16.convert(str(out), 5, 5, "en")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["wmt16_test-00000", "wmt16_train-00000", "wmt16_validation-00000"]
    back = paddle.reader.creator.recordio(str(out / "wmt16_train-*"))
    assert list(back()) == list(wmt16.train(5, 5)())
    back = paddle.reader.creator.recordio([str(out / "wmt16_validation-00000")])
    assert list(back()) == [([0, 2, 1], [0, 4], [4, 1])]
