"""RecordIO files as Paddle v2 wrote them (``paddle.dataset.common.convert``): chunks of records.

A file is a sequence of chunks; each chunk is a 20-byte header followed by its payload::

    header   uint32 little-endian x 5:  magic 0x01020304 | crc32 of payload | compressor
                                        | payload size in bytes | number of records
    payload  (compressed) concatenation of  uint32 length | record bytes   for each record

The compressor is 0 (none), 1 (Snappy, framed) or 2 (gzip). minidl writes gzip, which every
RecordIO reader understands and the standard library provides; it reads 0 and 2 always, and 1
when the optional ``cramjam`` package is installed (v2's own writer defaulted to Snappy).
A chunk is closed when adding a record would take its uncompressed records past
``max_chunk_size`` bytes (32 MiB by default, as v2).
"""

import glob
import gzip
import struct
import zlib

__all__ = ["MAGIC", "RecordIOError", "Writer", "read_records", "resolve_paths"]

MAGIC = 0x01020304
NO_COMPRESSION, SNAPPY, GZIP = 0, 1, 2
DEFAULT_MAX_CHUNK_SIZE = 32 * 1024 * 1024
_HEADER = struct.Struct("<5I")
_LENGTH = struct.Struct("<I")


class RecordIOError(ValueError):
    """A file is not a well-formed RecordIO file (bad magic, checksum, sizes or compressor)."""


class Writer:
    """Writes records (bytes) to one RecordIO file; use as a context manager or call close()."""

    def __init__(self, path, max_chunk_size=DEFAULT_MAX_CHUNK_SIZE, compressor=GZIP):
        if compressor not in (NO_COMPRESSION, GZIP):
            raise ValueError(f"RecordIO Writer: compressor must be {NO_COMPRESSION} (none) or "
                             f"{GZIP} (gzip), got {compressor!r}")
        self._file = open(path, "wb")
        self._max_chunk_size = max_chunk_size
        self._compressor = compressor
        self._records, self._size = [], 0

    def write(self, record):
        """Append one record (bytes-like)."""
        record = bytes(record)
        if self._records and self._size + len(record) > self._max_chunk_size:
            self._dump()
        self._records.append(record)
        self._size += len(record)

    def _dump(self):
        if not self._records:  # an empty chunk is never written; empty records are allowed
            return
        raw = b"".join(_LENGTH.pack(len(r)) + r for r in self._records)
        payload = gzip.compress(raw) if self._compressor == GZIP else raw
        self._file.write(_HEADER.pack(MAGIC, zlib.crc32(payload), self._compressor,
                                      len(payload), len(self._records)))
        self._file.write(payload)
        self._records, self._size = [], 0

    def close(self):
        """Write the last chunk and close the file."""
        if self._file.closed:
            return
        self._dump()
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _decompress(payload, compressor, where):
    if compressor == NO_COMPRESSION:
        return payload
    if compressor == GZIP:
        return gzip.decompress(payload)
    if compressor == SNAPPY:
        try:
            import cramjam
        except ImportError:
            raise RecordIOError(f"{where}: chunk is Snappy-compressed; reading it needs the "
                                "cramjam package (pip install cramjam)") from None
        return bytes(cramjam.snappy.decompress(payload))
    raise RecordIOError(f"{where}: unknown compressor {compressor}")


def _chunks(path):
    """Yield the decompressed payload and record count of each chunk of one file."""
    with open(path, "rb") as f:
        offset = 0
        while True:
            header = f.read(_HEADER.size)
            if not header:
                return
            where = f"{path}: chunk at byte {offset}"
            if len(header) < _HEADER.size:
                raise RecordIOError(f"{where}: truncated header")
            magic, checksum, compressor, size, count = _HEADER.unpack(header)
            if magic != MAGIC:
                raise RecordIOError(f"{where}: magic {magic:#010x}, expected {MAGIC:#010x} "
                                    "(not a RecordIO file)")
            payload = f.read(size)
            if len(payload) < size or zlib.crc32(payload) != checksum:
                raise RecordIOError(f"{where}: payload truncated or checksum mismatch")
            try:
                yield _decompress(payload, compressor, where), count, where
            except (OSError, EOFError, zlib.error) as error:
                raise RecordIOError(f"{where}: cannot decompress ({error})") from None
            offset += _HEADER.size + size


def _records(data, count, where):
    position = 0
    for _ in range(count):
        if position + _LENGTH.size > len(data):
            raise RecordIOError(f"{where}: fewer records than the header's {count}")
        (length,) = _LENGTH.unpack_from(data, position)
        position += _LENGTH.size
        if position + length > len(data):
            raise RecordIOError(f"{where}: a record runs past the end of the chunk")
        yield data[position:position + length]
        position += length


def resolve_paths(paths):
    """The files named by ``paths``: a string of comma-separated glob patterns or a list of
    patterns, each expanded (sorted) in turn; raises FileNotFoundError when none match."""
    patterns = paths.split(",") if isinstance(paths, str) else list(paths)
    files = [name for pattern in patterns for name in sorted(glob.glob(pattern))]
    if not files:
        raise FileNotFoundError(f"RecordIO: no file matches {paths!r}")
    return files


def read_records(paths):
    """Yield every record (bytes) of the files ``paths`` names (see :func:`resolve_paths`)."""
    for path in resolve_paths(paths):
        for data, count, where in _chunks(path):
            yield from _records(data, count, where)
