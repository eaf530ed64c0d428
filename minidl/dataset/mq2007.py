"""MQ2007 (LETOR 4.0): learning to rank on the TREC 2007 Million Query track, as Paddle v2
read it.

About 1,700 queries, each with judged documents; the data comes in five folds, of which v2
(and minidl) read Fold 1. A line of ``Fold1/train.txt`` or ``Fold1/test.txt`` is one
query-document pair::

    <relevance 0|1|2> qid:<query id> 1:<feature> 2:<feature> ... 46:<feature> #<comment>

Lines without exactly 48 fields are skipped; consecutive lines with one query id form a query,
and queries whose relevances are all 0 are dropped. Inside a query the documents are ordered
by relevance, highest first (stably). Samples by ``format`` (features: float64 ``(46,)``)::

    "pairwise"   (array([1]), features of the more relevant, features of the less relevant)
                 for every two documents of a query with different relevance
    "listwise"   (relevances int (n, 1), features (n, 46))         one per query
    "pointwise"  (relevance, features)                              one per document
    "plain_txt"  (query id, relevance, features)                    one per document

(v2 yielded only each query's first document for "pointwise" and "plain_txt".)

:func:`train` and :func:`test` are readers themselves, as in v2: ``paddle.batch(
mq2007.train, 32)`` reads pairs, ``functools.partial(mq2007.train, format="listwise")`` lists.
The data is ``MQ2007.rar`` (cached in ``MQ2007/``); the two text files are extracted from it
into ``MQ2007/Fold1/`` on first use, which needs the ``rarfile`` package and an unrar tool
(``unrar``, ``unar``, ``7z`` or ``bsdtar``). Putting ``train.txt`` and ``test.txt`` in that
folder by hand works as well, without the archive.
"""

import os
import tempfile

import numpy as np

from ..core import random as _random
from . import common

__all__ = ["FORMATS", "fetch", "load_from_text", "test", "train"]

MODULE = "MQ2007"
URL = ("http://www.bigdatalab.ac.cn/benchmark/upload/download_source/"
       "7b6dbbe2-842c-11e4-a536-bcaec51b9163_MQ2007.rar")
MD5 = "7be1640ae95c6408dab0ae7207bdc706"
FORMATS = ("pairwise", "listwise", "pointwise", "plain_txt")
NUM_FIELDS = 48  # relevance, qid, 46 features


def _parse(line):
    """``(query id, relevance, features)`` of one line, or None for a malformed line."""
    fields = line.split("#", 1)[0].split()
    if len(fields) != NUM_FIELDS:
        return None
    try:
        qid = int(fields[1].split(":", 1)[1])
        return qid, int(fields[0]), [float(f.split(":", 1)[1]) for f in fields[2:]]
    except (ValueError, IndexError):
        return None


def load_from_text(path):
    """The queries of one file: a list of ``(query id, [(relevance, features), ...])`` in
    file order, documents as in the file."""
    queries = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parsed = _parse(line)
            if parsed is None:
                continue
            qid, relevance, features = parsed
            if not queries or queries[-1][0] != qid:
                queries.append((qid, []))
            queries[-1][1].append((relevance, np.array(features)))
    return queries


def _samples(qid, documents, format):
    documents = sorted(documents, key=lambda doc: doc[0], reverse=True)  # stable
    if format == "listwise":
        yield (np.array([[rel] for rel, _ in documents]),
               np.array([features for _, features in documents]))
    elif format == "pointwise":
        yield from documents
    elif format == "plain_txt":
        yield from ((qid, rel, features) for rel, features in documents)
    else:  # pairwise: sorted, so the left one is the more relevant when they differ
        for i, (left_rel, left) in enumerate(documents):
            for right_rel, right in documents[i + 1:]:
                if left_rel > right_rel:
                    yield np.array([1]), left, right


def _text_file(name):
    """The path of ``Fold1/<name>``, extracted from the archive if it is not there yet."""
    folder = os.path.join(common.module_dir(MODULE), "Fold1")
    path = os.path.join(folder, name)
    if os.path.exists(path):
        return path
    archive = common.fetch(MODULE, [common.RemoteFile("MQ2007.rar", MD5, (URL,))],
                           hint=f"Or put Fold1/{name} of the archive in {folder}{os.sep}.")[0]
    data = _extract(archive, "Fold1/" + name, folder)
    os.makedirs(folder, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=folder, suffix=".part")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(partial, path)
    return path


def _extract(archive, suffix, folder):
    try:
        import rarfile
    except ImportError:
        raise ImportError(f"mq2007: reading {archive} needs the rarfile package (pip install "
                          f"rarfile) and an unrar tool; or extract {suffix} into "
                          f"{folder}{os.sep} by hand") from None
    try:
        with rarfile.RarFile(archive) as rar:
            names = [n for n in rar.namelist() if n.replace("\\", "/").endswith(suffix)]
            if not names:
                raise common.DatasetFormatError(f"{archive}: no member ends with {suffix}")
            return rar.read(min(names, key=len))
    except rarfile.Error as error:
        raise common.DatasetFormatError(
            f"{archive}: cannot extract {suffix} ({type(error).__name__}: {error}); install "
            f"unrar, unar, 7z or bsdtar, or extract it into {folder}{os.sep} by "
            "hand") from None


def _reader(name, format, shuffle, fill_missing):
    # fill_missing is v2's argument, unused there too: MQ2007 has no missing values
    if format not in FORMATS:
        raise ValueError(f"mq2007: format must be one of {FORMATS}, got {format!r}")
    queries = [(qid, docs) for qid, docs in load_from_text(_text_file(name))
               if sum(rel for rel, _ in docs) != 0]
    if shuffle:
        order = _random.get_rng().permutation(len(queries))
        queries = [queries[i] for i in order]
    for qid, documents in queries:
        yield from _samples(qid, documents, format)


def train(format="pairwise", shuffle=False, fill_missing=-1):
    """The samples of Fold 1's training queries (a reader: call it to iterate).
    ``shuffle=True`` shuffles the order of the queries (``minidl.random.get_rng()``)."""
    return _reader("train.txt", format, shuffle, fill_missing)


def test(format="pairwise", shuffle=False, fill_missing=-1):
    """The samples of Fold 1's test queries (a reader: call it to iterate)."""
    return _reader("test.txt", format, shuffle, fill_missing)


def fetch():
    """Download the archive into the cache (if not there yet)."""
    return common.fetch(MODULE, [common.RemoteFile("MQ2007.rar", MD5, (URL,))])[0]
