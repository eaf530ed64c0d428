"""paddle.dataset text datasets (imikolov, imdb, movielens, sentiment) read from tiny archives
built here in the exact upstream layout; every expected sample is worked out by hand in comments.

No test touches the network: an autouse fixture makes every download attempt fail.
"""

import hashlib
import io
import random
import tarfile
import zipfile

import pytest

import minidl as paddle
from minidl.dataset import imdb, imikolov, movielens, sentiment
from minidl.dataset.common import DatasetFormatError, DatasetNotFound

#: every download fails here, as on a machine without network (conftest.offline)
pytestmark = pytest.mark.usefixtures("offline")


def md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def tar_bytes(members):
    """A gzipped tar of ``(name, bytes)`` members (``bytes`` None: a directory), in order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def zip_bytes(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, b"" if data is None else data)
    return buffer.getvalue()


def install(home, monkeypatch, module, cache_dir, data):
    """Put ``data`` in the cache as the module's FILE and make its MD5 match."""
    path = home / cache_dir / module.FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    monkeypatch.setattr(module, "MD5", md5(path))
    return path


def assert_not_found(info, home, cache_dir, module):
    message = str(info.value)
    assert module.FILE in message and module.MD5 in message and "(missing)" in message
    assert module.URLS[0] in message
    assert str(home / cache_dir) in message
    return message


def test_text_datasets_are_registered_in_paddle_dataset():
    for name, module in (("imikolov", imikolov), ("imdb", imdb), ("movielens", movielens),
                         ("sentiment", sentiment)):
        assert getattr(paddle.dataset, name) is module
        assert name in paddle.dataset.__all__
    assert paddle.dataset.imikolov.DataType.NGRAM == 1 and paddle.dataset.imikolov.DataType.SEQ == 2


# ---- imikolov (PTB) ----

# Counts over train + valid (ptb.test.txt is never read): a 4, <s> 3, <e> 3, b 2, <unk> 2 (dropped,
# it is re-added last), c 1, d 1.
PTB_TRAIN = b" a b a <unk> <unk> \n b a c \n"
PTB_VALID = b" a d \n"
PTB_TEST = b" z z z z z z \n"


def ptb_archive(prefix="./", skip=()):
    names = [f"{prefix}simple-examples/", f"{prefix}simple-examples/data/"]
    files = {"ptb.train.txt": PTB_TRAIN, "ptb.valid.txt": PTB_VALID, "ptb.test.txt": PTB_TEST}
    members = [(name, None) for name in names]
    members += [(f"{prefix}simple-examples/data/{name}", data) for name, data in files.items()
                if name not in skip]
    return tar_bytes(members)


@pytest.fixture
def ptb(home, monkeypatch):
    return install(home, monkeypatch, imikolov, "imikolov", ptb_archive())


# freq > 1: a(4), then <e>(3) before <s>(3) (ties by the word), b(2); <unk> last
PTB_DICT_1 = {"a": 0, "<e>": 1, "<s>": 2, "b": 3, "<unk>": 4}


@pytest.mark.parametrize("min_word_freq, expected", [
    (1, PTB_DICT_1),
    (2, {"a": 0, "<e>": 1, "<s>": 2, "<unk>": 3}),  # b (2) is not MORE than 2
    (0, {"a": 0, "<e>": 1, "<s>": 2, "b": 3, "c": 4, "d": 5, "<unk>": 6}),
])
def test_imikolov_build_dict(ptb, min_word_freq, expected):
    word_idx = imikolov.build_dict(min_word_freq)
    assert word_idx == expected
    assert list(word_idx) == list(expected)  # insertion order = id order


def test_imikolov_default_cutoff_keeps_only_unk_on_a_tiny_corpus(ptb):
    assert imikolov.build_dict() == {"<unk>": 0}  # Paddle raised here; minidl gives <unk> alone


@pytest.mark.parametrize("prefix", ["./", ""])
def test_imikolov_member_names_with_or_without_dot_slash(home, monkeypatch, prefix):
    install(home, monkeypatch, imikolov, "imikolov", ptb_archive(prefix))
    assert imikolov.build_dict(1) == PTB_DICT_1


