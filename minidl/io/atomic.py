"""Atomic saves: write a temporary file beside the target, then rename it over the target.

An interrupted save (an exception, a full disk, a killed process) leaves the old file as it
was -- never a half-written one. ``os.replace`` is atomic on POSIX and Windows when both
names are in the same directory, which is why the temporary file is created there.
"""

import contextlib
import os
import stat
import uuid


def _fsync_directory(directory):
    """Make the rename itself durable (best effort: not every platform can open a dir)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path):
    """Yield a binary file; on a clean exit it replaces ``path``, on an error it vanishes.

    >>> with atomic_write("model.tar") as f:
    ...     f.write(data)

    The new file keeps the permission bits of the file it replaces (a new one gets the
    usual ``0666 & ~umask``).
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{uuid.uuid4().hex[:12]}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(path):
            os.chmod(temporary, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(directory)
