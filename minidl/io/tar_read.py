"""Reading a tar stream as untrusted input, as Paddle's parameter tarballs need it.

The tar is parsed here, as a stream, block by block (GNU and POSIX headers, GNU long
names, pax ``path``/``size``; gzip-wrapped files and unterminated archives are read),
never trusting a size that the bytes present do not back. Every inconsistency is a
:class:`TarballError` naming the file and the member. The bounds:

* a member is stored as its bytes arrive: a header declaring more bytes than the file holds
  is reported as truncated without allocating the difference (for a plain file, before
  allocating anything); a caller's ``head_check`` sees a member's first bytes before the
  rest is read;
* gzip data is inflated in chunks and may not exceed ``GZIP_MAX_RATIO`` times its
  compressed size (``MIN_LIMIT`` at least; ``max_bytes`` overrides): see
  :mod:`minidl.io.tar_input` and :mod:`minidl.io.gunzip`;
* a file with no member (empty, zero-filled, only end-of-archive blocks) is an error, and
  only zeros may follow an end-of-archive block.

What the members mean -- and pairing them up -- is :mod:`minidl.io.tarball`'s.
"""

from .errors import TarballError
from .gunzip import CHUNK
from .tar_input import _Input
from .tar_write import BLOCK

#: the largest metadata member (a GNU long name or a pax header) accepted
MAX_METADATA = 1 << 16
REGULAR_TYPES = (b"0", b"\0", b"7")


def _all_zero(data):
    return data.count(0) == len(data)


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


def _read_archive(source, keep=None, max_bytes=None, extra_bytes=0, head_check=None):
    """``({member name: bytearray, or None where keep(name) is false}, tar bytes)``.

    Checks the archive's structure as it streams: header checksums, that each member's
    data is all there (without allocating what is missing), regular files only, no
    duplicates, nothing but zeros after the end-of-archive block. A tar with no member (a
    zero-filled or empty file) is an error.

    ``head_check(name)``: for a member about to be stored, None or ``(n, check)``:
    ``check(its first n bytes)`` runs before the rest is read, and raises to stop there
    (what the members hold is the caller's to know; the tar level does not).
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
                check = head_check(member) if head_check is not None else None
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


def read_members(source, keep=None, max_bytes=None, head_check=None):
    """``{member name: bytearray}`` in archive order, checking the archive's structure.

    ``keep(name)``: store only the members it accepts (the others map to None);
    ``head_check``: checks the first bytes of members, as in :func:`_read_archive`.
    """
    return _read_archive(source, keep, max_bytes, head_check=head_check)[0]


def read_bytes(source, max_bytes=None):
    """All bytes of ``source`` (a path or a binary file object), gunzipped (bounded) if gzip."""
    with _Input(source, max_bytes) as data:
        parts = []
        while True:
            chunk = data.read(CHUNK)
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)