def test_imikolov_ngram_samples(ptb):
    word_idx = PTB_DICT_1
    # line 1: <s> a b a <unk> <unk> <e> -> 2 0 3 0 4 4 1
    # line 2: <s> b a c <e> -> 2 3 0 4 1 (c is not in the dictionary: <unk>)
    reader = imikolov.train(word_idx, 3)
    expected = [(2, 0, 3), (0, 3, 0), (3, 0, 4), (0, 4, 4), (4, 4, 1),
                (2, 3, 0), (3, 0, 4), (0, 4, 1)]
    assert list(reader()) == expected
    assert list(reader()) == expected  # a reader creator: every call is a new pass
    # a line shorter than n yields nothing
    assert list(imikolov.train(word_idx, 6)()) == [(2, 0, 3, 0, 4, 4), (0, 3, 0, 4, 4, 1)]
    # test() reads ptb.valid.txt: <s> a d <e> -> 2 0 4 1
    assert list(imikolov.test(word_idx, 2)()) == [(2, 0), (0, 4), (4, 1)]


def test_imikolov_seq_samples(ptb):
    word_idx = PTB_DICT_1
    line1 = ([2, 0, 3, 0, 4, 4], [0, 3, 0, 4, 4, 1])
    line2 = ([2, 3, 0, 4], [3, 0, 4, 1])
    seq = imikolov.DataType.SEQ
    assert list(imikolov.train(word_idx, 0, seq)()) == [line1, line2]  # n <= 0: no limit
    assert list(imikolov.train(word_idx, 6, seq)()) == [line1, line2]  # len(src) 6 is allowed
    assert list(imikolov.train(word_idx, 5, seq)()) == [line2]  # longer src is skipped
    assert list(imikolov.test(word_idx, 0, seq)()) == [([2, 0, 4], [0, 4, 1])]


def test_imikolov_argument_checks(ptb):
    with pytest.raises(ValueError, match="data_type"):
        imikolov.train(PTB_DICT_1, 3, data_type=3)
    with pytest.raises(ValueError, match="n >= 1"):
        imikolov.train(PTB_DICT_1, 0)
    with pytest.raises(ValueError, match="<s>"):
        imikolov.train({"<unk>": 0}, 0, imikolov.DataType.SEQ)


def test_imikolov_offline_error_when_the_dict_is_built_or_a_reader_is_iterated(home, offline):
    with pytest.raises(DatasetNotFound) as info:
        imikolov.build_dict()
    assert_not_found(info, home, "imikolov", imikolov)
    assert "network disabled in tests" in str(info.value)
    assert offline == list(imikolov.URLS)  # both mirrors were tried
    # as in Paddle, creating a reader (and calling it) touches nothing; the first sample does
    reader = imikolov.train(PTB_DICT_1, 3)
    samples = reader()
    with pytest.raises(DatasetNotFound) as info:
        next(samples)
    assert_not_found(info, home, "imikolov", imikolov)


def test_imikolov_downloads_and_caches_the_archive(home, monkeypatch, offline):
    data = ptb_archive()
    monkeypatch.setattr(imikolov, "MD5", hashlib.md5(data).hexdigest())
    monkeypatch.setattr("urllib.request.urlopen",
                        lambda url, timeout=None: offline.append(url) or io.BytesIO(data))
    assert imikolov.build_dict(1) == PTB_DICT_1
    assert offline == [imikolov.URLS[0]]
    assert (home / "imikolov" / "simple-examples.tgz").read_bytes() == data
    assert imikolov.build_dict(1) == PTB_DICT_1
    assert offline == [imikolov.URLS[0]]  # the cached file is used


def test_imikolov_md5_mismatch(home, monkeypatch):
    path = home / "imikolov" / imikolov.FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(ptb_archive())  # not the real archive: its md5 differs from imikolov.MD5
    with pytest.raises(DatasetNotFound, match=f"present but its md5 is {md5(path)}"):
        imikolov.build_dict()
    # a download whose content has the wrong md5 is refused and leaves nothing behind
    path.unlink()
    monkeypatch.setattr("urllib.request.urlopen",
                        lambda url, timeout=None: io.BytesIO(b"tampered"))
    with pytest.raises(DatasetNotFound, match=f"expected {imikolov.MD5}"):
        imikolov.build_dict()
    assert list(path.parent.iterdir()) == []


