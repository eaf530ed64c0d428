"""CoNLL-2005 semantic role labelling (the public WSJ test set), as Paddle v2 read it for the
book's label_semantic_roles chapter.

Files, cached in ``conll05st/`` (md5 and URLs as in v2's source):

* ``conll05st-tests.tar.gz``: the CoNLL-2005 test release; Paddle read two gzipped members,
  ``conll05st-release/test.wsj/words/test.wsj.words.gz`` (one word a line) and
  ``conll05st-release/test.wsj/props/test.wsj.props.gz`` (the same lines: a first column
  naming each predicate's verb, ``-`` elsewhere, then one column of bracketed arguments per
  predicate: ``(A0*``, ``*``, ``*)``, ``(V*)``, ...). A blank line ends a sentence.
* ``wordDict.txt``, ``verbDict.txt``, ``targetDict.txt``: one entry a line.
* ``emb``: trained word vectors for ``wordDict.txt`` (:func:`get_embedding` returns its path;
  the book read it as float32 after a 16-byte header).

Dictionaries (:func:`get_dict`): words and verbs get their line number (a repeated line
keeps its last number). The labels come from ``targetDict.txt`` as v2's
``load_label_dict`` built them, so that the IOB chunk evaluator can read them: every
chunk type ``X`` of a ``B-X`` or ``I-X`` line gets ``B-X = 2n``, ``I-X = 2n + 1``, and ``O`` the
last id, with the types numbered in the order Python 2 iterated the ``set`` Paddle put them
in (reproduced here, see :func:`python2_set_order`, so the ids are v2's).

Samples (:func:`test`): one per predicate of every sentence, the 9 fields of v2::

    (word ids, ctx_n2 ids, ctx_n1 ids, ctx_0 ids, ctx_p1 ids, ctx_p2 ids, predicate ids,
     mark, label ids)

each a list as long as the sentence: the words (unknown words ``UNK_IDX`` 0), then the words
two and one before the predicate, the predicate's own word and the words one and two after
it, each repeated over the sentence (``bos`` / ``eos`` beyond its ends, looked up in the
word dictionary), the predicate's verb id repeated, ``mark`` 1 on the five rows around the
predicate (0 elsewhere) and the IOB label of every word (``O`` outside any argument; the
predicate itself is ``B-V``). As in v2, a verb or label missing from its dictionary gives
``None``. ``test()`` fetches the dictionaries and the archive when called (the
:class:`~minidl.dataset.common.DatasetNotFound` error comes then); the archive is read when
the reader is iterated.
"""

import gzip
import tarfile
import zlib

from . import common

__all__ = ["UNK_IDX", "corpus_reader", "fetch", "get_dict", "get_embedding", "load_dict",
           "load_label_dict", "python2_set_order", "reader_creator", "test"]

MODULE = "conll05st"
DATA_URL = "http://www.cs.upc.edu/~srlconll/conll05st-tests.tar.gz"
DATA_MD5 = "387719152ae52d60422c016e92a742fc"
WORDDICT_URL = "http://paddlepaddle.bj.bcebos.com/demo/srl_dict_and_embedding/wordDict.txt"
WORDDICT_MD5 = "ea7fb7d4c75cc6254716f0177a506baa"
VERBDICT_URL = "http://paddlepaddle.bj.bcebos.com/demo/srl_dict_and_embedding/verbDict.txt"
VERBDICT_MD5 = "0d2977293bbb6cbefab5b0f97db1e77c"
TRGDICT_URL = "http://paddlepaddle.bj.bcebos.com/demo/srl_dict_and_embedding/targetDict.txt"
TRGDICT_MD5 = "d8c7f03ceb5fc2e5a0fa7503a4353751"
EMB_URL = "http://paddlepaddle.bj.bcebos.com/demo/srl_dict_and_embedding/emb"
EMB_MD5 = "bf436eb0faa1f6f9103017f8be57cdb7"
#: later Paddle's copies of the same files (same md5)
MIRRORS = {
    "conll05st-tests.tar.gz": "http://paddlemodels.bj.bcebos.com/conll05st/conll05st-tests.tar.gz",
    "wordDict.txt": "http://paddlemodels.bj.bcebos.com/conll05st%2FwordDict.txt",
    "verbDict.txt": "http://paddlemodels.bj.bcebos.com/conll05st%2FverbDict.txt",
    "targetDict.txt": "http://paddlemodels.bj.bcebos.com/conll05st%2FtargetDict.txt",
    "emb": "http://paddlemodels.bj.bcebos.com/conll05st%2Femb",
}
WORDS_MEMBER = "conll05st-release/test.wsj/words/test.wsj.words.gz"
PROPS_MEMBER = "conll05st-release/test.wsj/props/test.wsj.props.gz"

