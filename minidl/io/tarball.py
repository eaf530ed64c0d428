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

Writing builds those headers here (today's ``tarfile`` writes device numbers differently);
reading uses ``tarfile``, accepts gzip-wrapped files and unterminated archives, and turns
every inconsistency into a :class:`TarballError` that names the member.
"""

import gzip
import io
import os
import struct
import tarfile
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

def _describe(source):
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return getattr(source, "name", None) or type(source).__name__


def read_bytes(source):
    """All bytes of ``source`` (a path or a binary file object), gunzipped if gzip."""
    where = _describe(source)
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            data = f.read()
    elif hasattr(source, "read"):
        data = None if isinstance(source, io.TextIOBase) else source.read()
        if data is None or isinstance(data, str):
            raise TypeError(f"{where}: parameter tarballs are binary; open the file in "
                            "binary mode 'rb'")
        data = bytes(data)
    else:
        raise TypeError(f"expected a path or a binary file object, got {source!r}")
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise TarballError(f"{where}: corrupt gzip data ({error})") from None
    return data


def read_members(source):
    """``{member name: bytes-like}`` in archive order, checking the archive's structure."""
    where = _describe(source)
    data = read_bytes(source)
    if not data:
        raise TarballError(f"{where}: empty file, not a parameter tarball")
    if not data.strip(b"\0"):  # only end-of-archive blocks: a tar with no members
        return {}
    try:
        tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:")
    except (tarfile.TarError, ValueError) as error:
        raise TarballError(f"{where}: not a tar archive ({error})") from None
    failure = None
    try:
        while tar.next() is not None:
            pass
    except (tarfile.TarError, ValueError) as error:  # a later header is cut or corrupt
        failure = error
    members = {}
    for info in tar.members:
        name = info.name[2:] if info.name.startswith("./") else info.name
        if not info.isreg():
            raise TarballError(f"{where}: member {name!r} is not a regular file")
        if name in members:
            raise TarballError(f"{where}: member {name!r} appears twice")
        end = info.offset_data + info.size
        if end > len(data):
            raise TarballError(f"{where}: member {name!r} is truncated: its tar header says "
                               f"{info.size} bytes, only {max(len(data) - info.offset_data, 0)}"
                               " are present")
        members[name] = memoryview(data)[info.offset_data:end]  # no copy of big values
    # tarfile stops quietly at some unreadable headers: only zeros may follow the last member
    if failure is not None or data[tar.offset:].strip(b"\0"):
        after = f" after member {list(members)[-1]!r}" if members else ""
        reason = f" ({failure})" if failure is not None else ""
        raise TarballError(f"{where}: corrupt or truncated tar header at byte {tar.offset}"
                           f"{after}{reason}")
    return members


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
    if int(np.prod(shape, dtype=np.int64)) != config.size:
        raise TarballError(f"member {member!r}: dims {list(config.dims)} do not multiply to "
                           f"size {config.size}")
    return config


def decode_dense(member, payload, count):
    """Dense values: ``count`` little-endian float32 right after the header."""
    expected = count * 4
    present = len(payload) - VALUE_HEADER.size
    if present < expected:
        raise TarballError(f"member {member!r} is truncated: its header says {count} values "
                           f"({expected} bytes), only {present} bytes are present")
    if present > expected:
        raise TarballError(f"member {member!r} has {present - expected} bytes after its "
                           f"{count} values")
    return np.frombuffer(payload, dtype="<f4", count=count,
                         offset=VALUE_HEADER.size).astype(np.float32)


#: value format number (first header field) -> decoder(member, payload, count) -> float32[count]
#: (``minidl.io.compact`` adds COMPACT_FORMAT when imported, which ``minidl`` always does)
VALUE_FORMATS = {DENSE_FORMAT: decode_dense}


def decode_values(member, payload, config):
    """A value member -> flat float32 array of ``config.size`` values."""
    if len(payload) < VALUE_HEADER.size:
        raise TarballError(f"member {member!r} is truncated: {len(payload)} bytes, shorter "
                           f"than the {VALUE_HEADER.size}-byte value header")
    value_format, value_size, count = VALUE_HEADER.unpack_from(payload)
    if value_format not in VALUE_FORMATS:
        raise TarballError(f"member {member!r} has a corrupt header: value format "
                           f"{value_format}, expected one of {sorted(VALUE_FORMATS)}")
    if value_size != 4:
        raise TarballError(f"member {member!r} has a corrupt header: value size {value_size}, "
                           "expected 4 (float32)")
    if count != config.size:
        raise TarballError(f"member {member!r} holds {count} values but its .protobuf says "
                           f"size {config.size}")
    return VALUE_FORMATS[value_format](member, payload, count)


def _is_config_member(name, members):
    # A parameter may itself be named "x.protobuf"; its config is then "x.protobuf.protobuf".
    return name.endswith(PROTOBUF_SUFFIX) and name + PROTOBUF_SUFFIX not in members


def read_parameters(source):
    """``[(ParameterConfig, values shaped as Paddle dims)]`` in the order of the configs.

    As Paddle's ``from_tar``: the ``.protobuf`` members first, then each value member.
    """
    where = _describe(source)
    members = read_members(source)
    configs = {}
    for name, data in members.items():
        if _is_config_member(name, members):
            stem = name[:-len(PROTOBUF_SUFFIX)]
            config = parse_config(name, data)
            if config.name != stem:
                raise TarballError(f"{where}: member {name!r} describes parameter "
                                   f"{config.name!r}, expected {stem!r}")
            configs[stem] = config
    for name in members:
        if not _is_config_member(name, members) and name not in configs:
            raise TarballError(f"{where}: value member {name!r} has no {name}.protobuf")
    result = []
    for name, config in configs.items():
        if name not in members:
            raise TarballError(f"{where}: member {name}.protobuf has no value member {name!r}")
        values = decode_values(name, members[name], config)
        result.append((config, values.reshape(shape_of(config))))
    return result