def test_imikolov_corrupt_archive(home, monkeypatch):
    path = install(home, monkeypatch, imikolov, "imikolov", b"this is not a tar archive")
    with pytest.raises(DatasetFormatError, match="not a readable tar archive") as info:
        imikolov.build_dict()
    assert str(path) in str(info.value)
    truncated = ptb_archive()[:60]
    install(home, monkeypatch, imikolov, "imikolov", truncated)
    with pytest.raises(DatasetFormatError, match="not a readable tar archive"):
        list(imikolov.train(PTB_DICT_1, 2)())


def test_imikolov_missing_member(home, monkeypatch):
    install(home, monkeypatch, imikolov, "imikolov", ptb_archive(skip=("ptb.valid.txt",)))
    with pytest.raises(DatasetFormatError, match=r"no file \./simple-examples/data/ptb\.valid"):
        imikolov.build_dict()
    assert len(list(imikolov.train(PTB_DICT_1, 2)())) == 6 + 4  # ptb.train.txt still reads


# ---- imdb ----

IMDB_MEMBERS = [
    ("aclImdb", None),
    ("aclImdb/README", b"README words words words\n"),
    ("aclImdb/imdb.vocab", b"the\nand\n"),
    ("aclImdb/train", None),
    ("aclImdb/train/neg/0_2.txt", b"Bad movie; bad acting.\n"),  # bad movie bad acting
    ("aclImdb/train/pos/1_7.txt", b"Great, great acting.<br />"),  # great great actingbr
    ("aclImdb/train/pos/0_9.txt", b"A great movie! Great fun.\n"),  # a great movie great fun
    ("aclImdb/train/unsup/0_0.txt", b"great great great great\n"),  # never read
    ("aclImdb/test/pos/0_10.txt", b"Fun, fun movie.\r\n"),  # fun fun movie
    # bytes are lower-cased in ASCII only, as Python 2 did: "CAF\xc3\x89" -> "caf\xc3\x89" = "cafÉ"
    ("aclImdb/test/neg/0_1.txt", b"CAF\xc3\x89 bad!\n"),  # cafÉ bad
]
# labelled counts: great 4, bad 3, fun 3, movie 3, a 1, acting 1, actingbr 1, cafÉ 1
IMDB_DICT_0 = {"great": 0, "bad": 1, "fun": 2, "movie": 3, "a": 4, "acting": 5, "actingbr": 6,
               "caf\u00c9": 7, "<unk>": 8}
IMDB_DICT_1 = {"great": 0, "bad": 1, "fun": 2, "movie": 3, "<unk>": 4}


@pytest.fixture
def aclimdb(home, monkeypatch):
    return install(home, monkeypatch, imdb, "imdb", tar_bytes(IMDB_MEMBERS))


def test_imdb_tokenize_as_paddle(aclimdb):
    assert list(imdb.tokenize(imdb.TRAIN_POS)) == [["great", "great", "actingbr"],
                                                   ["a", "great", "movie", "great", "fun"]]
    assert list(imdb.tokenize(imdb.TEST_NEG)) == [["caf\u00c9", "bad"]]


@pytest.mark.parametrize("cutoff, expected", [(0, IMDB_DICT_0), (1, IMDB_DICT_1),
                                              (3, {"great": 0, "<unk>": 1})])
def test_imdb_word_dict(aclimdb, cutoff, expected):
    word_idx = imdb.word_dict(cutoff)
    assert word_idx == expected and list(word_idx) == list(expected)


def test_imdb_default_cutoff_and_custom_pattern(aclimdb):
    assert imdb.word_dict() == {"<unk>": 0}  # cutoff 150: nothing in a tiny corpus
    # a string pattern works as well as a compiled one; unsup is read only when asked for
    assert imdb.build_dict(r"aclImdb/train/pos/.*\.txt$", 0) == {
        "great": 0, "a": 1, "actingbr": 2, "fun": 3, "movie": 4, "<unk>": 5}
    assert imdb.build_dict(r"aclImdb/train/unsup/", 3) == {"great": 0, "<unk>": 1}


def test_imdb_samples_positive_first_label_0(aclimdb):
    reader = imdb.train(IMDB_DICT_1)
    expected = [([0, 0, 4], 0),  # pos/1_7 (archive order): great great actingbr(unk)
                ([4, 0, 3, 0, 2], 0),  # pos/0_9: a(unk) great movie great fun
                ([1, 3, 1, 4], 1)]  # neg/0_2: bad movie bad acting(unk)
    assert list(reader()) == expected
    assert list(reader()) == expected
    assert list(imdb.test(IMDB_DICT_1)()) == [([2, 2, 3], 0), ([4, 1], 1)]
    assert list(imdb.test(IMDB_DICT_0)()) == [([2, 2, 3], 0), ([7, 1], 1)]


