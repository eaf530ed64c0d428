"""Compact value members for pruned parameters: CSR with narrow relative indices.

Deep Compression (Han et al., ICLR 2016, section 2) stores a pruned layer as its nonzero
values plus, for each, the *distance* from the previous nonzero in a few bits; a distance
too large for those bits is bridged by filler entries whose value is zero. Pruned layers
then take about ``(index bytes + 4) * nonzeros`` bytes instead of ``4 * size``.

A compact value member has the same name as the dense one (``<name>``) and the same
16-byte Paddle header, with a different format number; the ``<name>.protobuf`` member is
unchanged (Paddle's ``ParameterConfig`` with the dense ``dims``), so the shape is known::

    offset  size       field
    0       4          format  = COMPACT_FORMAT (0x6D430001, uint32 LE)
    4       4          value size = 4 (float32)
    8       8          N = number of dense values (uint64 LE), = config.size
    16      4          W = bytes per index step: 1 (uint8) or 2 (uint16)   (uint32 LE)
    20      8          E = number of entries (uint64 LE)
    28      4 * E      entry values, float32 LE
    28+4E   W * E      entry steps, unsigned W-byte LE integers

Decoding: ``position[k] = step[0] + ... + step[k] - 1`` (the previous position starts at
-1, so a nonzero at flat index 0 has step 1); ``dense[position[k]] = value[k]`` and every
other element is +0.0. Steps are in ``1 .. 2**(8W) - 1``; a gap ``g`` larger than that
maximum ``M`` is written as ``ceil(g / M) - 1`` filler entries of step ``M`` and value
+0.0, then the real entry with the remainder. Positions must stay below ``N``; a step of
0 or a position past the end is a corrupt member.

Choices, where the paper left them open:

* the format number: Paddle used 0 (``PARAM_FORMAT_ORIGINAL``) and 1
  (``PARAM_FORMAT_MKLDNN_OI``) and rejects anything ``>= PARAM_FORMAT_ITEMS``, so Paddle
  refuses a compact member instead of misreading it; ``0x6D430001`` ("mC", version 1)
  cannot collide with a future small Paddle number.
* the index width is chosen per parameter, whichever of 8 and 16 bits gives fewer bytes
  (8 on a tie);
* zeros of either sign are not stored and come back as +0.0. Pruning multiplies by a 0/1
  mask, which leaves -0.0 wherever a negative weight was cut; storing those would defeat
  the format. Every other float32 (NaN payloads included) comes back bit for bit;
* a parameter is written compact only when its sparsity is above ``threshold`` (0.5 by
  default) *and* the compact member is smaller than the dense one; otherwise dense.
"""

import struct

import numpy as np

from .tarball import (DENSE_FORMAT, PROTOBUF_SUFFIX, VALUE_FORMATS, VALUE_HEADER, VALUE_READERS,
                      StoredValues, TarballError, write_member)
from .tarball import write_parameter as write_dense_parameter

COMPACT_FORMAT = 0x6D430001
COMPACT_HEADER = struct.Struct("<IQ")  # bytes per index step, number of entries
INDEX_TYPES = {1: "<u1", 2: "<u2"}
DEFAULT_THRESHOLD = 0.5
FORMAT_NAMES = {DENSE_FORMAT: "dense", COMPACT_FORMAT: "compact"}


# --- encoding ------------------------------------------------------------------------------

def nonzero_positions(flat):
    """Flat indices of the values that are stored: everything but +0.0 and -0.0."""
    return np.flatnonzero(flat != 0)


def _gaps(positions):
    """Distance of each nonzero from the previous one (the first from -1)."""
    return np.diff(positions, prepend=-1)


