"""The movie-review polarity corpus (Pang & Lee 2004, "Sentiment Polarity Dataset Version 2.0"),
as Paddle read it through NLTK's ``movie_reviews`` corpus, without needing NLTK.

1,000 positive and 1,000 negative reviews, already lower-cased and tokenised by the authors.
The file is NLTK's package ``movie_reviews.zip``, kept where ``nltk.download('movie_reviews',
download_dir=<data home>)`` puts it, as Paddle did: ``<data home>/corpora/movie_reviews.zip``
(``<data home>`` is ``$MINIDL_DATA_HOME``, default ``~/.cache/minidl/dataset``). Inside:
``movie_reviews/neg/cv000_29416.txt`` ... and ``movie_reviews/pos/...``.

What NLTK's reader does, done here on the zip: file ids are the names under ``movie_reviews/``
that match ``(?!\\.).*\\.txt`` (``re.match``); a file's category is the first path part
(``neg``/``pos``); ``fileids(category)`` is sorted; a file is decoded as ASCII and split into
words by the ``WordPunctTokenizer`` pattern ``\\w+|[^\\w\\s]+`` (``it's`` -> ``it``, ``'``, ``s``).

Dictionary (:func:`get_word_dict`): a LIST of ``(word, id)`` pairs, as in Paddle: every word of
every file (``neg`` files, then ``pos``), counted as written (not lower-cased), numbered by
falling frequency from 0, every word kept. Paddle broke ties in the hash order of a Python 2
``dict``, which Python 3 cannot reproduce; minidl breaks them by the word's code points, so ids
of equally frequent words differ from a Paddle v2 run.

Samples (:func:`train` / :func:`test`): ``(list of word ids, label)``, label 0 for ``neg``, 1 for
``pos``; each word is looked up LOWER-CASED, as Paddle did (the corpus is lower-case already).
The files are interleaved ``neg[0], pos[0], neg[1], pos[1], ...`` (sorted file ids); the first
:data:`NUM_TRAINING_INSTANCES` (1,600) are the training set, the other 400 the test set. As in
Paddle, ``train()``/``test()`` read the corpus when called (so a missing file is reported then).
Paddle's returned a generator (one pass only); minidl's return reader creators, like every other
dataset here.
"""

import collections
import re
import zipfile
import zlib

from . import common

__all__ = ["NUM_TOTAL_INSTANCES", "NUM_TRAINING_INSTANCES", "fetch", "get_word_dict", "test",
           "train"]

URLS = ("https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora/"
        "movie_reviews.zip",)
FILE = "movie_reviews.zip"
MD5 = "155de2b77c6834dd8eea7cbe88e93acb"  # the checksum in NLTK's data index
CACHE_DIR = "corpora"  # NLTK's layout under the data home, which is where Paddle kept it
ROOT = "movie_reviews/"

NUM_TRAINING_INSTANCES = 1600
NUM_TOTAL_INSTANCES = 2000

_FILEID = re.compile(r"(?!\.).*\.txt")
_CATEGORY = re.compile(r"(neg|pos)/.*")
_WORD = re.compile(r"\w+|[^\w\s]+")
_HINT = ("minidl.dataset.sentiment keeps NLTK's layout: nltk.download('movie_reviews', "
         "download_dir=<data home>) puts the file there too.")


def _archive():
    try:
        return common.fetch(CACHE_DIR, [common.RemoteFile(FILE, MD5, URLS)], _HINT)[0]
    except common.DatasetNotFound as error:
        message = str(error).replace(f"minidl.dataset.{CACHE_DIR}:",
                                     "minidl.dataset.sentiment:", 1)
        raise common.DatasetNotFound(message) from None


def _read_corpus(path):
    """``{category: [(fileid, words), ...]}``, file ids sorted, as NLTK's corpus reader gives."""
    corpus = collections.defaultdict(list)
    try:
        with zipfile.ZipFile(path) as package:
            fileids = sorted(name[len(ROOT):] for name in package.namelist()
                             if name.startswith(ROOT) and not name.endswith("/")
                             and _FILEID.match(name[len(ROOT):]))
            for fileid in fileids:
                category = _CATEGORY.match(fileid)
                if category is None:
                    raise common.DatasetFormatError(
                        f"{path}: {ROOT}{fileid} is in neither neg/ nor pos/")
                try:
                    text = package.read(ROOT + fileid).decode("ascii")
                except UnicodeDecodeError as error:
                    raise common.DatasetFormatError(
                        f"{path}: {ROOT}{fileid} is not ASCII text ({error})") from None
                corpus[category.group(1)].append((fileid, _WORD.findall(text)))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise common.DatasetFormatError(f"{path}: not a readable zip archive ({error})") from None
    if not corpus:
        raise common.DatasetFormatError(f"{path}: no {ROOT}neg/*.txt or {ROOT}pos/*.txt files")
    return corpus


def _word_dict(corpus):
    freq = collections.Counter()
    for category in sorted(corpus):
        for _, words in corpus[category]:
            freq.update(words)
    ordered = sorted(freq, key=lambda w: (-freq[w], w))
    return [(word, index) for index, word in enumerate(ordered)]


def get_word_dict():
    """``[(word, id), ...]``, most frequent word first (id 0); see the module doc."""
    return _word_dict(_read_corpus(_archive()))


def load_sentiment_data():
    """All 2,000 samples ``(word ids, 0 neg / 1 pos)``, interleaved neg, pos, neg, pos, ..."""
    path = _archive()
    corpus = _read_corpus(path)
    words_ids = dict(_word_dict(corpus))
    samples = []
    for pair in zip(corpus.get("neg", []), corpus.get("pos", [])):  # stops at the shorter list
        for label, (fileid, words) in enumerate(pair):  # neg: 0, pos: 1
            try:
                ids = [words_ids[word.lower()] for word in words]
            except KeyError as error:
                raise common.DatasetFormatError(
                    f"{path}: {ROOT}{fileid} has a word whose lower-case form {error} never "
                    "occurs in the corpus; Paddle's reader assumes a lower-case corpus") from None
            samples.append((ids, label))
    return samples


def _reader(samples):
    def reader():
        yield from samples

    return reader


def train():
    """Reader creator of the first 1,600 interleaved reviews: ``(word ids, 0 neg / 1 pos)``."""
    return _reader(load_sentiment_data()[:NUM_TRAINING_INSTANCES])


def test():
    """Reader creator of the remaining 400 reviews: ``(word ids, 0 neg / 1 pos)``."""
    return _reader(load_sentiment_data()[NUM_TRAINING_INSTANCES:])


def fetch():
    """Download ``movie_reviews.zip`` into ``<data home>/corpora/`` (if not there yet)."""
    _archive()