def test_imdb_offline_error_when_the_reader_is_created(home):
    with pytest.raises(DatasetNotFound) as info:
        imdb.word_dict()
    assert_not_found(info, home, "imdb", imdb)
    # Paddle read the whole split in train(), so the error comes at creation
    with pytest.raises(DatasetNotFound) as info:
        imdb.train({"<unk>": 0})
    assert_not_found(info, home, "imdb", imdb)
    with pytest.raises(DatasetNotFound):
        imdb.test({"<unk>": 0})


def test_imdb_md5_mismatch_and_corrupt_archive(home, monkeypatch):
    path = home / "imdb" / imdb.FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(tar_bytes(IMDB_MEMBERS))
    with pytest.raises(DatasetNotFound, match=f"present but its md5 is {md5(path)}"):
        imdb.word_dict()
    install(home, monkeypatch, imdb, "imdb", b"\x1f\x8b garbage")
    with pytest.raises(DatasetFormatError, match="not a readable tar archive") as info:
        imdb.word_dict()
    assert str(path) in str(info.value)


def test_imdb_needs_unk_in_the_dictionary(aclimdb):
    with pytest.raises(ValueError, match="<unk>"):
        imdb.train({"great": 0})


# ---- movielens ----

MOVIES = (b"1::Toy Story (1995)::Animation|Children's|Comedy\n"
          b"2::Jumanji (1995)::Adventure|Children's|Fantasy\n"
          b"5::Toy Story 2 (1999)::Comedy\n"
          b"10::\xc9t\xe9 (1995)::Drama|Musical\n")  # ISO-8859-1 "Été"
USERS = (b"1::F::1::10::48067\n"
         b"2::M::56::16::70072\n"
         b"3::M::25::15::55117\n")
RATINGS = (b"1::1::5::978300760\n"
           b"1::10::3::978302109\n"
           b"2::2::4::978301968\n"
           b"2::5::1::978300275\n"
           b"3::1::2::978824291\n"
           b"3::10::5::978824291\n")
# sorted categories; sorted title words ("Été" keeps its capital: Python 2 lower-cased bytes in
# ASCII only, and "É" sorts after ASCII)
CATEGORIES = {"Adventure": 0, "Animation": 1, "Children's": 2, "Comedy": 3, "Drama": 4,
              "Fantasy": 5, "Musical": 6}
TITLE_WORDS = {"2": 0, "jumanji": 1, "story": 2, "toy": 3, "\u00c9t\u00e9": 4}
# [uid, gender (0 M, 1 F), age index, job, movie id, categories, title words, [rating*2-5]]
RATING_SAMPLES = [
    [1, 1, 0, 10, 1, [1, 2, 3], [3, 2], [5.0]],
    [1, 1, 0, 10, 10, [4, 6], [4], [1.0]],
    [2, 0, 6, 16, 2, [0, 2, 5], [1], [3.0]],
    [2, 0, 6, 16, 5, [3], [3, 2, 0], [-3.0]],
    [3, 0, 2, 15, 1, [1, 2, 3], [3, 2], [-1.0]],
    [3, 0, 2, 15, 10, [4, 6], [4], [5.0]],
]


def ml_archive(movies=MOVIES, users=USERS, ratings=RATINGS, skip=()):
    members = [("ml-1m/", None), ("ml-1m/README", b"MovieLens 1M\n"), ("ml-1m/movies.dat", movies),
               ("ml-1m/ratings.dat", ratings), ("ml-1m/users.dat", users)]
    return zip_bytes([m for m in members if m[0] not in skip])


@pytest.fixture
def ml1m(home, monkeypatch):
    return install(home, monkeypatch, movielens, "movielens", ml_archive())


