"""The Penn Treebank language-model text from Tomas Mikolov's RNNLM toolkit, as Paddle read it.

``simple-examples.tgz`` (http://www.fit.vutbr.cz/~imikolov/rnnlm/) holds the PTB text one
sentence a line, words separated by spaces, rare words already replaced by ``<unk>``. Paddle used
two of its members: ``./simple-examples/data/ptb.train.txt`` (training) and
``./simple-examples/data/ptb.valid.txt`` (Paddle's "test" set; ``ptb.test.txt`` is never read).

Dictionary (:func:`build_dict`): every line of both files counts its words and one ``<s>`` and
one ``<e>``; the ``<unk>`` already in the text is not counted; words seen MORE than
``min_word_freq`` times are kept, sorted by falling frequency, ties by the word's bytes, and get
ids 0, 1, ...; ``<unk>`` gets the next id, the last one.

Samples (readers from :func:`train` / :func:`test`), words outside the dictionary mapped to the
id of ``<unk>``:

* ``DataType.NGRAM``: each line becomes ``['<s>'] + words + ['<e>']``; a line of at least ``n``
  such tokens yields every window of ``n`` consecutive ids as a tuple of ints, left to right.
* ``DataType.SEQ``: each line yields ``(src, trg)``, two lists of ids: ``src = [<s>] + words``,
  ``trg = words + [<e>]``; when ``n > 0``, lines whose ``src`` is longer than ``n`` are skipped.

Lines are split on ASCII whitespace, as Python 2's ``str.split`` did on the bytes; a token is
decoded as UTF-8 (bytes that are not UTF-8 survive as surrogate escapes). The archive is
md5-checked when :func:`build_dict` is called and when a reader is iterated (not when
``train()``/``test()`` create it), which is when Paddle downloaded it.
"""

import collections
import tarfile
import zlib

from . import common

__all__ = ["DataType", "build_dict", "fetch", "test", "train"]

URLS = ("http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz",  # Paddle v2's source
        "https://dataset.bj.bcebos.com/imikolov%2Fsimple-examples.tgz")  # later Paddle's mirror
FILE = "simple-examples.tgz"
MD5 = "30177ea32e27c525793142b6bf2c8e2d"
TRAIN_MEMBER = "./simple-examples/data/ptb.train.txt"
TEST_MEMBER = "./simple-examples/data/ptb.valid.txt"

START, END, UNK = "<s>", "<e>", "<unk>"


class DataType:
    """What the readers yield: ``NGRAM`` windows of ``n`` ids, or ``SEQ`` (src, trg) pairs."""

    NGRAM = 1
    SEQ = 2


def _archive():
    return common.fetch("imikolov", [common.RemoteFile(FILE, MD5, URLS)])[0]


def _normalise(name):
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


def _decode(token):
    return token.decode("utf-8", "surrogateescape")


def _byte_order(word):
    """Sort key equal to Python 2's comparison of the byte strings Paddle held."""
    return word.encode("utf-8", "surrogateescape")


def _lines(path, member):
    """The token lists of one archive member, line by line (the archive is opened here)."""
    try:
        with tarfile.open(path, mode="r:*") as archive:
            wanted = _normalise(member)
            info = next((m for m in archive if _normalise(m.name) == wanted), None)
            if info is None or not info.isfile():
                raise common.DatasetFormatError(
                    f"{path}: no file {member} in the archive (the PTB archive "
                    "simple-examples.tgz has simple-examples/data/ptb.{train,valid,test}.txt)")
            for line in archive.extractfile(info):
                yield [_decode(token) for token in line.split()]
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise common.DatasetFormatError(
            f"{path}: not a readable tar archive ({type(error).__name__}: {error})") from None


def build_dict(min_word_freq=50):
    """The word dictionary ``{word: id}`` of the training and validation text (see module doc).

    Words counted more than ``min_word_freq`` times, most frequent first (id 0), then ``<unk>``
    with the last id. Paddle failed when no word was frequent enough; this returns
    ``{'<unk>': 0}`` then.
    """
    path = _archive()
    freq = collections.Counter()
    for member in (TRAIN_MEMBER, TEST_MEMBER):
        for tokens in _lines(path, member):
            freq.update(tokens)
            freq[START] += 1
            freq[END] += 1
    freq.pop(UNK, None)  # it is given the last id below
    kept = sorted((w for w, count in freq.items() if count > min_word_freq),
                  key=lambda w: (-freq[w], _byte_order(w)))
    word_idx = {word: i for i, word in enumerate(kept)}
    word_idx[UNK] = len(kept)
    return word_idx


def reader_creator(member, word_idx, n, data_type):
    """A reader over one member of the archive; see the module doc for the sample formats."""
    if data_type not in (DataType.NGRAM, DataType.SEQ):
        raise ValueError(f"data_type must be DataType.NGRAM or DataType.SEQ, not {data_type!r}")
    if data_type == DataType.NGRAM and n < 1:
        raise ValueError(f"an n-gram needs n >= 1, got {n}")
    needed = (UNK,) if data_type == DataType.NGRAM else (UNK, START, END)
    missing = [token for token in needed if token not in word_idx]
    if missing:
        raise ValueError(f"word_idx has no entry for {', '.join(missing)}; "
                         "build it with imikolov.build_dict()")

    def reader():
        path = _archive()
        unk = word_idx[UNK]
        for tokens in _lines(path, member):
            if data_type == DataType.NGRAM:
                if len(tokens) + 2 < n:
                    continue
                ids = [word_idx.get(w, unk) for w in [START, *tokens, END]]
                for end in range(n, len(ids) + 1):
                    yield tuple(ids[end - n:end])
            else:
                ids = [word_idx.get(w, unk) for w in tokens]
                src = [word_idx[START], *ids]
                if n > 0 and len(src) > n:
                    continue
                yield src, [*ids, word_idx[END]]

    return reader


def train(word_idx, n, data_type=DataType.NGRAM):
    """Reader creator over ``ptb.train.txt``: n-gram tuples or (src, trg) id lists.

    ``n`` is the window size for ``NGRAM`` and the longest ``src`` for ``SEQ`` (0: no limit).
    """
    return reader_creator(TRAIN_MEMBER, word_idx, n, data_type)


def test(word_idx, n, data_type=DataType.NGRAM):
    """Reader creator over ``ptb.valid.txt`` (Paddle's test set), same samples as :func:`train`."""
    return reader_creator(TEST_MEMBER, word_idx, n, data_type)


def fetch():
    """Download ``simple-examples.tgz`` into the cache (if not there yet)."""
    _archive()
