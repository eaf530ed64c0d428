"""WMT-16 multimodal task 1 (Multi30K English-German image descriptions), tokenised, as
Paddle v2 read it.

Elliott, Frank, Sima'an and Specia, "Multi30K: Multilingual English-German Image
Descriptions", Workshop on Vision and Language 2016.

``wmt16.tar.gz`` (cached in ``wmt16/``, md5 as in v2's source) holds ``wmt16/train``,
``wmt16/test`` and ``wmt16/val``: one sentence pair a line, English and German separated by a
tab, words by spaces. A line without exactly one tab is skipped.

Dictionaries are built from ``wmt16/train``, one per language and size, and cached as
``wmt16/<lang>_<dict_size>.dict`` (one word a line): ``<s>``, ``<e>``, ``<unk>`` (ids 0, 1,
2), then the ``dict_size - 3`` most frequent words of that language, most frequent first. Words
of equal count are ordered by first appearance in the file (v2's order for them was Python 2's
dict order). Sizes are capped at the vocabulary (``TOTAL_EN_WORDS``, ``TOTAL_DE_WORDS``).

Samples, words outside the dictionary mapped to ``<unk>``::

    (src_ids, trg_ids, trg_ids_next)
    src_ids      = ids of  <s> source words <e>
    trg_ids      = ids of  <s> target words
    trg_ids_next = ids of      target words <e>

``src_lang`` ``"en"`` translates English to German, ``"de"`` German to English. The archive
is fetched when a reader is created (where
:class:`~minidl.dataset.common.DatasetNotFound` is raised offline); the dictionaries are built
and the archive read when the reader is iterated.
"""

import collections
import os
import tarfile
import tempfile
import zlib

from . import common

__all__ = ["convert", "fetch", "get_dict", "test", "train", "validation"]

MODULE = "wmt16"
ARCHIVE = "wmt16.tar.gz"
DATA_URLS = ("http://paddlemodels.bj.bcebos.com/wmt/wmt16.tar.gz",
             "http://cloud.dlnel.org/filepub/?uuid=46a0808e-ddd8-427c-bacd-0dbc6d045fed")
DATA_MD5 = "0c38be43600334966403524a40dcd81e"

TOTAL_EN_WORDS = 11250
TOTAL_DE_WORDS = 19220

START_MARK, END_MARK, UNK_MARK = "<s>", "<e>", "<unk>"
LANGUAGES = ("en", "de")


def _archive():
    return common.fetch(MODULE, [common.RemoteFile(ARCHIVE, DATA_MD5, DATA_URLS)])[0]


def _check_lang(lang):
    if lang not in LANGUAGES:
        raise ValueError(f"wmt16: language must be 'en' (English) or 'de' (German), "
                         f"got {lang!r}")


def _capped_size(lang, dict_size):
    if isinstance(dict_size, bool) or not isinstance(dict_size, int) or dict_size < 3:
        raise ValueError(f"wmt16: dict_size={dict_size!r} must be an integer >= 3 (<s>, <e> "
                         "and <unk> come first)")
    return min(dict_size, TOTAL_EN_WORDS if lang == "en" else TOTAL_DE_WORDS)


def _pairs(tar_file, member):
    """``(english words, german words)`` for each well-formed line of one member."""
    try:
        with tarfile.open(tar_file, mode="r") as archive:
            try:
                lines = archive.extractfile(member)
            except KeyError:
                raise common.DatasetFormatError(
                    f"{tar_file}: no member {member!r}; the WMT-16 archive has wmt16/train, "
                    "wmt16/test and wmt16/val") from None
            for line in lines:
                fields = line.decode("utf-8", "surrogateescape").strip().split("\t")
                if len(fields) == 2:
                    yield fields[0].split(), fields[1].split()
    except (tarfile.TarError, EOFError, zlib.error) as error:
        raise common.DatasetFormatError(
            f"{tar_file}: not a readable tar archive ({type(error).__name__}: {error})") from None