def test_movielens_meta_information(ml1m):
    assert movielens.max_user_id() == 3
    assert movielens.max_movie_id() == 10
    assert movielens.max_job_id() == 16
    assert movielens.movie_categories() == CATEGORIES
    assert movielens.get_movie_title_dict() == TITLE_WORDS
    users, movies = movielens.user_info(), movielens.movie_info()
    assert sorted(users) == [1, 2, 3] and sorted(movies) == [1, 2, 5, 10]
    assert users[2].value() == [2, 0, 6, 16]  # male, age 56 = age_table[6], job 16
    assert str(users[2]) == "<UserInfo id(2), gender(M), age(56), job(16)>"
    assert movies[10].title == "\u00c9t\u00e9 "  # "(Year)" removed, the space before it kept
    assert movies[10].value() == [10, [4, 6], [4]]
    assert movies[5].categories == ["Comedy"]
    assert str(movies[5]) == "<MovieInfo id(5), title(Toy Story 2 ), categories(['Comedy'])>"


def test_movielens_samples_and_paddles_split(ml1m):
    # random.Random(0) draws 0.844, 0.758, 0.421, 0.259, 0.511, 0.405 for the six lines: none is
    # below 0.1, so with the defaults every rating is a training sample
    assert [round(x, 3) for x in (lambda r: [r.random() for _ in range(6)])(random.Random(0))] == \
        [0.844, 0.758, 0.421, 0.259, 0.511, 0.405]
    assert list(movielens.train()()) == RATING_SAMPLES
    assert list(movielens.test()()) == []
    # with test_ratio=0.5 the lines drawn below 0.5 (3rd, 4th, 6th) are the test set
    assert list(movielens.test(test_ratio=0.5)()) == [RATING_SAMPLES[i] for i in (2, 3, 5)]
    assert list(movielens.train(test_ratio=0.5)()) == [RATING_SAMPLES[i] for i in (0, 1, 4)]
    reader = movielens.train(rand_seed=7, test_ratio=0.5)
    assert list(reader()) == list(reader())  # the same seed every pass


def test_movielens_default_split_on_more_ratings(home, monkeypatch):
    # line i: user 1 + i % 3, movie 1, rating 1 + i % 5. With seed 0, the first draw below 0.1 is
    # the 36th (index 35): user 3, rating 1 -> the only test sample of 40 lines
    ratings = b"".join(b"%d::1::%d::0\n" % (1 + i % 3, 1 + i % 5) for i in range(40))
    install(home, monkeypatch, movielens, "movielens", ml_archive(ratings=ratings))
    assert list(movielens.test()()) == [[3, 0, 2, 15, 1, [1, 2, 3], [3, 2], [-3.0]]]
    assert len(list(movielens.train()())) == 39


def test_movielens_offline_error_when_a_reader_is_iterated(home):
    reader = movielens.train()  # as in Paddle: creating and calling the reader touch nothing
    samples = reader()
    with pytest.raises(DatasetNotFound) as info:
        next(samples)
    assert_not_found(info, home, "movielens", movielens)
    for function in (movielens.max_user_id, movielens.movie_categories,
                     movielens.get_movie_title_dict):
        with pytest.raises(DatasetNotFound):
            function()


def test_movielens_md5_mismatch_and_corrupt_archive(home, monkeypatch):
    path = home / "movielens" / movielens.FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(ml_archive())
    with pytest.raises(DatasetNotFound, match=f"present but its md5 is {md5(path)}"):
        movielens.max_user_id()
    install(home, monkeypatch, movielens, "movielens", b"PK\x03\x04 not really a zip")
    with pytest.raises(DatasetFormatError, match="not a readable zip archive") as info:
        movielens.max_user_id()
    assert str(path) in str(info.value)


@pytest.mark.parametrize("archive, complaint", [
    (ml_archive(skip=("ml-1m/users.dat",)), "no member ml-1m/users.dat"),
    (ml_archive(movies=b"1::Toy Story::Comedy\n"), r"movies.dat line 1: expected 'id::Title"),
    (ml_archive(users=b"1::F::2::10::48067\n"), r"users.dat line 1"),  # age 2 is no age group
    (ml_archive(ratings=b"9::1::5::0\n"), r"ratings.dat line 1"),  # unknown user
])
def test_movielens_malformed_members(home, monkeypatch, archive, complaint):
    install(home, monkeypatch, movielens, "movielens", archive)
    with pytest.raises(DatasetFormatError, match=complaint):
        list(movielens.train()())


# ---- sentiment (NLTK movie_reviews) ----

