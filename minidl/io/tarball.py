"""Paddle v2 parameter tarballs, byte for byte.

Layout (a plain tar; Paddle never closed it, so it has no end-of-archive blocks):

* per parameter, in ``Parameters.names()`` order, two members:

  1. ``<name>``: a 16-byte header ``struct.pack("<IIQ", 0, 4, N)`` (value format 0 =
     dense, value size 4 bytes, N values), then N little-endian float32;
  2. ``<name>.protobuf``: the serialized ``paddle.ParameterConfig``;

  (minidl's compact format for pruned parameters, :mod:`minidl.io.compact`, uses the same
  members with another format number in the value header; it registers its decoder in
  :data:`VALUE_FORMATS`);

* tar headers in GNU format as Python 2's ``tarfile`` wrote them: mode 0644, uid/gid 0,
  empty user/group names, mtime 0, device numbers written as zeros.

Writing builds those headers here (today's ``tarfile`` writes device numbers differently).

Reading treats the file as untrusted. It parses the tar itself, as a stream (GNU and
POSIX headers, GNU long names, pax ``path``/``size``; gzip-wrapped files and unterminated
archives are read), and turns every inconsistency into a :class:`TarballError` naming the
file and the member. The bounds:

* a member is stored as its bytes arrive: a header declaring more bytes than the file holds
  is reported as truncated without allocating the difference (for a plain file, before
  allocating anything); a value header's count must match the bytes present and the
  ``.protobuf``'s size; dims are multiplied with Python integers;
* gzip data is inflated in chunks and may not exceed ``GZIP_MAX_RATIO`` times its
  compressed size (``MIN_LIMIT`` at least; ``max_bytes`` overrides);
* a file with no member (empty, zero-filled, only end-of-archive blocks) is an error, and
  only zeros may follow an end-of-archive block;
* nothing is densified while reading: :func:`read_stored` gives :class:`StoredValues`
  (what a member holds, read from its stored form); :func:`read_parameters` densifies
  compact members only up to :func:`densify_limit` bytes, and ``init_from_tar`` only to
  the shapes its network declares;
* nothing is unpickled or evaluated: the only decoders are ``struct``, ``numpy`` and
  protobuf parsing.
"""

import io
import math
import os
import struct
import zlib

import numpy as np

from .paramconfig import ParameterConfig, shape_of

BLOCK = 512
VALUE_HEADER = struct.Struct("<IIQ")  # format, value size, count
DENSE_FORMAT = 0
PROTOBUF_SUFFIX = ".protobuf"
GZIP_MAGIC = b"\x1f\x8b"


class TarballError(ValueError):
    """A parameter tarball that cannot be read; the message names the member."""


# --- writing -----------------------------------------------------------------------------

def _octal(value, width):
    """A numeric header field: zero-padded octal, NUL-terminated (``width`` bytes in all)."""
    return b"%0*o\0" % (width - 1, value)


def _text(value, width):
    data = value.encode("utf-8")
    return data[:width].ljust(width, b"\0")


def _header(name, size, typeflag=b"0", mode=0o644, magic=b"ustar  \0"):
    """One 512-byte tar header, field by field (POSIX ustar layout, GNU magic)."""
    fields = [
        _text(name, 100), _octal(mode, 8), _octal(0, 8), _octal(0, 8),  # name, mode, uid, gid
        _octal(size, 12), _octal(0, 12),                                # size, mtime
        b" " * 8,                                                       # checksum (below)
        typeflag, _text("", 100), magic,                                # type, linkname, magic
        _text("", 32), _text("", 32),                                   # uname, gname
        _octal(0, 8), _octal(0, 8),                                     # devmajor, devminor
        _text("", 155),                                                 # prefix
    ]
    block = b"".join(fields).ljust(BLOCK, b"\0")
    # The checksum is the byte sum of the header with its own field read as spaces.
    checksum = b"%06o\0 " % sum(block)
    return block[:148] + checksum + block[156:]


def _padding(size):
    return b"\0" * (-size % BLOCK)


def member_header(name, size):
    """Header block(s) of a regular member; names of 100+ bytes get a GNU ``LongLink``."""
    encoded = name.encode("utf-8")
    if len(encoded) < 100:
        return _header(name, size)
    # Python 2 wrote the long name as a ``././@LongLink`` member of type 'L' (mode 0),
    # then the real header with the name cut to 100 bytes.
    payload = encoded + b"\0"
    return (_header("././@LongLink", len(payload), typeflag=b"L", mode=0)
            + payload + _padding(len(payload)) + _header(name, size))