def entry_count(positions, width):
    """Entries needed with ``width``-byte steps: ``ceil(gap / M)`` per nonzero."""
    top = (1 << (8 * width)) - 1
    return int(np.sum((_gaps(positions) + top - 1) // top))


def choose_width(positions):
    """1 or 2 bytes per step, whichever gives the smaller member (1 on a tie)."""
    sizes = {width: entry_count(positions, width) * (width + 4) for width in (1, 2)}
    return 1 if sizes[1] <= sizes[2] else 2


def encode(values, width=None):
    """``values`` (any shape, float32) -> ``(width, entry values, entry steps)``.

    ``width`` (1 or 2) forces the index width; by default the smaller member wins.
    """
    flat = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
    positions = nonzero_positions(flat)
    return encode_positions(positions, flat[positions], width)


def encode_positions(positions, nonzero_values, width=None):
    """As :func:`encode`, from the sorted flat ``positions`` of the nonzeros and their values."""
    if width is None:
        width = choose_width(positions)
    if width not in INDEX_TYPES:
        raise ValueError(f"index width must be 1 or 2 bytes, got {width!r}")
    top = (1 << (8 * width)) - 1
    gaps = _gaps(positions)
    repeats = (gaps + top - 1) // top          # fillers + the real entry, per nonzero
    total = int(repeats.sum())
    steps = np.full(total, top, dtype=INDEX_TYPES[width])
    entry_values = np.zeros(total, dtype="<f4")
    last = np.cumsum(repeats) - 1               # where each real entry lands
    steps[last] = gaps - (repeats - 1) * top    # the remainder, in 1 .. top
    entry_values[last] = nonzero_values
    return width, entry_values, steps


def compact_payload(values, width=None):
    """The whole compact member (Paddle header included) as a list of byte chunks."""
    return payload_of_encoding(int(np.size(values)), *encode(values, width))


def payload_of_encoding(count, width, entry_values, steps):
    """The compact member of ``count`` values from :func:`encode`'s result, as byte chunks."""
    return [VALUE_HEADER.pack(COMPACT_FORMAT, 4, count),
            COMPACT_HEADER.pack(width, entry_values.size),
            memoryview(entry_values).cast("B"), memoryview(steps).cast("B")]


def compact_size(values, width=None):
    """Bytes of the compact member of ``values`` (header included), without building it."""
    return compact_size_of_positions(nonzero_positions(np.asarray(values).reshape(-1)), width)


def compact_size_of_positions(positions, width=None):
    """Bytes of the compact member whose nonzeros are at flat ``positions`` (sorted)."""
    width = choose_width(positions) if width is None else width
    return VALUE_HEADER.size + COMPACT_HEADER.size + entry_count(positions, width) * (width + 4)


def dense_size(values):
    return VALUE_HEADER.size + 4 * int(np.size(values))


def prefers_compact(values, threshold=DEFAULT_THRESHOLD):
    """True when ``values`` should be stored compact (see the module docstring)."""
    size = int(np.size(values))
    if size == 0:
        return False
    sparsity = 1.0 - np.count_nonzero(values) / size
    return sparsity > threshold and compact_size(values) < dense_size(values)


def write_parameter(fileobj, name, values, config, threshold=DEFAULT_THRESHOLD):
    """Both members of one parameter, the value member compact when it pays.

    As :func:`minidl.io.tarball.write_parameter`; returns ``"compact"`` or ``"dense"``.
    """
    if not prefers_compact(values, threshold):
        write_dense_parameter(fileobj, name, values, config)
        return "dense"
    write_member(fileobj, name, *compact_payload(values))
    write_member(fileobj, name + PROTOBUF_SUFFIX, config)
    return "compact"


# --- decoding ------------------------------------------------------------------------------

class CompactValues(StoredValues):
    """A checked compact member; its statistics come from the entries, never densified."""

    format_name = "compact"

    def __init__(self, member, payload, count, width, entries):
        super().__init__(member, payload, count)
        start = VALUE_HEADER.size + COMPACT_HEADER.size
        self.width = width
        self.entry_values = np.frombuffer(payload, dtype="<f4", count=entries, offset=start)
        self.steps = np.frombuffer(payload, dtype=INDEX_TYPES[width], count=entries,
                                   offset=start + 4 * entries)
        self.positions = np.cumsum(self.steps, dtype=np.int64) - 1

    def nonzeros(self):
        return int(np.count_nonzero(self.entry_values))

    def nonzero_positions(self):
        return self.positions[self.entry_values != 0]

    def dense(self):
        dense = np.zeros(self.count, dtype=np.float32)
        dense[self.positions] = self.entry_values
        return dense

    def dense_chunks(self, values_per_chunk=1 << 20):
        chunk = np.zeros(min(values_per_chunk, self.count), dtype="<f4")
        for start in range(0, self.count, values_per_chunk):
            stop = min(start + values_per_chunk, self.count)
            first, last = np.searchsorted(self.positions, [start, stop])
            view = chunk[:stop - start]
            view[:] = 0
            view[self.positions[first:last] - start] = self.entry_values[first:last]
            yield memoryview(view).cast("B")


def open_compact(member, payload, count):
    """A compact member, checked against ``count`` (the reader registered for COMPACT_FORMAT).

    Allocates only in proportion to the entries present (their positions), whatever
    ``count`` says.
    """
    start = VALUE_HEADER.size
    if len(payload) < start + COMPACT_HEADER.size:
        raise TarballError(f"member {member!r} is truncated: {len(payload)} bytes, shorter "
                           f"than the {start + COMPACT_HEADER.size}-byte compact header")
    width, entries = COMPACT_HEADER.unpack_from(payload, start)
    if width not in INDEX_TYPES:
        raise TarballError(f"member {member!r} has a corrupt compact header: index width "
                           f"{width}, expected 1 or 2 bytes")
    start += COMPACT_HEADER.size
    expected = entries * (4 + width)
    present = len(payload) - start
    if present != expected:
        state = "is truncated" if present < expected else "has extra bytes"
        raise TarballError(f"member {member!r} {state}: its compact header says {entries} "
                           f"entries ({expected} bytes), {present} bytes are present")
    values = CompactValues(member, payload, count, width, entries)
    if entries and values.steps.min() == 0:
        raise TarballError(f"member {member!r} is corrupt: entry {int(np.argmin(values.steps))} "
                           "has index step 0")
    if entries and values.positions[-1] >= count:
        raise TarballError(f"member {member!r} is corrupt: its entries reach index "
                           f"{int(values.positions[-1])}, past its {count} values")
    return values


def decode_compact(member, payload, count):
    """A compact member -> flat float32[count]."""
    return open_compact(member, payload, count).dense()


VALUE_READERS[COMPACT_FORMAT] = open_compact
VALUE_FORMATS[COMPACT_FORMAT] = decode_compact


def member_format(payload):
    """``"dense"``, ``"compact"`` or the raw number, from a value member's header."""
    if len(payload) < VALUE_HEADER.size:
        return None
    value_format = VALUE_HEADER.unpack_from(payload)[0]
    return FORMAT_NAMES.get(value_format, value_format)