REVIEWS = [
    ("movie_reviews/", None),
    ("movie_reviews/README", b"Sentiment polarity dataset\n"),
    ("movie_reviews/pos/cv001_4.txt", b'good good ... "fun"\n'),
    ("movie_reviews/neg/cv000_1.txt", b"plot : a bad film .\nit's bad .\n"),
    ("movie_reviews/pos/cv000_3.txt", b"a good film .\n"),
    ("movie_reviews/neg/cv001_2.txt", b"bad , bad !\n"),
]
# WordPunct tokens: neg/cv000: plot : a bad film . it ' s bad .   neg/cv001: bad , bad !
# pos/cv000: a good film .   pos/cv001: good good ... " fun "
# counts: bad 4; . 3, good 3; " 2, a 2, film 2; the rest 1 (ties in code point order)
REVIEW_WORDS = [("bad", 0), (".", 1), ("good", 2), ('"', 3), ("a", 4), ("film", 5), ("!", 6),
                ("'", 7), (",", 8), ("...", 9), (":", 10), ("fun", 11), ("it", 12), ("plot", 13),
                ("s", 14)]
# interleaved neg/cv000, pos/cv000, neg/cv001, pos/cv001 (sorted file ids), neg 0 / pos 1
REVIEW_SAMPLES = [([13, 10, 4, 0, 5, 1, 12, 7, 14, 0, 1], 0),
                  ([4, 2, 5, 1], 1),
                  ([0, 8, 0, 6], 0),
                  ([2, 2, 9, 3, 11, 3], 1)]


@pytest.fixture
def reviews(home, monkeypatch):
    # where nltk.download('movie_reviews', download_dir=<data home>) puts it
    return install(home, monkeypatch, sentiment, "corpora", zip_bytes(REVIEWS))


def test_sentiment_word_dict(reviews):
    assert sentiment.get_word_dict() == REVIEW_WORDS


def test_sentiment_samples_and_split(reviews, monkeypatch):
    # the real corpus has 2,000 files: 1,600 train, 400 test; four files all go to train
    assert list(sentiment.train()()) == REVIEW_SAMPLES
    assert list(sentiment.test()()) == []
    monkeypatch.setattr(sentiment, "NUM_TRAINING_INSTANCES", 3)
    reader = sentiment.train()
    assert list(reader()) == REVIEW_SAMPLES[:3]
    assert list(reader()) == REVIEW_SAMPLES[:3]  # a reader creator, unlike Paddle's generator
    assert list(sentiment.test()()) == REVIEW_SAMPLES[3:]


def test_sentiment_looks_words_up_lower_cased(home, monkeypatch):
    # counted as written ("bad" 2, "Bad" 1), looked up lower-cased (both "Bad" and "bad" -> 0)
    install(home, monkeypatch, sentiment, "corpora", zip_bytes([
        ("movie_reviews/neg/cv000_1.txt", b"Bad bad\n"),
        ("movie_reviews/pos/cv000_2.txt", b"bad\n")]))
    assert sentiment.get_word_dict() == [("bad", 0), ("Bad", 1)]
    assert list(sentiment.train()()) == [([0, 0], 0), ([0], 1)]
    install(home, monkeypatch, sentiment, "corpora", zip_bytes([
        ("movie_reviews/neg/cv000_1.txt", b"Wow\n"), ("movie_reviews/pos/cv000_2.txt", b"ok\n")]))
    with pytest.raises(DatasetFormatError, match="lower-case form 'wow'"):
        sentiment.train()


def test_sentiment_offline_error_when_the_reader_is_created(home):
    for function in (sentiment.get_word_dict, sentiment.train, sentiment.test):
        with pytest.raises(DatasetNotFound) as info:
            function()
        message = assert_not_found(info, home, "corpora", sentiment)
        assert message.startswith("minidl.dataset.sentiment:")
        assert "nltk.download('movie_reviews'" in message


def test_sentiment_md5_mismatch_and_corrupt_archive(home, monkeypatch):
    path = home / "corpora" / sentiment.FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(zip_bytes(REVIEWS))
    with pytest.raises(DatasetNotFound, match=f"present but its md5 is {md5(path)}"):
        sentiment.train()
    install(home, monkeypatch, sentiment, "corpora", b"garbage")
    with pytest.raises(DatasetFormatError, match="not a readable zip archive") as info:
        sentiment.train()
    assert str(path) in str(info.value)
    install(home, monkeypatch, sentiment, "corpora", zip_bytes([("movie_reviews/README", b"x")]))
    with pytest.raises(DatasetFormatError, match="no movie_reviews/neg"):
        sentiment.get_word_dict()
