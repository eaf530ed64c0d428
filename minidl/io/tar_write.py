"""Tar members written byte for byte as Paddle wrote them (Python 2's ``tarfile``).

Headers are in GNU format as Python 2's ``tarfile`` wrote them: mode 0644, uid/gid 0,
empty user/group names, mtime 0, device numbers written as zeros. They are built here,
field by field (today's ``tarfile`` writes device numbers differently).
"""

import io

BLOCK = 512


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
