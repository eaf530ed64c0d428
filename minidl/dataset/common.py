"""Where dataset files live and how they get there: md5-checked downloads into a cache directory.

The cache is ``$MINIDL_DATA_HOME/<module>/`` (default ``~/.cache/minidl/dataset/<module>/``),
read when a dataset asks for a file, so setting the variable at any time takes effect. A file
already there with the right md5 is used as is; otherwise it is downloaded (to a temporary file,
md5-checked, then renamed into place). ``MINIDL_OFFLINE=1`` forbids downloading. When a file can
be neither found nor downloaded, :class:`DatasetNotFound` says which files to put where.
Nothing here touches the network at import time.

v2's ``DATA_HOME`` reads as the current cache root; assigning ``common.DATA_HOME = path``
overrides the variable, as it did in v2. :func:`split`, :func:`cluster_files_reader` and
:func:`convert` write a reader's samples to files (pickles, RecordIO) and read them back.
"""

import glob
import hashlib
import os
import pickle
import sys
import tempfile
from collections import namedtuple

from ..reader import safe_pickle

# DATA_HOME is served by the module's __getattr__ below
__all__ = ["DATA_HOME", "DatasetFormatError", "DatasetNotFound", "RemoteFile",  # noqa: F822
           "cluster_files_reader", "convert", "data_home", "download", "fetch", "md5file",
           "split"]

DOWNLOAD_TIMEOUT_S = 15  # per blocking socket operation, so a dead mirror fails fast
_CHUNK = 1 << 20


class DatasetNotFound(Exception):
    """Dataset files are neither in the cache nor downloadable; the message says what to do."""


class DatasetFormatError(ValueError):
    """A dataset file exists but its content is not what the format promises."""


#: one file of a dataset: its name in the cache, its md5, and where to download it from
RemoteFile = namedtuple("RemoteFile", ["name", "md5", "urls"])


def data_home():
    """The root of the dataset cache: ``common.DATA_HOME`` if a script assigned it, else
    ``$MINIDL_DATA_HOME``, else ``~/.cache/minidl/dataset``."""
    home = (globals().get("DATA_HOME") or os.environ.get("MINIDL_DATA_HOME")
            or os.path.join("~", ".cache", "minidl", "dataset"))
    return os.path.expanduser(home)


def __getattr__(name):
    # DATA_HOME is looked up when read (until a script assigns it), so it follows the variable
    if name == "DATA_HOME":
        return data_home()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def module_dir(module_name):
    """The cache directory of one dataset module, e.g. ``<data home>/mnist``."""
    return os.path.join(data_home(), module_name)