def write_member(fileobj, name, *chunks):
    """Append one regular member made of ``chunks`` (bytes-like) to ``fileobj``."""
    size = sum(memoryview(chunk).nbytes for chunk in chunks)
    try:
        fileobj.write(member_header(name, size))
        for chunk in chunks:
            fileobj.write(chunk)
        fileobj.write(_padding(size))
    except TypeError as error:
        if isinstance(fileobj, io.TextIOBase) or "str" in str(error):
            raise TypeError("to_tar writes bytes: open the file in binary mode 'wb'") from None
        raise


def write_parameter(fileobj, name, values, config):
    """Both members of one parameter: ``name`` (header + float32) and ``name.protobuf``.

    ``values``: host array of any shape (written flat, C order, little-endian float32).
    ``config``: the serialized ``ParameterConfig`` (bytes).
    """
    flat = np.ascontiguousarray(values, dtype="<f4").reshape(-1)
    write_member(fileobj, name, VALUE_HEADER.pack(DENSE_FORMAT, 4, flat.size),
                 memoryview(flat).cast("B"))
    write_member(fileobj, name + PROTOBUF_SUFFIX, config)


# --- reading -----------------------------------------------------------------------------
#
# Files are read as untrusted input: a stream, block by block, never trusting a size that
# the bytes present do not back. Each member is stored as it arrives (so a header that
# declares more bytes than follow allocates only what follows); gzip is inflated on the
# fly, at most GZIP_MAX_RATIO times the compressed size; nothing is densified here.

CHUNK = 1 << 18
#: gzip data may inflate to at most this many times its compressed size (or MIN_LIMIT
#: bytes, whichever is more). A pruned model saved dense is about 60x at 99% zeros.
GZIP_MAX_RATIO = 100
#: compact members of a file read without a network (``from_tar``) may densify to at most
#: this many times the size of the tar (or MIN_LIMIT bytes); a network's own shapes are
#: the bound in ``init_from_tar``. 99.9%-pruned layers are about 700x.
COMPACT_MAX_EXPANSION = 1024
MIN_LIMIT = 1 << 20
#: the largest metadata member (a GNU long name or a pax header) accepted
MAX_METADATA = 1 << 16
REGULAR_TYPES = (b"0", b"\0", b"7")


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


