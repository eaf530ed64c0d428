"""paddle.dataset.conll05 and paddle.dataset.wmt14 read from tiny files built here in the
upstream layouts; every expected sample is worked out by hand in comments.

No test touches the network: an autouse fixture makes every download attempt fail.
"""

import gzip
import hashlib
import io
import tarfile

import pytest

import minidl as paddle
from minidl.dataset import conll05, wmt14
from minidl.dataset.common import DatasetFormatError, DatasetNotFound

#: every download fails here, as on a machine without network (conftest.offline)
pytestmark = pytest.mark.usefixtures("offline")


def tar_bytes(members, mode="w:gz"):
    """A tar of ``(name, bytes)`` members (``bytes`` None: a directory), in order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def install(home, monkeypatch, module, name, data, md5_attr):
    """Put ``data`` in the module's cache as ``name`` and make ``module.<md5_attr>`` match."""
    path = home / module.MODULE / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    monkeypatch.setattr(module, md5_attr, hashlib.md5(data).hexdigest())
    return path


def test_registered_in_paddle_dataset():
    for name, module in (("conll05", conll05), ("wmt14", wmt14)):
        assert getattr(paddle.dataset, name) is module
        assert name in paddle.dataset.__all__


# ---- conll05 ----

# words and props, line by line (a blank line ends a sentence). Sentence 1 has two
# predicates, "said" and "sleep"; sentence 2 one; sentence 3 is one word, its own predicate.
WORDS = b"He\nsaid\ncats\nsleep\n.\n\nNow\ngo\n\nRun\n\n"
PROPS = (b"-      (A0*)    *\n"
         b"said   (V*)     *\n"
         b"-      (A1*     (A0*)\n"
         b"sleep  *        (V*)\n"
         b"-      *)       *\n"
         b"\n"
         b"-      (AM-TMP*)\n"
         b"go     (V*)\n"
         b"\n"
         b"run    (V*)\n"
         b"\n")
WORD_DICT = b"<unk>\nHe\nsaid\ncats\nsleep\n.\nbos\neos\nNow\n"   # go, Run: unknown (0)
VERB_DICT = b"said\nsleep\ngo\n"                                    # run: not there
TARGET_DICT = (b"B-A0\nI-A0\nB-A1\nI-A1\nB-AM-TMP\nI-AM-TMP\nB-V\nI-V\nB-R-A0\nI-R-A0\n"
               b"B-C-A1\nI-C-A1\nB-AM-LOC\nI-AM-LOC\nO\n")
# Python 2.7 iterates set(['A0', 'A1', 'AM-TMP', 'V', 'R-A0', 'C-A1', 'AM-LOC']), built in
# that order, as R-A0 AM-LOC A1 A0 C-A1 V AM-TMP (printed by CPython 2.7.18); B-X = 2n,
# I-X = 2n + 1, O last
LABELS = {"B-R-A0": 0, "I-R-A0": 1, "B-AM-LOC": 2, "I-AM-LOC": 3, "B-A1": 4, "I-A1": 5,
          "B-A0": 6, "I-A0": 7, "B-C-A1": 8, "I-C-A1": 9, "B-V": 10, "I-V": 11,
          "B-AM-TMP": 12, "I-AM-TMP": 13, "O": 14}


def conll_archive(words=WORDS, props=PROPS, skip=()):
    members = [("conll05st-release", None), ("conll05st-release/test.wsj", None),
               (conll05.WORDS_MEMBER, gzip.compress(words)),
               (conll05.PROPS_MEMBER, gzip.compress(props))]
    return tar_bytes([m for m in members if m[0] not in skip])


@pytest.fixture
def conll(home, monkeypatch):
    for name, data, attr in (("wordDict.txt", WORD_DICT, "WORDDICT_MD5"),
                             ("verbDict.txt", VERB_DICT, "VERBDICT_MD5"),
                             ("targetDict.txt", TARGET_DICT, "TRGDICT_MD5"),
                             ("emb", b"\0" * 16 + b"\1\2\3\4", "EMB_MD5"),
                             ("conll05st-tests.tar.gz", conll_archive(), "DATA_MD5")):
        install(home, monkeypatch, conll05, name, data, attr)
    return home / "conll05st"


