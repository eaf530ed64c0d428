"""Value members: the 16-byte value header, the value formats, and the dense format.

A value member ``<name>`` starts with ``VALUE_HEADER``: value format, value size (4:
float32) and the number of values N. Format 0 (``DENSE_FORMAT``, Paddle's only one) is N
little-endian float32; other formats register a reader and a decoder in
:data:`VALUE_READERS` and :data:`VALUE_FORMATS` (:mod:`minidl.io.compact` does). Reading
checks a member against its header and its ``.protobuf``'s size without densifying it:
:class:`StoredValues` reads the stored form, and only ``dense()`` allocates the values.
"""

import struct

import numpy as np

from .errors import TarballError

VALUE_HEADER = struct.Struct("<IIQ")  # format, value size, count
DENSE_FORMAT = 0


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
