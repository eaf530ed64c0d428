"""The IMDB movie-review sentiment dataset (Maas et al., ACL 2011), as Paddle read it.

``aclImdb_v1.tar.gz`` (http://ai.stanford.edu/~amaas/data/sentiment/) holds one review a file:
``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt``, 12,500 of each kind per split (and
unlabelled ``aclImdb/train/unsup/`` reviews, which Paddle never read).

Tokenisation, Paddle's ad-hoc one on the raw bytes: strip trailing ``\\n``/``\\r``, delete every
ASCII punctuation character (``string.punctuation``; so ``don't`` -> ``dont`` and ``<br />`` ->
``br``), lower-case ASCII letters only, split on ASCII whitespace. Tokens are decoded as UTF-8
(bytes that are not UTF-8 survive as surrogate escapes); non-ASCII letters keep their case.

Dictionary (:func:`build_dict`): the words of the files whose archive name matches ``pattern``
(``re.match``, i.e. from the start), counted; words seen MORE than ``cutoff`` times are kept,
sorted by falling frequency, ties by the word's bytes, ids 0, 1, ...; ``<unk>`` gets the last
id. :func:`word_dict` uses every train and test review (not ``unsup``) with ``cutoff=150``.

Samples (:func:`train` / :func:`test`): ``(list of word ids, label)``, unknown words -> the id of
``<unk>``, label 0 for a POSITIVE review and 1 for a NEGATIVE one (Paddle's choice); first every
positive review in archive order, then every negative one. As in Paddle, ``train()``/``test()``
read and tokenise the whole split when called (so a missing archive is reported then); the
reader replays the samples held in memory. The reader is also iterable itself, so the book's
``lambda: paddle.dataset.imdb.train(word_dict)`` (written for an older v2 whose ``train``
returned the samples' generator) reads the same samples.
"""

import collections
import re
import string
import tarfile
import zlib

from . import common

__all__ = ["build_dict", "fetch", "test", "tokenize", "train", "word_dict"]

URLS = ("http://ai.stanford.edu/%7Eamaas/data/sentiment/aclImdb_v1.tar.gz",  # Paddle v2's source
        "https://dataset.bj.bcebos.com/imdb%2FaclImdb_v1.tar.gz")  # later Paddle's mirror
FILE = "aclImdb_v1.tar.gz"
MD5 = "7c2ac02c03563afcf9b574c7e56c153a"

TRAIN_POS = r"aclImdb/train/pos/.*\.txt$"
TRAIN_NEG = r"aclImdb/train/neg/.*\.txt$"
TEST_POS = r"aclImdb/test/pos/.*\.txt$"
TEST_NEG = r"aclImdb/test/neg/.*\.txt$"
ALL_LABELLED = r"aclImdb/((train)|(test))/((pos)|(neg))/.*\.txt$"

UNK = "<unk>"
_PUNCTUATION = string.punctuation.encode("ascii")


def _archive():
    return common.fetch("imdb", [common.RemoteFile(FILE, MD5, URLS)])[0]


def _compile(pattern):
    return re.compile(pattern) if isinstance(pattern, str) else pattern


def tokenize(pattern):
    """The token list of every review whose archive name matches ``pattern``, in archive order.

    ``pattern`` is a regular expression (string or compiled), matched from the start of names.
    """
    pattern = _compile(pattern)
    path = _archive()
    try:
        with tarfile.open(path, mode="r:*") as archive:
            for member in archive:  # sequential: the archive is gzipped, seeking is costly
                if member.isfile() and pattern.match(member.name):
                    raw = archive.extractfile(member).read()
                    words = raw.rstrip(b"\n\r").translate(None, _PUNCTUATION).lower().split()
                    yield [w.decode("utf-8", "surrogateescape") for w in words]
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise common.DatasetFormatError(
            f"{path}: not a readable tar archive ({type(error).__name__}: {error})") from None


def build_dict(pattern, cutoff):
    """``{word: id}`` of the reviews matching ``pattern``: words seen more than ``cutoff`` times,
    most frequent first, then ``<unk>`` (see module doc). Paddle failed when no word was frequent
    enough; this returns ``{'<unk>': 0}`` then."""
    freq = collections.Counter()
    for words in tokenize(pattern):
        freq.update(words)
    kept = sorted((w for w, count in freq.items() if count > cutoff),
                  key=lambda w: (-freq[w], w.encode("utf-8", "surrogateescape")))
    word_idx = {word: i for i, word in enumerate(kept)}
    word_idx[UNK] = len(kept)
    return word_idx


def reader_creator(pos_pattern, neg_pattern, word_idx):
    """Reads and tokenises the matching reviews now; returns a reader of ``(ids, label)``.

    Positive reviews (label 0) first, then negative ones (label 1), each in archive order.
    """
    if UNK not in word_idx:
        raise ValueError("word_idx has no entry for <unk>; build it with imdb.word_dict() or "
                         "imdb.build_dict()")
    unk = word_idx[UNK]
    samples = []
    for pattern, label in ((pos_pattern, 0), (neg_pattern, 1)):
        for words in tokenize(pattern):
            samples.append(([word_idx.get(w, unk) for w in words], label))

    return _Reader(samples)


class _Reader:
    """A reader (``reader()`` yields the samples) that is also iterable itself.

    The book's chapter 6 was written when ``imdb.train(word_dict)`` returned the samples'
    generator, and wraps it as ``lambda: paddle.dataset.imdb.train(word_dict)``; later v2
    returned a reader. Being both, the object serves either spelling.
    """

    def __init__(self, samples):
        self._samples = samples

    def __call__(self):
        yield from self._samples

    def __iter__(self):
        return iter(self._samples)


def train(word_idx):
    """Reader creator of the 25,000 training reviews: ``(list of word ids, 0 pos / 1 neg)``."""
    return reader_creator(TRAIN_POS, TRAIN_NEG, word_idx)


def test(word_idx):
    """Reader creator of the 25,000 test reviews: ``(list of word ids, 0 pos / 1 neg)``."""
    return reader_creator(TEST_POS, TEST_NEG, word_idx)


def word_dict(cutoff=150):
    """The dictionary of all labelled reviews (train and test, pos and neg), ``cutoff=150``."""
    return build_dict(ALL_LABELLED, cutoff)


def fetch():
    """Download ``aclImdb_v1.tar.gz`` into the cache (if not there yet)."""
    _archive()