def _all_zero(data):
    return data.count(0) == len(data)


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
        size is known, else growing as the data arrives. ``check(first bytes)`` sees the
        first ``VALUE_HEADER.size`` bytes before the rest is read (it raises to stop).
        """
        remaining = self.remaining()
        if remaining is not None and size > remaining:
            return None, remaining
        head = b""
        if check is not None:
            head = self.read(min(size, VALUE_HEADER.size))
            check(head)
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


def _number(field):
    """A numeric header field: octal text, or GNU base-256 (first byte 0x80)."""
    if field[:1] == b"\x80":
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    return int(text, 8)  # ValueError when not octal


def _name_field(field):
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _parse_header(block):
    """``(name, size, typeflag)`` of a 512-byte header, or a string saying what is wrong."""
    try:
        checksum = _number(block[148:156])
        size = _number(block[124:136])
    except ValueError:
        return "a numeric field is not octal"
    unsigned = 256 + sum(block[:148]) + sum(block[156:])
    signed = unsigned - 256 * sum(b > 127 for b in block[:148] + block[156:])
    if checksum not in (unsigned, signed):
        return "bad header checksum"
    name = _name_field(block[:100])
    if block[257:265] == b"ustar\x0000" and block[345:500].strip(b"\0"):
        name = _name_field(block[345:500]) + "/" + name   # POSIX ustar: prefix/name
    return name, size, block[156:157]


def _pax_records(data, where, offset):
    """``{key: value}`` of a pax extended header (``"<length> <key>=<value>\\n"`` records)."""
    records, position = {}, 0
    while position < len(data) and data[position] != 0:
        space = data.find(b" ", position)
        equals = data.find(b"=", space)
        try:
            length = int(data[position:space])
        except ValueError:
            length = 0
        end = position + length
        if space < 0 or equals < 0 or length <= 0 or end > len(data) or equals >= end:
            raise TarballError(f"{where}: corrupt pax header at byte {offset}")
        key = data[space + 1:equals].decode("utf-8", "surrogateescape")
        records[key] = data[equals + 1:end - 1]
        position = end
    return records


def _read_archive(source, keep=None, max_bytes=None, extra_bytes=0):
    """``({member name: bytearray, or None where keep(name) is false}, tar bytes)``.

    Checks the archive's structure as it streams: header checksums, that each member's
    data is all there (without allocating what is missing), regular files only, no
    duplicates, nothing but zeros after the end-of-archive block. A tar with no member (a
    zero-filled or empty file) is an error.
    """
    with _Input(source, max_bytes, extra_bytes) as data:
        where = data.where
        members = {}
        last = None
        long_name = pax_name = pax_size = None
        while True:
            offset = data.offset
            after = f" after member {last!r}" if last is not None else ""
            block = data.read(BLOCK)
            if not block:
                if offset == 0:
                    raise TarballError(f"{where}: empty file, not a parameter tarball")
                if long_name is not None or pax_name is not None or pax_size is not None:
                    raise TarballError(f"{where}: the file ends after an extended header at "
                                       f"byte {offset - BLOCK}{after}")
                break  # Paddle never wrote the end-of-archive blocks
            if _all_zero(block):
                if offset == 0:
                    raise TarballError(
                        f"{where}: no parameters: the file starts with a block of zero bytes "
                        "(a zero-filled file or an empty archive), not a parameter tarball")
                _only_zeros_follow(data, where)
                break
            header = (_parse_header(block) if len(block) == BLOCK
                      else f"{len(block)}-byte fragment of a header")
            if isinstance(header, str):
                if offset == 0:
                    raise TarballError(f"{where}: not a tar archive ({header})")
                raise TarballError(f"{where}: corrupt or truncated tar header at byte {offset}"
                                   f"{after} ({header})")
            name, size, typeflag = header
            if pax_size is not None:
                size = pax_size
            padding = -size % BLOCK
            if typeflag in (b"L", b"K", b"x", b"g"):  # metadata for the next member
                if size > MAX_METADATA:
                    raise TarballError(f"{where}: extended header at byte {offset} declares "
                                       f"{size:,} bytes, more than the {MAX_METADATA:,} "
                                       "accepted")
                payload = data.read(size + padding)
                if len(payload) < size + padding:
                    raise TarballError(f"{where}: extended header at byte {offset} is "
                                       f"truncated{after}")
                payload = payload[:size]
                if typeflag == b"L":
                    long_name = _name_field(payload)
                elif typeflag == b"x":
                    records = _pax_records(payload, where, offset)
                    if "path" in records:
                        pax_name = records["path"].decode("utf-8", "surrogateescape")
                    if "size" in records:
                        try:
                            pax_size = int(records["size"])
                        except ValueError:
                            raise TarballError(f"{where}: corrupt pax header at byte "
                                               f"{offset} (size {records['size']!r})") from None
                continue
            name = pax_name if pax_name is not None else (
                long_name if long_name is not None else name)
            long_name = pax_name = pax_size = None
            member = name[2:] if name.startswith("./") else name
            if typeflag not in REGULAR_TYPES or member.endswith("/"):
                member = member.rstrip("/")
                raise TarballError(f"{where}: member {member!r} is not a regular file")
            if member in members:
                raise TarballError(f"{where}: member {member!r} appears twice")
            if keep is None or keep(member):
                # a value member's header is checked before its data is read (a gzip bomb
                # of zeros stops here); ".protobuf" may also name a value member: not those
                check = (None if member.endswith(PROTOBUF_SUFFIX)
                         else lambda head, member=member: _check_value_header(member, head))
                payload, present = _in_file(where, data.read_into_new_buffer, size, check)
            else:
                payload, present = None, data.skip(size)
            if present < size:
                raise TarballError(f"{where}: member {member!r} is truncated: its tar header "
                                   f"says {size} bytes, only {present} are present")
            if data.skip(padding) < padding:
                raise TarballError(f"{where}: member {member!r} is truncated: the file ends "
                                   f"inside the zero padding after its {size} bytes")
            members[member] = payload
            last = member
        return members, data.offset


def _in_file(where, function, *args):
    """``function(*args)``, its TarballError (which names a member) naming the file too."""
    try:
        return function(*args)
    except TarballError as error:
        message = str(error)
        if message.startswith(f"{where}: "):
            raise
        raise TarballError(f"{where}: {message}") from None


def _check_value_header(member, head):
    """What a value member's first bytes can tell alone: its value format and size."""
    if len(head) == VALUE_HEADER.size:
        value_header(member, head)