UNK_IDX = 0


def _download(url, md5):
    """The cached path of one file (v2's ``common.download(url, 'conll05st', md5)``)."""
    name = url.rsplit("/", 1)[-1]
    return common.fetch(MODULE, [common.RemoteFile(name, md5, (url, MIRRORS[name]))])[0]


def _decode(token):
    return token.decode("utf-8", "surrogateescape")


# --- dictionaries ------------------------------------------------------------------------------

def load_dict(filename):
    """``{line: line number}`` of a dictionary file (lines stripped of whitespace)."""
    with open(filename, "rb") as f:
        return {_decode(line.strip()): i for i, line in enumerate(f)}


def _python2_str_hash(data):
    """Python 2.7's ``hash()`` of a byte string on a 64-bit build (no hash randomisation)."""
    if not data:
        return 0
    mask = (1 << 64) - 1
    x = data[0] << 7
    for byte in data:
        x = ((1000003 * x) & mask) ^ byte
    x ^= len(data)
    x = x - (1 << 64) if x >> 63 else x           # a C long
    return -2 if x == -1 else x


def python2_set_order(keys):
    """The order in which Python 2.7 iterates ``set()`` after ``add``-ing the byte strings
    ``keys`` in turn (CPython 2.7's open-addressing table: 8 slots to start, probing
    ``i = 5 i + perturb + 1`` with ``perturb >>= 5``, grown to the smallest power of two above
    4 x used when two thirds full). v2's ``load_label_dict`` numbered the chunk types in this
    order."""
    mask64 = (1 << 64) - 1

    def insert(table, key, hashed):
        mask = len(table) - 1
        i = perturb = hashed & mask64
        slot = i & mask
        while table[slot] is not None:
            if table[slot][0] == key:
                return False
            i = (5 * i + perturb + 1) & mask64
            perturb >>= 5
            slot = i & mask
        table[slot] = (key, hashed)
        return True

    table, used = [None] * 8, 0
    for key in keys:
        if not insert(table, key, _python2_str_hash(key)):
            continue
        used += 1
        if used * 3 >= len(table) * 2:   # (no deletions: fill == used)
            size = 8
            while size <= (used * 2 if used > 50000 else used * 4):
                size <<= 1
            old, table = table, [None] * size
            for entry in old:
                if entry is not None:
                    insert(table, *entry)
    return [entry[0] for entry in table if entry is not None]


def load_label_dict(filename):
    """v2's label dictionary of ``targetDict.txt``: ``B-X`` 2n, ``I-X`` 2n + 1, ``O`` last
    (see the module docstring)."""
    tags = []
    with open(filename, "rb") as f:
        for line in f:
            line = line.strip()
            if line.startswith(b"B-") or line.startswith(b"I-"):
                tags.append(line[2:])
    label_dict = {}
    for n, tag in enumerate(python2_set_order(tags)):
        label_dict["B-" + _decode(tag)] = 2 * n
        label_dict["I-" + _decode(tag)] = 2 * n + 1
    label_dict["O"] = len(label_dict)
    return label_dict


def get_dict():
    """``(word_dict, verb_dict, label_dict)``, downloading the three files if needed."""
    word_dict = load_dict(_download(WORDDICT_URL, WORDDICT_MD5))
    verb_dict = load_dict(_download(VERBDICT_URL, VERBDICT_MD5))
    label_dict = load_label_dict(_download(TRGDICT_URL, TRGDICT_MD5))
    return word_dict, verb_dict, label_dict


def get_embedding():
    """The path of the trained word vectors ``emb`` (downloaded if needed)."""
    return _download(EMB_URL, EMB_MD5)


# --- the corpus ---------------------------------------------------------------------------------

def _argument_labels(column, where):
    """One predicate's column of bracketed arguments -> IOB labels (v2's parser)."""
    labels, tag, inside = [], "O", False
    for cell in column:
        if cell == "*" and not inside:
            labels.append("O")
        elif cell == "*":
            labels.append("I-" + tag)
        elif cell == "*)":
            labels.append("I-" + tag)
            inside = False
        elif "(" in cell:
            tag = cell[1:cell.find("*")]
            labels.append("B-" + tag)
            inside = ")" not in cell
        else:
            raise common.DatasetFormatError(f"{where}: unexpected argument label {cell!r}")
    return labels


