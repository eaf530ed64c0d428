"""WMT-14 French -> English, the shrunk subset Paddle v2 shipped for the book's machine
translation chapter, read as v2 read it.

``wmt14.tgz`` (cached in ``wmt14/``, md5 as in v2's source) holds two dictionaries, members
whose names end with ``src.dict`` and ``trg.dict`` (one word a line; ``<s>``, ``<e>``,
``<unk>`` on the first three lines), and the corpora, members ending with ``train/train``,
``test/test`` and ``gen/gen``: one sentence pair a line, source and target separated by a
tab, words by spaces.

Dictionaries: the first ``dict_size`` lines of each file, ``{word: line number}``
(:func:`get_dict` gives ``{line number: word}`` unless ``reverse=False``).

Samples (readers from :func:`train`, :func:`test`, :func:`gen`), words outside the
dictionary mapped to ``UNK_IDX`` 2::

    (src_ids, trg_ids, trg_ids_next)
    src_ids      = ids of  <s> source words <e>
    trg_ids      = ids of  <s> target words
    trg_ids_next = ids of      target words <e>

A line without exactly one tab is skipped, and so is a pair whose ``src_ids`` (with ``<s>``
and ``<e>``) or target words number more than 80. The archive is fetched when a reader is
created (where :class:`~minidl.dataset.common.DatasetNotFound` is raised offline) and read
each time the reader is iterated.

:func:`model` is v2's ``wmt14.model()``: the trained parameters of the book's attention
model (``wmt14_model.tar.gz``), as ``Parameters``.
"""

import tarfile
import zlib

from . import common

__all__ = ["END", "START", "UNK", "UNK_IDX", "fetch", "gen", "get_dict", "model",
           "reader_creator", "test", "train"]

MODULE = "wmt14"
URL_TRAIN = "http://paddlepaddle.cdn.bcebos.com/demo/wmt_shrinked_data/wmt14.tgz"
MD5_TRAIN = "0791583d57d5beb693b9414c5b36798c"
# BLEU of this trained model is 26.92 (v2's note)
URL_MODEL = "http://paddlepaddle.bj.bcebos.com/demo/wmt_14/wmt14_model.tar.gz"
MD5_MODEL = "0cb4a5366189b6acba876491c8724fa3"

START = "<s>"
END = "<e>"
UNK = "<unk>"
UNK_IDX = 2
#: pairs with more ids than this on either side are skipped (v2: "in training mode")
MAX_LENGTH = 80


def _download(url, md5):
    """The cached path of one file (v2's ``common.download(url, 'wmt14', md5)``)."""
    name = url.rsplit("/", 1)[-1]
    return common.fetch(MODULE, [common.RemoteFile(name, md5, (url,))])[0]


def _decode(token):
    return token.decode("utf-8", "surrogateescape")


def _open(tar_file):
    try:
        return tarfile.open(tar_file, mode="r")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise common.DatasetFormatError(
            f"{tar_file}: not a readable tar archive ({type(error).__name__}: {error})") from None


def _check_dict_size(dict_size):
    if isinstance(dict_size, bool) or not isinstance(dict_size, int) or dict_size < 1:
        raise ValueError(f"dict_size={dict_size!r} must be a positive integer (the number of "
                         "dictionary lines to use)")


def _read_dicts(tar_file, dict_size):
    """``(src_dict, trg_dict)``: the first ``dict_size`` lines of each, ``{word: line}``."""
    def first_lines(archive, suffix):
        names = [member.name for member in archive if member.name.endswith(suffix)]
        if len(names) != 1:
            raise common.DatasetFormatError(
                f"{tar_file}: {len(names)} members end with {suffix!r} ({names[:3]}); the "
                "WMT-14 archive has exactly one")
        words = {}
        for number, line in enumerate(archive.extractfile(names[0])):
            if number >= dict_size:
                break
            words[_decode(line.strip())] = number
        return words

    try:
        with _open(tar_file) as archive:
            return first_lines(archive, "src.dict"), first_lines(archive, "trg.dict")
    except (tarfile.TarError, EOFError, zlib.error) as error:
        raise common.DatasetFormatError(
            f"{tar_file}: not a readable tar archive ({type(error).__name__}: {error})") from None


def reader_creator(tar_file, file_name, dict_size):
    """A reader of ``(src_ids, trg_ids, trg_ids_next)`` over the members of ``tar_file``
    whose names end with ``file_name`` (see the module docstring)."""
    _check_dict_size(dict_size)

    def reader():
        src_dict, trg_dict = _read_dicts(tar_file, dict_size)
        missing = [word for word in (START, END) if word not in trg_dict]
        if missing:
            raise ValueError(f"wmt14: {' and '.join(missing)} not among the first {dict_size} "
                             f"lines of trg.dict in {tar_file}; use a larger dict_size")
        try:
            with _open(tar_file) as archive:
                names = [member.name for member in archive if member.name.endswith(file_name)]
                for name in names:
                    for line in archive.extractfile(name):
                        pair = line.strip().split(b"\t")
                        if len(pair) != 2:
                            continue
                        src_words = [_decode(w) for w in pair[0].split()]
                        trg_words = [_decode(w) for w in pair[1].split()]
                        src_ids = [src_dict.get(w, UNK_IDX) for w in [START, *src_words, END]]
                        trg_ids = [trg_dict.get(w, UNK_IDX) for w in trg_words]
                        if len(src_ids) > MAX_LENGTH or len(trg_ids) > MAX_LENGTH:
                            continue
                        yield (src_ids, [trg_dict[START], *trg_ids], [*trg_ids, trg_dict[END]])
        except (tarfile.TarError, EOFError, zlib.error) as error:
            raise common.DatasetFormatError(
                f"{tar_file}: not a readable tar archive ({type(error).__name__}: "
                f"{error})") from None

    return reader


def train(dict_size):
    """Reader creator over the training pairs (members ending with ``train/train``)."""
    return reader_creator(_download(URL_TRAIN, MD5_TRAIN), "train/train", dict_size)


def test(dict_size):
    """Reader creator over the test pairs (members ending with ``test/test``)."""
    return reader_creator(_download(URL_TRAIN, MD5_TRAIN), "test/test", dict_size)


def gen(dict_size):
    """Reader creator over the pairs to translate (members ending with ``gen/gen``)."""
    return reader_creator(_download(URL_TRAIN, MD5_TRAIN), "gen/gen", dict_size)


def get_dict(dict_size, reverse=True):
    """``(src_dict, trg_dict)`` of the first ``dict_size`` words: ``{id: word}``, or
    ``{word: id}`` with ``reverse=False``."""
    _check_dict_size(dict_size)
    src_dict, trg_dict = _read_dicts(_download(URL_TRAIN, MD5_TRAIN), dict_size)
    if reverse:
        src_dict = {v: k for k, v in src_dict.items()}
        trg_dict = {v: k for k, v in trg_dict.items()}
    return src_dict, trg_dict


def model():
    """v2's trained parameters of the book's translation model, as ``Parameters``."""
    from ..training.parameters import Parameters

    return Parameters.from_tar(_download(URL_MODEL, MD5_MODEL))


def fetch():
    """Download the archive and the trained model into the cache (if not there yet)."""
    _download(URL_TRAIN, MD5_TRAIN)
    _download(URL_MODEL, MD5_MODEL)