def _only_zeros_follow(data, where):
    """After the end-of-archive block: zeros only (record padding), read and dropped."""
    while True:
        offset = data.offset
        chunk = data.read(CHUNK)
        if not chunk:
            return
        if not _all_zero(chunk):
            first = offset + len(chunk) - len(chunk.lstrip(b"\0"))
            raise TarballError(f"{where}: unexpected data at byte {first} after the "
                               "end-of-archive block")


def read_members(source, keep=None, max_bytes=None):
    """``{member name: bytearray}`` in archive order, checking the archive's structure.

    ``keep(name)``: store only the members it accepts (the others map to None).
    """
    return _read_archive(source, keep, max_bytes)[0]


def read_bytes(source, max_bytes=None):
    """All bytes of ``source`` (a path or a binary file object), gunzipped (bounded) if gzip."""
    with _Input(source, max_bytes) as data:
        parts = []
        while True:
            chunk = data.read(CHUNK)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)


def parse_config(member, data):
    """Bytes of ``member`` (a ``.protobuf`` member) -> a checked ``ParameterConfig``."""
    config = ParameterConfig()
    try:
        config.ParseFromString(bytes(data))
    except Exception as error:  # DecodeError, or missing required fields
        raise TarballError(f"member {member!r} is not a valid paddle.ParameterConfig "
                           f"({error})") from None
    if not config.IsInitialized():
        raise TarballError(f"member {member!r} is not a valid paddle.ParameterConfig "
                           f"(missing {', '.join(config.FindInitializationErrors())})")
    shape = shape_of(config)
    if math.prod(shape) != config.size:  # Python integers: no overflow
        raise TarballError(f"member {member!r}: dims {list(config.dims)} do not multiply to "
                           f"size {config.size}")
    return config


class StoredValues:
    """A checked value member, not densified: what it holds and how it is stored.

    ``dense()`` gives the flat float32 values (allocating ``4 * count`` bytes for a
    compact member); everything else reads the stored form only.
    """

    format_name = "?"

    def __init__(self, member, payload, count):
        self.member = member
        self.payload = payload
        self.count = count

    @property
    def stored_bytes(self):
        return len(self.payload)

    @property
    def dense_bytes(self):
        return 4 * self.count

    def nonzeros(self):
        raise NotImplementedError(f"{type(self).__name__} defines no nonzeros()")

    def nonzero_positions(self):
        raise NotImplementedError(f"{type(self).__name__} defines no nonzero_positions()")

    def dense(self):
        raise NotImplementedError(f"{type(self).__name__} defines no dense()")

    def dense_chunks(self, values_per_chunk=1 << 20):
        """The dense values as little-endian float32 byte chunks, a chunk at a time."""
        raise NotImplementedError(f"{type(self).__name__} defines no dense_chunks()")


class DenseValues(StoredValues):
    format_name = "dense"

    def __init__(self, member, payload, count):
        super().__init__(member, payload, count)
        self._values = np.frombuffer(payload, dtype="<f4", count=count,
                                     offset=VALUE_HEADER.size)

    def nonzeros(self):
        return int(np.count_nonzero(self._values))

    def nonzero_positions(self):
        return np.flatnonzero(self._values)

    def dense(self):
        values = self._values
        if values.dtype != np.float32 or not values.flags.writeable:
            values = values.astype(np.float32)  # big-endian hosts, read-only buffers
        return values

    def dense_chunks(self, values_per_chunk=1 << 20):
        for start in range(0, self.count, values_per_chunk):
            yield memoryview(self._values[start:start + values_per_chunk]).cast("B")


def open_dense(member, payload, count):
    """Dense values: ``count`` little-endian float32 right after the header."""
    expected = count * 4
    present = len(payload) - VALUE_HEADER.size
    if present < expected:
        raise TarballError(f"member {member!r} is truncated: its header says {count} values "
                           f"({expected} bytes), only {present} bytes are present")
    if present > expected:
        raise TarballError(f"member {member!r} has {present - expected} bytes after its "
                           f"{count} values")
    return DenseValues(member, payload, count)


def decode_dense(member, payload, count):
    return open_dense(member, payload, count).dense()


#: value format number (first header field) -> open(member, payload, count) -> StoredValues,
#: which checks the member against ``count`` without densifying it
#: (``minidl.io.compact`` adds COMPACT_FORMAT when imported, which ``minidl`` always does)
VALUE_READERS = {DENSE_FORMAT: open_dense}
#: value format number -> decoder(member, payload, count) -> float32[count]
VALUE_FORMATS = {DENSE_FORMAT: decode_dense}


