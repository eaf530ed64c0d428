"""Bounded gzip inflation, for untrusted files.

A few kilobytes of gzip can inflate to gigabytes (a gzip bomb), so gzip data is inflated as
it is read, a chunk at a time, and after each chunk the bytes produced are held to a limit
that the caller computes from the compressed bytes read so far.
"""

import zlib

from .errors import TarballError

GZIP_MAGIC = b"\x1f\x8b"
#: bytes asked for by one read, of compressed data or of tar bytes
CHUNK = 1 << 18
#: gzip data may inflate to at most this many times its compressed size (or MIN_LIMIT
#: bytes, whichever is more: the limit :mod:`.tar_input` passes). A pruned model saved
#: dense is about 60x at 99% zeros.
GZIP_MAX_RATIO = 100


class _Gunzip:
    """Inflate gzip data as it is read, refusing to produce more than ``limit`` bytes.

    As ``gzip.decompress``: several members in a row are one stream, and zero bytes after
    the last member are ignored; anything else after it is an error.
    """

    def __init__(self, read_raw, first, where, limit):
        self._read_raw = read_raw
        self._input = first
        self._where = where
        self._limit = limit          # callable: compressed bytes read -> largest output
        self._decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._done = False
        self.consumed = len(first)   # compressed bytes read so far
        self.produced = 0

    def _more(self):
        data = self._read_raw(CHUNK)
        self.consumed += len(data)
        return data

    def _next_member(self, rest):
        while True:
            rest = rest.lstrip(b"\0")
            if len(rest) == 1:
                more = self._more()
                rest += more
                if not more:
                    break
            if rest:
                if rest[:2] != GZIP_MAGIC:
                    break
                self._decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
                self._input = rest
                return
            rest = self._more()
            if not rest:
                self._done = True
                return
        raise TarballError(f"{self._where}: corrupt gzip data (unexpected bytes after the "
                           "end of the compressed stream)")

    def read(self, size):
        """Up to ``size`` inflated bytes; fewer only at the end of the data."""
        parts = []
        while size > 0 and not self._done:
            if not self._input:
                self._input = self._more()
                if not self._input:
                    raise TarballError(f"{self._where}: corrupt gzip data (the compressed "
                                       "stream is truncated)")
            try:
                out = self._decompressor.decompress(self._input, size)
            except zlib.error as error:
                raise TarballError(f"{self._where}: corrupt gzip data ({error})") from None
            self._input = self._decompressor.unconsumed_tail
            if self._decompressor.eof:
                self._next_member(self._decompressor.unused_data)
            self.produced += len(out)
            limit = self._limit(self.consumed)
            if self.produced > limit:
                raise TarballError(
                    f"{self._where}: gzip data inflates to more than {limit:,} bytes from "
                    f"{self.consumed:,} compressed bytes; refusing to read it (a gzip bomb? "
                    f"the limit is {GZIP_MAX_RATIO}x the compressed size, or max_bytes)")
            parts.append(out)
            size -= len(out)
        return b"".join(parts)
