"""Atomic saves: write a temporary file beside the target, then rename it over the target.

An interrupted save (an exception, a full disk, a killed process) leaves the old file as it
was -- never a half-written one. ``os.replace`` is atomic on POSIX and Windows when both
names are in the same directory, which is why the temporary file is created there.

The steps of :func:`atomic_write`:

1. a target that is a symbolic link is followed to the file it names (the link stays a
   link; the file it points to is replaced);
2. temporary files that a killed save to the same target left behind are deleted (see
   below);
3. the data goes to ``.<name>.<pid>.<random>.tmp`` in the target's directory, which is
   flushed and fsynced;
4. the temporary file is renamed over the target (keeping the target's permission bits),
   and the directory is fsynced so that the rename itself survives a crash.

Any exception on the way deletes the temporary file and is raised again; an ``OSError``
then names the target, not the temporary file. Only SIGKILL (or a power cut) can leave a
temporary file behind: its name carries the target's name and the writer's process id,
so the next save to the same target recognises it and deletes it once that process is
gone (and, on POSIX, once no process holds the lock every writer keeps on its file).
"""

import contextlib
import os
import re
import stat
import time
import uuid

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

TEMPORARY_SUFFIX = ".tmp"
#: temporary files of minidl before they carried a process id: ``.<name>.<12 hex>.tmp``;
#: deleted when untouched for this many seconds (no save pauses that long between writes)
LEGACY_STALE_AFTER = 3600.0


def temporary_name(target, pid=None):
    """The name (in the target's directory) of a new temporary file for ``target``."""
    pid = os.getpid() if pid is None else pid
    return f".{os.path.basename(target)}.{pid}.{uuid.uuid4().hex[:12]}{TEMPORARY_SUFFIX}"


def _temporary_pattern(target):
    base = re.escape(os.path.basename(target))
    return re.compile(rf"\.{base}\.(?:(\d+)\.)?[0-9a-f]{{12}}{re.escape(TEMPORARY_SUFFIX)}")


def _process_alive(pid):
    if pid == os.getpid():
        return True  # ours: another thread may be saving to the same target right now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, under another user
        return True
    return True


def _locked_by_a_writer(path):
    """True when a live writer holds the lock on ``path`` (POSIX; False if unknowable)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True  # vanished or unreadable: leave it alone
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also drops the shared lock just taken
    return False


def stale_temporaries(target):
    """Paths of the temporary files a killed save to ``target`` left behind."""
    target = os.path.realpath(os.fspath(target))
    directory = os.path.dirname(target)
    pattern = _temporary_pattern(target)
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    stale = []
    for name in names:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        path = os.path.join(directory, name)
        if match.group(1) is None:  # an older minidl's name: no pid, judge by age
            try:
                idle = time.time() - os.stat(path).st_mtime
            except OSError:
                continue
            if idle > LEGACY_STALE_AFTER:
                stale.append(path)
        elif os.name != "posix":
            stale.append(path)  # Windows refuses to delete a file that is still open
        elif not _process_alive(int(match.group(1))) and not _locked_by_a_writer(path):
            stale.append(path)
    return stale


def remove_stale_temporaries(target):
    """Delete what :func:`stale_temporaries` finds; returns the paths deleted."""
    removed = []
    for path in stale_temporaries(target):
        try:
            os.unlink(path)
        except OSError:
            continue
        removed.append(path)
    return removed


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


def _naming_target(error, path, directory, creating):
    """``error`` (an OSError) again, its message and ``filename`` naming ``path``."""
    if creating and isinstance(error, FileNotFoundError):
        reason = f"cannot save: directory {directory} does not exist"
    elif creating:
        reason = f"cannot save: cannot create a file in {directory} ({error.strerror or error})"
    else:
        reason = f"cannot save: {error.strerror or error}"
    try:
        if error.errno is None:
            renamed = type(error)(f"{reason}: {path!r}")
        else:
            renamed = type(error)(error.errno, reason, path)
    except Exception:  # an OSError subclass with another constructor
        renamed = OSError(error.errno, reason, path)
    return renamed


@contextlib.contextmanager
def atomic_write(path):
    """Yield a binary file; on a clean exit it replaces ``path``, on an error it vanishes.

    >>> with atomic_write("model.tar") as f:
    ...     f.write(data)

    The new file keeps the permission bits of the file it replaces (a new one gets the
    usual ``0666 & ~umask``). A symbolic link ``path`` is followed: the file it points
    to is replaced. See the module docstring for the temporary file's name and cleanup.
    """
    path = os.fspath(path)
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    remove_stale_temporaries(target)
    temporary = os.path.join(directory, temporary_name(target))
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o666)
    except OSError as error:
        raise _naming_target(error, path, directory, creating=True) from error
    lock = None
    try:
        if fcntl is not None:
            # held (through a duplicate descriptor) until the rename: the cleanup of another
            # process never deletes a file that is still being written
            lock = os.dup(fd)
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with os.fdopen(fd, "wb") as f:
            fd = None
            yield f
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(target):
            os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(temporary, target)
    except BaseException as error:
        if fd is not None:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise _naming_target(error, path, directory, creating=False) from error
        raise
    finally:
        if lock is not None:
            os.close(lock)
    _fsync_directory(directory)