def test_conll05_dictionaries(conll):
    word_dict, verb_dict, label_dict = conll05.get_dict()
    assert word_dict == {"<unk>": 0, "He": 1, "said": 2, "cats": 3, "sleep": 4, ".": 5,
                         "bos": 6, "eos": 7, "Now": 8}
    assert verb_dict == {"said": 0, "sleep": 1, "go": 2}
    assert label_dict == LABELS
    assert conll05.get_embedding() == str(conll / "emb")


def test_python2_set_order_matches_cpython_2_7():
    """Orders printed by CPython 2.7.18 for sets built by add() in the listed order."""
    srl = ([f"A{i}" for i in range(6)]
           + ["AM-" + x for x in "ADV CAU DIR DIS EXT LOC MNR MOD NEG PNC PRD REC TMP".split()]
           + [f"R-A{i}" for i in range(5)] + [f"C-A{i}" for i in range(5)]
           + ["V", "AA", "R-AM-TMP", "R-AM-LOC", "C-V"])
    expected = ["R-A4", "R-A0", "R-A1", "AM-MNR", "R-A3", "V", "R-AM-TMP", "AM-PRD", "R-A2",
                "AM-EXT", "A1", "A0", "A3", "A2", "A5", "AM-REC", "C-V", "AM-DIR", "AM-DIS",
                "AM-TMP", "A4", "AA", "AM-PNC", "AM-LOC", "R-AM-LOC", "AM-MOD", "AM-CAU",
                "C-A3", "C-A2", "C-A1", "C-A0", "C-A4", "AM-ADV", "AM-NEG"]
    order = conll05.python2_set_order([tag.encode() for tag in srl + srl[::3]])  # repeats
    assert [tag.decode() for tag in order] == expected
    assert conll05.python2_set_order([]) == []
    assert conll05.python2_set_order([b"", b"x", b""]) == [b"", b"x"]


def test_conll05_corpus_reader(conll):
    reader = conll05.corpus_reader(str(conll / "conll05st-tests.tar.gz"),
                                   conll05.WORDS_MEMBER, conll05.PROPS_MEMBER)
    sentence = ["He", "said", "cats", "sleep", "."]
    assert list(reader()) == [
        (sentence, "said", ["B-A0", "B-V", "B-A1", "I-A1", "I-A1"]),
        (sentence, "sleep", ["O", "O", "B-A0", "B-V", "O"]),
        (["Now", "go"], "go", ["B-AM-TMP", "B-V"]),
        (["Run"], "run", ["B-V"]),
    ]


def test_conll05_samples(conll):
    reader = conll05.test()
    # fields: words, ctx_n2, ctx_n1, ctx_0, ctx_p1, ctx_p2, predicate, mark, labels
    expected = [
        # "said" at 1: ctx bos, He, said, cats, sleep; mark rows 0..3
        ([1, 2, 3, 4, 5], [6] * 5, [1] * 5, [2] * 5, [3] * 5, [4] * 5, [0] * 5,
         [1, 1, 1, 1, 0], [6, 10, 4, 5, 5]),
        # "sleep" at 3: ctx said, cats, sleep, ., eos; mark rows 1..4
        ([1, 2, 3, 4, 5], [2] * 5, [3] * 5, [4] * 5, [5] * 5, [7] * 5, [1] * 5,
         [0, 1, 1, 1, 1], [14, 14, 6, 10, 14]),
        # "go" at 1 (an unknown word: 0): ctx bos, Now, go, eos, eos
        ([8, 0], [6, 6], [8, 8], [0, 0], [7, 7], [7, 7], [2, 2], [1, 1], [12, 10]),
        # "Run": unknown word; verb "run" not in verbDict.txt: None, as v2 gave
        ([0], [6], [6], [0], [7], [7], [None], [1], [10]),
    ]
    assert list(reader()) == expected
    assert list(reader()) == expected   # a reader creator: every call is a new pass


def test_conll05_offline_errors_name_file_url_md5_and_directory(home, offline):
    with pytest.raises(DatasetNotFound) as info:
        conll05.get_dict()
    message = str(info.value)
    assert "wordDict.txt" in message and conll05.WORDDICT_MD5 in message
    assert conll05.WORDDICT_URL in message and str(home / "conll05st") in message
    assert offline == [conll05.WORDDICT_URL, conll05.MIRRORS["wordDict.txt"]]
    with pytest.raises(DatasetNotFound, match="wordDict.txt"):
        conll05.test()
    with pytest.raises(DatasetNotFound, match=r"emb  md5 bf436eb0faa1f6f9103017f8be57cdb7"):
        conll05.get_embedding()


