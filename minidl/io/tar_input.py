"""The bytes of an untrusted parameter file (a path or a binary file object), gunzipped.

:class:`_Input` hands out the tar bytes as a stream and allocates nothing that a header
merely claims: where the bytes left are cheap to know (a plain file, ``BytesIO``), a
member's buffer is allocated up front only when they are there; elsewhere it grows as the
data arrives. gzip data goes through :class:`~.gunzip._Gunzip`, bounded by
``GZIP_MAX_RATIO`` times the compressed size (``MIN_LIMIT`` at least; ``max_bytes``
overrides).
"""
import io
import os

from .gunzip import CHUNK, GZIP_MAGIC, GZIP_MAX_RATIO, _Gunzip

#: the least any size limit on reading is (gzip inflation, densifying compact members)
MIN_LIMIT = 1 << 20


def _describe(source):
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return getattr(source, "name", None) or type(source).__name__


def _remaining(fileobj):
    """Bytes left to read in ``fileobj``, or None when it cannot tell cheaply.

    Only plain files and ``BytesIO`` are asked: seeking to the end of a ``GzipFile`` would
    inflate it all, and a pipe cannot tell.
    """
    if type(fileobj) not in (io.BufferedReader, io.BufferedRandom, io.FileIO, io.BytesIO):
        return None
    try:
        if not fileobj.seekable():
            return None
        position = fileobj.tell()
        end = fileobj.seek(0, io.SEEK_END)
        fileobj.seek(position)
    except (AttributeError, OSError, ValueError):
        return None
    return max(end - position, 0)



class _Input:
    """The bytes of a parameter file (a path or a binary file object), gunzipped if gzip.

    ``max_bytes``: the most bytes gzip data may inflate to (default: see GZIP_MAX_RATIO);
    ``extra_bytes`` is added to that default (a network's own size, when loading into it).
    """

    def __init__(self, source, max_bytes=None, extra_bytes=0):
        self.where = _describe(source)
        self._owned = None
        if isinstance(source, (str, os.PathLike)):
            self._owned = self._raw = open(source, "rb")
        elif hasattr(source, "read"):
            if isinstance(source, io.TextIOBase):
                raise self._text_mode()
            self._raw = source
        else:
            raise TypeError(f"expected a path or a binary file object, got {source!r}")
        self._raw_read = 0
        try:
            self.raw_size = _remaining(self._raw)
            head = self._read_raw(2)
            self._gunzip = None
            self._pending = head
            self.offset = 0  # tar bytes handed out
            if head == GZIP_MAGIC:
                self._pending = b""
                known = self.raw_size

                def limit(consumed):
                    if max_bytes is not None:
                        return max_bytes
                    compressed = known if known is not None else consumed
                    return max(MIN_LIMIT, GZIP_MAX_RATIO * compressed) + extra_bytes

                self._gunzip = _Gunzip(self._read_raw, head, self.where, limit)
        except BaseException:
            self.close()
            raise

    def _text_mode(self):
        return TypeError(f"{self.where}: parameter tarballs are binary; open the file in "
                         "binary mode 'rb'")

    def _read_raw(self, size):
        if self.raw_size is not None:  # a buffered read(n) allocates n bytes up front
            size = min(size, self.raw_size - self._raw_read)
        parts = []
        while size > 0:
            data = self._raw.read(size)
            if isinstance(data, str):
                raise self._text_mode()
            if not data:
                break
            parts.append(bytes(data))
            size -= len(data)
            self._raw_read += len(data)
        return b"".join(parts)

    def close(self):
        if self._owned is not None:
            self._owned.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def remaining(self):
        """Tar bytes left, when known before reading them (a plain, seekable file)."""
        if self._gunzip is not None or self.raw_size is None:
            return None
        return self.raw_size - self.offset

    def read(self, size):
        """Up to ``size`` tar bytes; fewer only at the end of the file."""
        head = b""
        if self._pending:
            head, self._pending = self._pending[:size], self._pending[size:]
            self.offset += len(head)
            size -= len(head)
            if size <= 0:
                return head
        data = (self._gunzip.read(size) if self._gunzip is not None
                else self._read_raw(size))
        self.offset += len(data)
        return head + data if head else data

    def read_into_new_buffer(self, size, check=None):
        """``(bytearray of the next `size` bytes, size)``, or ``(None, bytes present)``.

        Allocates no more than the bytes that are actually there: up front when the file's
        size is known, else growing as the data arrives. ``check``: ``(n, function)``;
        ``function(first bytes)`` sees the first ``n`` bytes before the rest is read (it
        raises to stop).
        """
        remaining = self.remaining()
        if remaining is not None and size > remaining:
            return None, remaining
        head = b""
        if check is not None:
            head_size, check_head = check
            head = self.read(min(size, head_size))
            check_head(head)
        if remaining is not None:
            buffer = bytearray(size)
            buffer[:len(head)] = head
            done = len(head)
            while done < size:
                chunk = self.read(min(CHUNK, size - done))
                if not chunk:
                    break
                buffer[done:done + len(chunk)] = chunk
                done += len(chunk)
            if done < size:
                return None, done
            return buffer, size
        buffer = bytearray(head)
        while len(buffer) < size:
            chunk = self.read(min(CHUNK, size - len(buffer)))
            if not chunk:
                break
            buffer += chunk
        if len(buffer) < size:
            return None, len(buffer)
        return buffer, size

    def skip(self, size):
        """Read and drop ``size`` bytes; returns how many were there."""
        done = 0
        while done < size:
            chunk = self.read(min(CHUNK, size - done))
            if not chunk:
                break
            done += len(chunk)
        return done