def value_header(member, payload):
    """``(value format, count)`` of a value member, its header checked."""
    if len(payload) < VALUE_HEADER.size:
        raise TarballError(f"member {member!r} is truncated: {len(payload)} bytes, shorter "
                           f"than the {VALUE_HEADER.size}-byte value header")
    value_format, value_size, count = VALUE_HEADER.unpack_from(payload)
    if value_format not in VALUE_READERS:
        raise TarballError(f"member {member!r} has a corrupt header: value format "
                           f"{value_format}, expected one of {sorted(VALUE_READERS)}")
    if value_size != 4:
        raise TarballError(f"member {member!r} has a corrupt header: value size {value_size}, "
                           "expected 4 (float32)")
    return value_format, count


def open_values(member, payload, config):
    """A value member -> :class:`StoredValues` of ``config.size`` values (not densified)."""
    value_format, count = value_header(member, payload)
    if count != config.size:
        raise TarballError(f"member {member!r} holds {count} values but its .protobuf says "
                           f"size {config.size}")
    return VALUE_READERS[value_format](member, payload, count)


def decode_values(member, payload, config):
    """A value member -> flat float32 array of ``config.size`` values."""
    return open_values(member, payload, config).dense()


def _is_config_member(name, members):
    # A parameter may itself be named "x.protobuf"; its config is then "x.protobuf.protobuf".
    return name.endswith(PROTOBUF_SUFFIX) and name + PROTOBUF_SUFFIX not in members


def read_stored(source, wanted=None, max_bytes=None, extra_bytes=0):
    """``([(ParameterConfig, StoredValues)], tar bytes)``, in the order of the configs.

    Every pair is checked (config against value header, sizes against the bytes present)
    but nothing is densified. ``wanted``: a set of parameter names; the data of the other
    members is skipped unread (their names must still pair up).
    """
    where = _describe(source)

    def keep(name):
        if wanted is None:
            return True
        return name in wanted or (name.endswith(PROTOBUF_SUFFIX)
                                  and name[:-len(PROTOBUF_SUFFIX)] in wanted)

    members, tar_bytes = _read_archive(source, keep, max_bytes, extra_bytes)
    configs = {}
    for name in members:
        if _is_config_member(name, members):
            configs[name[:-len(PROTOBUF_SUFFIX)]] = None
    for name in members:
        if not _is_config_member(name, members) and name not in configs:
            raise TarballError(f"{where}: value member {name!r} has no {name}.protobuf")
    for name in configs:
        if name not in members:
            raise TarballError(f"{where}: member {name}.protobuf has no value member {name!r}")
    result = []
    for stem in configs:
        data = members[stem + PROTOBUF_SUFFIX]
        if data is None:
            continue  # not wanted
        config = _in_file(where, parse_config, stem + PROTOBUF_SUFFIX, data)
        if config.name != stem:
            raise TarballError(f"{where}: member {stem + PROTOBUF_SUFFIX!r} describes parameter "
                               f"{config.name!r}, expected {stem!r}")
        result.append((config, _in_file(where, open_values, stem, members[stem], config)))
    return result, tar_bytes


def densify_limit(tar_bytes):
    """The most bytes compact members of a ``tar_bytes``-byte file densify to by default."""
    return max(MIN_LIMIT, COMPACT_MAX_EXPANSION * tar_bytes)


def read_parameters(source, max_bytes=None):
    """``[(ParameterConfig, values shaped as Paddle dims)]`` in the order of the configs.

    As Paddle's ``from_tar``: the ``.protobuf`` members first, then each value member.
    Without a network to declare the shapes, compact members may densify to at most
    ``max_bytes`` in all (default: :func:`densify_limit` of the file's size).
    """
    where = _describe(source)
    stored, tar_bytes = read_stored(source, max_bytes=max_bytes)
    limit = densify_limit(tar_bytes) if max_bytes is None else max_bytes
    expanded = [(s.member, s.dense_bytes) for _, s in stored if s.format_name != "dense"]
    total = sum(size for _, size in expanded)
    if total > limit:
        largest = max(expanded, key=lambda item: item[1])
        raise TarballError(
            f"{where}: its compact members declare {total:,} bytes of values ({largest[0]!r}: "
            f"{largest[1]:,}) from a {tar_bytes:,}-byte file, more than the {limit:,} allowed "
            "without a network; load it with init_from_tar into a network that declares "
            "these parameters, or pass max_bytes")
    return [(config, values.dense().reshape(shape_of(config))) for config, values in stored]