def test_conll05_archive_missing_when_the_reader_is_created(conll, monkeypatch):
    (conll / "conll05st-tests.tar.gz").unlink()
    with pytest.raises(DatasetNotFound) as info:
        conll05.test()
    assert "conll05st-tests.tar.gz" in str(info.value) and conll05.DATA_URL in str(info.value)


def test_conll05_md5_mismatch(conll, monkeypatch):
    monkeypatch.setattr(conll05, "VERBDICT_MD5", "0d2977293bbb6cbefab5b0f97db1e77c")
    with pytest.raises(DatasetNotFound, match="verbDict.txt  md5 0d2977293bbb6cbefab5b0f97db1e77c"
                                              r"  \(present but its md5 is "):
        conll05.get_dict()


def test_conll05_malformed_files(home, monkeypatch, conll):
    bad_label = PROPS.replace(b"(AM-TMP*)", b"[AM-TMP]")
    install(home, monkeypatch, conll05, "conll05st-tests.tar.gz",
            conll_archive(props=bad_label), "DATA_MD5")
    with pytest.raises(DatasetFormatError, match="unexpected argument label '\\[AM-TMP\\]'"):
        list(conll05.test()())
    install(home, monkeypatch, conll05, "conll05st-tests.tar.gz",
            conll_archive(skip=(conll05.PROPS_MEMBER,)), "DATA_MD5")
    with pytest.raises(DatasetFormatError, match="no file conll05st-release/test.wsj/props"):
        list(conll05.test()())
    install(home, monkeypatch, conll05, "conll05st-tests.tar.gz", b"not an archive",
            "DATA_MD5")
    with pytest.raises(DatasetFormatError, match="not a readable archive"):
        list(conll05.test()())


# ---- wmt14 ----

SRC_DICT = b"<s>\n<e>\n<unk>\nle\nchat\nnoir\n"
TRG_DICT = b"<s>\n<e>\n<unk>\nthe\ncat\nblack\n"
LONG_80 = b" ".join([b"le"] * 78)    # 78 words + <s> + <e> = 80 ids: kept
LONG_81 = b" ".join([b"le"] * 79)    # 81 ids: skipped
TRAIN = (b"le chat\tthe cat\n"
         b"le chat noir\tthe black cat\n"
         b"no tab on this line\n"                    # skipped: not two fields
         b"le\tthe\tcat\n"                           # skipped: three fields
         + LONG_81 + b"\tthe\n"
         + LONG_80 + b"\t" + b" ".join([b"cat"] * 80) + b"\n"   # 80 target ids: kept
         + b"le\t" + b" ".join([b"cat"] * 81) + b"\n")          # 81: skipped
TEST = b"chat\tcat\n"
GEN = b"noir chat\tblack\n"


def wmt_archive(extra=()):
    return tar_bytes([("wmt14", None), ("wmt14/src.dict", SRC_DICT),
                      ("wmt14/trg.dict", TRG_DICT), ("wmt14/train", None),
                      ("wmt14/train/train", TRAIN), ("wmt14/test/test", TEST),
                      ("wmt14/gen/gen", GEN), *extra])


@pytest.fixture
def wmt(home, monkeypatch):
    return install(home, monkeypatch, wmt14, "wmt14.tgz", wmt_archive(), "MD5_TRAIN")


def test_wmt14_samples(wmt):
    # dict_size 5: <s> 0, <e> 1, <unk> 2, le 3, chat 4 (noir: unknown, 2); the 3, cat 4
    expected = [([0, 3, 4, 1], [0, 3, 4], [3, 4, 1]),
                ([0, 3, 4, 2, 1], [0, 3, 2, 4], [3, 2, 4, 1]),
                ([0] + [3] * 78 + [1], [0] + [4] * 80, [4] * 80 + [1])]
    reader = wmt14.train(5)
    assert list(reader()) == expected
    assert list(reader()) == expected
    assert list(wmt14.test(5)()) == [([0, 4, 1], [0, 4], [4, 1])]
    # dict_size 6 knows noir and black
    assert list(wmt14.gen(6)()) == [([0, 5, 4, 1], [0, 5], [5, 1])]
    assert list(wmt14.gen(5)()) == [([0, 2, 4, 1], [0, 2], [2, 1])]


