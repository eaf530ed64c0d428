"""Where dataset files live and how they get there: md5-checked downloads into a cache directory.

The cache is ``$MINIDL_DATA_HOME/<module>/`` (default ``~/.cache/minidl/dataset/<module>/``),
read when a dataset asks for a file, so setting the variable at any time takes effect. A file
already there with the right md5 is used as is; otherwise it is downloaded (to a temporary file,
md5-checked, then renamed into place). ``MINIDL_OFFLINE=1`` forbids downloading. When a file can
be neither found nor downloaded, :class:`DatasetNotFound` says which files to put where.
Nothing here touches the network at import time.
"""

import hashlib
import os
import sys
import tempfile
from collections import namedtuple

__all__ = ["DatasetFormatError", "DatasetNotFound", "RemoteFile", "data_home", "download",
           "fetch", "md5file"]

DOWNLOAD_TIMEOUT_S = 15  # per blocking socket operation, so a dead mirror fails fast
_CHUNK = 1 << 20


class DatasetNotFound(Exception):
    """Dataset files are neither in the cache nor downloadable; the message says what to do."""


class DatasetFormatError(ValueError):
    """A dataset file exists but its content is not what the format promises."""


#: one file of a dataset: its name in the cache, its md5, and where to download it from
RemoteFile = namedtuple("RemoteFile", ["name", "md5", "urls"])


def data_home():
    """The root of the dataset cache (``$MINIDL_DATA_HOME`` or ``~/.cache/minidl/dataset``)."""
    home = os.environ.get("MINIDL_DATA_HOME") or os.path.join("~", ".cache", "minidl", "dataset")
    return os.path.expanduser(home)


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