def md5file(path):
    """The hex md5 of a file, read in chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _offline():
    return os.environ.get("MINIDL_OFFLINE", "").lower() in ("1", "true", "yes")


def _download_to(url, dirname, name, md5sum):
    """Download ``url`` into ``dirname/name`` via a temporary file; raise OSError on failure."""
    import urllib.request  # here, not at the top: it pulls in ssl and http, slow to import

    print(f"minidl.dataset: downloading {url}", file=sys.stderr)
    fd, partial = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=dirname)
    try:
        digest = hashlib.md5()
        with os.fdopen(fd, "wb") as out, \
                urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != md5sum:
            raise OSError(f"{url} has md5 {digest.hexdigest()}, expected {md5sum}")
        # rename only a complete, verified file, so a cache file is never half written
        os.replace(partial, os.path.join(dirname, name))
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _problem(path, md5sum):
    """Why a cached file cannot be used, or None when it can."""
    if not os.path.exists(path):
        return "missing"
    actual = md5file(path)
    if actual != md5sum:
        return f"present but its md5 is {actual}"
    return None


def fetch(module_name, files, hint=""):
    """Make sure every :class:`RemoteFile` of a dataset is cached; return their paths in order.

    Missing or damaged files are downloaded from their URLs, tried in turn. If any file cannot
    be had, one :class:`DatasetNotFound` lists every such file with its md5 and URL, the
    directory to put it in, and ``hint`` (e.g. an offline alternative).
    """
    dirname = module_dir(module_name)
    paths, failures = [], []
    for file in files:
        path = os.path.join(dirname, file.name)
        paths.append(path)
        problem = _problem(path, file.md5)
        if problem is None:
            continue
        errors = []
        if _offline():
            errors.append("MINIDL_OFFLINE is set")
        else:
            os.makedirs(dirname, exist_ok=True)
            for url in file.urls:
                try:
                    _download_to(url, dirname, file.name, file.md5)
                    break
                except Exception as error:  # URLError, timeouts, HTTP errors, bad URLs, ...
                    errors.append(f"{url}: {error}")
        if _problem(path, file.md5) is not None:
            failures.append((file, problem, errors))
    if failures:
        raise DatasetNotFound(_not_found_message(module_name, dirname, failures, hint))
    return paths


def _not_found_message(module_name, dirname, failures, hint):
    lines = [f"minidl.dataset.{module_name}: dataset files could not be found or downloaded.",
             f"Put these files in {dirname}{os.sep} (the directory comes from $MINIDL_DATA_HOME,"
             f" default ~/.cache/minidl/dataset):"]
    for file, problem, errors in failures:
        lines.append(f"  {file.name}  md5 {file.md5}  ({problem})")
        lines.append(f"      from {' or '.join(file.urls)}")
        lines.extend(f"      download failed: {e}" for e in errors)
    if hint:
        lines.append(hint)
    return "\n".join(lines)


def download(url, module_name, md5sum, save_name=None):
    """Paddle's ``common.download``: the cached path of one file, downloading it if needed.

    The file is cached as ``save_name`` or the last part of ``url``; raises
    :class:`DatasetNotFound` when it is missing and cannot be downloaded.
    """
    name = save_name or url.rstrip("/").split("/")[-1]
    return fetch(module_name, [RemoteFile(name, md5sum, (url,))])[0]


def _groups(reader, line_count):
    """The samples of ``reader`` in v2's file groups: the first holds ``line_count + 1``
    samples (v2 closes a group after sample ``i`` when ``i % line_count == 0`` and
    ``i >= line_count``), the others ``line_count``, the last the rest."""
    samples = []
    for i, sample in enumerate(reader()):
        samples.append(sample)
        if i >= line_count and i % line_count == 0:
            yield samples
            samples = []
    yield samples


def split(reader, line_count, suffix="%05d.pickle", dumper=pickle.dump):
    """Write ``reader``'s samples to files ``suffix % 0``, ``suffix % 1``, ...: one
    ``dumper(list_of_samples, binary_file)`` per file, grouped as :func:`_groups` says (no
    file for an empty last group)."""
    if not callable(dumper):
        raise TypeError("split: dumper must be callable (called as dumper(samples, file))")
    if isinstance(line_count, bool) or not isinstance(line_count, int) or line_count < 1:
        raise ValueError(f"split: line_count must be a positive integer, got {line_count!r}")
    for index, samples in enumerate(_groups(reader, line_count)):
        if samples:
            with open(suffix % index, "wb") as f:
                dumper(samples, f)


def cluster_files_reader(files_pattern, trainer_count, trainer_id, loader=safe_pickle.load):
    """A reader over this trainer's share of the files :func:`split` wrote.

    The files matching ``files_pattern`` are sorted by name; trainer ``trainer_id`` of
    ``trainer_count`` takes those whose position ``i`` has ``i % trainer_count == trainer_id``
    and yields every sample of ``loader(binary_file)`` from each in turn. The default loader
    unpickles plain data and NumPy arrays only (:mod:`minidl.reader.safe_pickle`).
    """
    if not callable(loader):
        raise TypeError("cluster_files_reader: loader must be callable (called as loader(file))")
    if not 0 <= trainer_id < trainer_count:
        raise ValueError(f"cluster_files_reader: trainer_id must be in [0, {trainer_count}), "
                         f"got {trainer_id!r}")

    def reader():
        files = sorted(glob.glob(files_pattern))
        for name in files[trainer_id::trainer_count]:
            with open(name, "rb") as f:
                yield from loader(f)

    return reader


def convert(output_path, reader, line_count, name_prefix):
    """Write ``reader``'s samples as RecordIO files ``<output_path>/<name_prefix>-00000``, ...
    (one pickled sample a record, grouped into files as :func:`split` groups them); read them
    back with ``paddle.reader.creator.recordio``. Returns the paths written."""
    from ..reader.recordio import Writer

    if isinstance(line_count, bool) or not isinstance(line_count, int) or line_count < 1:
        raise ValueError(f"convert: line_count must be a positive integer, got {line_count!r}")
    paths = []
    for index, samples in enumerate(_groups(reader, line_count)):
        path = os.path.join(output_path, f"{name_prefix}-{index:05d}")
        # v2 writes the last file even when its group is empty
        with Writer(path) as writer:
            for sample in samples:
                writer.write(pickle.dumps(sample))
        paths.append(path)
    return paths