def test_wmt14_get_dict(wmt):
    src, trg = wmt14.get_dict(4)
    assert src == {0: "<s>", 1: "<e>", 2: "<unk>", 3: "le"}
    assert trg == {0: "<s>", 1: "<e>", 2: "<unk>", 3: "the"}
    src, trg = wmt14.get_dict(100, reverse=False)
    assert src == {"<s>": 0, "<e>": 1, "<unk>": 2, "le": 3, "chat": 4, "noir": 5}
    assert trg["black"] == 5 and len(trg) == 6
    assert (wmt14.START, wmt14.END, wmt14.UNK, wmt14.UNK_IDX) == ("<s>", "<e>", "<unk>", 2)


def test_wmt14_offline_error_when_a_reader_is_created(home, offline):
    for create in (lambda: wmt14.train(10), lambda: wmt14.test(10), lambda: wmt14.gen(10),
                   lambda: wmt14.get_dict(10)):
        with pytest.raises(DatasetNotFound) as info:
            create()
        message = str(info.value)
        assert "wmt14.tgz" in message and wmt14.MD5_TRAIN in message
        assert wmt14.URL_TRAIN in message and str(home / "wmt14") in message
        assert "(missing)" in message and "network disabled in tests" in message
    assert set(offline) == {wmt14.URL_TRAIN}
    with pytest.raises(DatasetNotFound, match="wmt14_model.tar.gz  md5 "
                                              "0cb4a5366189b6acba876491c8724fa3"):
        wmt14.model()


def test_wmt14_downloads_and_caches_the_archive(home, monkeypatch, offline):
    data = wmt_archive()
    monkeypatch.setattr(wmt14, "MD5_TRAIN", hashlib.md5(data).hexdigest())
    monkeypatch.setattr("urllib.request.urlopen",
                        lambda url, timeout=None: offline.append(url) or io.BytesIO(data))
    assert len(list(wmt14.train(5)())) == 3
    assert (home / "wmt14" / "wmt14.tgz").read_bytes() == data
    assert len(list(wmt14.test(5)())) == 1
    assert offline == [wmt14.URL_TRAIN]     # downloaded once, then read from the cache


def test_wmt14_md5_mismatch(home):
    path = home / "wmt14" / "wmt14.tgz"
    path.parent.mkdir(parents=True)
    path.write_bytes(wmt_archive())
    with pytest.raises(DatasetNotFound, match="present but its md5 is"):
        wmt14.train(5)


def test_wmt14_bad_arguments_and_files(home, monkeypatch, wmt):
    with pytest.raises(ValueError, match="dict_size=0 must be a positive integer"):
        wmt14.train(0)
    with pytest.raises(ValueError, match="<e> not among the first 1 lines of trg.dict"):
        list(wmt14.train(1)())
    install(home, monkeypatch, wmt14, "wmt14.tgz",
            wmt_archive(extra=[("other/src.dict", SRC_DICT)]), "MD5_TRAIN")
    with pytest.raises(DatasetFormatError, match="2 members end with 'src.dict'"):
        list(wmt14.train(5)())
    install(home, monkeypatch, wmt14, "wmt14.tgz", b"garbage", "MD5_TRAIN")
    with pytest.raises(DatasetFormatError, match="not a readable tar archive"):
        list(wmt14.train(5)())


def test_wmt14_model_reads_a_gzipped_parameter_tarball(home, monkeypatch):
    x = paddle.layer.data("x", paddle.data_type.dense_vector(3))
    y = paddle.layer.fc(input=x, size=2, name="out")
    parameters = paddle.parameters.create(y)
    buffer = io.BytesIO()
    parameters.to_tar(buffer)
    install(home, monkeypatch, wmt14, "wmt14_model.tar.gz", gzip.compress(buffer.getvalue()),
            "MD5_MODEL")
    loaded = wmt14.model()
    assert loaded.names() == parameters.names()
    assert (loaded.get("_out.w0") == parameters.get("_out.w0")).all()