def _build_dict(tar_file, dict_size, lang, path):
    counts = collections.Counter()
    column = LANGUAGES.index(lang)
    for pair in _pairs(tar_file, "wmt16/train"):
        counts.update(pair[column])
    # Counter keeps first-appearance order and sorted() is stable: ties stay in that order
    ranked = sorted(counts, key=counts.__getitem__, reverse=True)[:dict_size - 3]
    words = [START_MARK, END_MARK, UNK_MARK, *ranked]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".part")
    with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as out:
        out.writelines(word + "\n" for word in words)
    os.replace(partial, path)  # a concurrent reader never sees half a dictionary


def _load_dict(tar_file, dict_size, lang, reverse=False):
    """``{word: id}`` (``{id: word}`` with ``reverse``), built and cached if needed."""
    path = os.path.join(common.module_dir(MODULE), f"{lang}_{dict_size}.dict")
    if not os.path.exists(path) or _line_count(path) != dict_size:
        _build_dict(tar_file, dict_size, lang, path)
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        words = [line.strip() for line in f]
    return dict(enumerate(words)) if reverse else {w: i for i, w in enumerate(words)}


def _line_count(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def reader_creator(tar_file, file_name, src_dict_size, trg_dict_size, src_lang):
    """A reader of ``(src_ids, trg_ids, trg_ids_next)`` over the member ``file_name``."""
    trg_lang = "de" if src_lang == "en" else "en"

    def reader():
        src_dict = _load_dict(tar_file, src_dict_size, src_lang)
        trg_dict = _load_dict(tar_file, trg_dict_size, trg_lang)
        # both dictionaries start with <s>, <e>, <unk>, so the source's ids serve for both
        start, end, unk = src_dict[START_MARK], src_dict[END_MARK], src_dict[UNK_MARK]
        src_col = LANGUAGES.index(src_lang)
        for pair in _pairs(tar_file, file_name):
            src_ids = [start, *(src_dict.get(w, unk) for w in pair[src_col]), end]
            trg_ids = [trg_dict.get(w, unk) for w in pair[1 - src_col]]
            yield src_ids, [start, *trg_ids], [*trg_ids, end]

    return reader


def _split(member, src_dict_size, trg_dict_size, src_lang):
    _check_lang(src_lang)
    trg_lang = "de" if src_lang == "en" else "en"
    src_size = _capped_size(src_lang, src_dict_size)
    trg_size = _capped_size(trg_lang, trg_dict_size)
    return reader_creator(_archive(), member, src_size, trg_size, src_lang)


def train(src_dict_size, trg_dict_size, src_lang="en"):
    """Reader creator over the training pairs (``wmt16/train``)."""
    return _split("wmt16/train", src_dict_size, trg_dict_size, src_lang)


def test(src_dict_size, trg_dict_size, src_lang="en"):
    """Reader creator over the test pairs (``wmt16/test``)."""
    return _split("wmt16/test", src_dict_size, trg_dict_size, src_lang)


def validation(src_dict_size, trg_dict_size, src_lang="en"):
    """Reader creator over the validation pairs (``wmt16/val``)."""
    return _split("wmt16/val", src_dict_size, trg_dict_size, src_lang)


def get_dict(lang, dict_size, reverse=False):
    """The dictionary of ``lang`` with ``dict_size`` words: ``{word: id}``, or ``{id: word}``
    with ``reverse=True`` (v2's default here is ``False``, unlike wmt14's). Builds it from the
    archive if no reader has yet (v2 required a reader to have built it)."""
    _check_lang(lang)
    return _load_dict(_archive(), _capped_size(lang, dict_size), lang, reverse)


def fetch():
    """Download the archive into the cache (if not there yet)."""
    _archive()


def convert(path, src_dict_size, trg_dict_size, src_lang):
    """Write the three splits as RecordIO files ``wmt16_train-00000``, ... in ``path``."""
    for name, split in (("train", train), ("test", test), ("validation", validation)):
        common.convert(path, split(src_dict_size, trg_dict_size, src_lang), 1000,
                       f"wmt16_{name}")