def _sentence_samples(words, rows, where):
    """``(sentence, verb, labels)`` for every predicate of one sentence."""
    if not rows:
        return
    width = len(rows[0])
    if any(len(row) != width for row in rows):
        raise common.DatasetFormatError(f"{where}: the props lines of one sentence have "
                                        "different numbers of columns")
    columns = [[row[i] for row in rows] for i in range(width)]
    verbs = [cell for cell in columns[0] if cell != "-"]
    if len(verbs) < width - 1:
        raise common.DatasetFormatError(f"{where}: {width - 1} predicate columns but "
                                        f"{len(verbs)} verbs in the first column")
    for i, column in enumerate(columns[1:]):
        yield words, verbs[i], _argument_labels(column, where)


def _member(archive, name, path):
    try:
        return archive.extractfile(name)
    except KeyError:
        raise common.DatasetFormatError(
            f"{path}: no file {name} in the archive (the CoNLL-2005 test release has "
            f"{WORDS_MEMBER} and {PROPS_MEMBER})") from None


def corpus_reader(data_path, words_name, props_name):
    """A reader of ``(sentence words, predicate verb, IOB labels)``, one per predicate, from
    two gzipped members of the tar archive ``data_path`` (read line by line together)."""
    def reader():
        try:
            with tarfile.open(data_path) as archive:
                words_file = _member(archive, words_name, data_path)
                props_file = _member(archive, props_name, data_path)
                with gzip.GzipFile(fileobj=words_file) as words, \
                        gzip.GzipFile(fileobj=props_file) as props:
                    sentence, rows = [], []
                    for number, (word, label) in enumerate(zip(words, props), 1):
                        cells = [_decode(cell) for cell in label.split()]
                        if not cells:          # a blank line ends the sentence
                            where = f"{data_path}: {props_name}, sentence ending at line {number}"
                            yield from _sentence_samples(sentence, rows, where)
                            sentence, rows = [], []
                        else:
                            sentence.append(_decode(word.strip()))
                            rows.append(cells)
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise common.DatasetFormatError(
                f"{data_path}: not a readable archive of gzipped files "
                f"({type(error).__name__}: {error})") from None

    return reader


def reader_creator(corpus_reader, word_dict=None, predicate_dict=None, label_dict=None):
    """The reader of v2's 9-field samples (see the module docstring) over ``corpus_reader``."""
    def reader():
        for sentence, predicate, labels in corpus_reader():
            length = len(sentence)
            if "B-V" not in labels:
                raise common.DatasetFormatError(
                    f"sentence {' '.join(sentence)[:80]!r}: predicate {predicate!r} has no "
                    "(V*) argument")
            verb = labels.index("B-V")
            mark = [0] * length
            context = {}
            for offset, outside in ((-2, "bos"), (-1, "bos"), (0, None), (1, "eos"),
                                    (2, "eos")):
                if 0 <= verb + offset < length:
                    mark[verb + offset] = 1
                    context[offset] = sentence[verb + offset]
                else:
                    context[offset] = outside
            word_idx = [word_dict.get(w, UNK_IDX) for w in sentence]
            ctx = [[word_dict.get(context[offset], UNK_IDX)] * length
                   for offset in (-2, -1, 0, 1, 2)]
            pred_idx = [predicate_dict.get(predicate)] * length
            label_idx = [label_dict.get(label) for label in labels]
            yield (word_idx, *ctx, pred_idx, mark, label_idx)

    return reader


def test():
    """Reader creator over the CoNLL-2005 WSJ test set (v2 trained on it: the training set is
    not free); samples as in the module docstring."""
    word_dict, verb_dict, label_dict = get_dict()
    reader = corpus_reader(_download(DATA_URL, DATA_MD5), words_name=WORDS_MEMBER,
                           props_name=PROPS_MEMBER)
    return reader_creator(reader, word_dict, verb_dict, label_dict)


def fetch():
    """Download every file of the dataset into the cache (if not there yet)."""
    for url, md5 in ((WORDDICT_URL, WORDDICT_MD5), (VERBDICT_URL, VERBDICT_MD5),
                     (TRGDICT_URL, TRGDICT_MD5), (EMB_URL, EMB_MD5), (DATA_URL, DATA_MD5)):
        _download(url, md5)
