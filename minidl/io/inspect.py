"""``python -m minidl.inspect PARAMS.tar[.gz]``: what a saved model holds, and its sizes.

Prints one row per parameter (name, shape, nonzeros, sparsity, hook and its target, stored
format dense/compact), then the bytes of the same parameters saved dense and compact,
plain and gzipped. ``--json`` prints the same as one JSON object::

    {"file": ..., "file_bytes": ..., "parameters": [{name, shape, size, nonzeros, sparsity,
     hook, target, stored}, ...], "total": {size, nonzeros, sparsity}, "sizes": {...}}

The file is read as untrusted input (see :mod:`minidl.io.tarball`) and never densified:
a compact member's statistics come from its entries, and the sizes are computed from the
stored form (the gzipped sizes by streaming the files through zlib a chunk at a time). The
dense ``.tar.gz`` size is left out (``null``, ``-``) when the dense file would be more than
``DENSE_GZIP_BUDGET`` times the file (and over ``DENSE_GZIP_FLOOR`` bytes): compressing
what a small compact file declares could take minutes.

Exit status 0, or 2 with a message naming the file when it is missing or not a valid
parameter tarball.
"""

import argparse
import json
import os
import sys
import zlib

from . import compact, tarball
from .paramconfig import hooks_from_config, shape_of
from ..pruning.report import ReportRow, describe_hook, format_report, totals
from ..pruning.sizes import FileSizes, ParameterSize

PROG = "python -m minidl.inspect"
DENSE_GZIP_BUDGET = 64
DENSE_GZIP_FLOOR = 64 << 20


def load(path):
    """``([(ParameterConfig, StoredValues)], tar bytes)`` of the file at ``path``, checked."""
    return tarball.read_stored(path)


def report_rows(stored):
    """One :class:`ReportRow` per parameter, from the stored form only.

    A file keeps a dynamic hook's upper bound but not its schedule, so the target is the
    hook's final sparsity (as :func:`minidl.pruning.sparsity_report` says for tarballs).
    """
    rows = []
    for config, values in stored:
        hooks = hooks_from_config(config)
        size, nonzeros = values.count, values.nonzeros()
        rows.append(ReportRow(
            name=config.name, shape=shape_of(config), size=size, nonzeros=nonzeros,
            sparsity=(size - nonzeros) / size if size else 0.0,
            hook="; ".join(describe_hook(hook, schedule_known=False) for hook in hooks) or "-",
            target=max(hook.sparsity for hook in hooks) if hooks else None,
            stored=values.format_name))
    return rows


class _GzipSize:
    """Bytes that ``gzip.compress(data, 9, mtime=0)`` gives, fed a chunk at a time."""

    def __init__(self):
        self._compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        self.raw = 0
        self._compressed = 0

    def write(self, *chunks):
        for chunk in chunks:
            self.raw += memoryview(chunk).nbytes
            self._compressed += len(self._compressor.compress(chunk))

    def size(self):
        return 10 + self._compressed + len(self._compressor.flush()) + 8  # header, trailer


def _member_bytes(name, size):
    return len(tarball.member_header(name, size)) + size + (-size % tarball.BLOCK)


def _write_member(out, name, size, chunks):
    out.write(tarball.member_header(name, size), *chunks, b"\0" * (-size % tarball.BLOCK))


def file_sizes(stored, file_bytes, threshold=compact.DEFAULT_THRESHOLD):
    """:class:`~minidl.pruning.FileSizes` of the parameters, without densifying any.

    As :func:`minidl.pruning.file_sizes` of the loaded parameters, except that
    ``dense_tar_gz`` is None when over the budget (see the module docstring).
    """
    per_parameter, plans = [], []
    dense_tar = compact_tar = 0
    for config, values in stored:
        name, message = config.name, config.SerializeToString()
        count = values.count
        dense_bytes = tarball.VALUE_HEADER.size + 4 * count
        positions = values.nonzero_positions()
        sparsity = 1.0 - positions.size / count if count else 0.0
        packed = compact.compact_size_of_positions(positions) if count else dense_bytes
        prefer = count > 0 and sparsity > threshold and packed < dense_bytes
        per_parameter.append(ParameterSize(name, "compact" if prefer else "dense", dense_bytes,
                                           packed if prefer else dense_bytes))
        config_bytes = _member_bytes(name + tarball.PROTOBUF_SUFFIX, len(message))
        dense_tar += _member_bytes(name, dense_bytes) + config_bytes
        compact_tar += _member_bytes(name, packed if prefer else dense_bytes) + config_bytes
        plans.append((name, message, values, positions, prefer))

    def dense_chunks(values):
        yield tarball.VALUE_HEADER.pack(tarball.DENSE_FORMAT, 4, values.count)
        yield from values.dense_chunks()

    def stream(out, as_compact):
        for name, message, values, positions, prefer in plans:
            if as_compact and prefer:
                chunks = compact.payload_of_encoding(values.count, *compact.encode_positions(
                    positions, _values_at(values, positions)))
                size = sum(memoryview(chunk).nbytes for chunk in chunks)
            else:
                chunks, size = dense_chunks(values), tarball.VALUE_HEADER.size + 4 * values.count
            _write_member(out, name, size, chunks)
            _write_member(out, name + tarball.PROTOBUF_SUFFIX, len(message), [message])
        return out.size()

    compact_gz = stream(_GzipSize(), True)
    dense_gz = None
    if dense_tar <= max(DENSE_GZIP_FLOOR, DENSE_GZIP_BUDGET * file_bytes):
        dense_gz = stream(_GzipSize(), False)
    return FileSizes(dense_tar=dense_tar, dense_tar_gz=dense_gz, compact_tar=compact_tar,
                     compact_tar_gz=compact_gz, parameters=per_parameter)


def _values_at(values, positions):
    """The stored values at flat ``positions`` (nonzero positions of ``values``)."""
    if isinstance(values, compact.CompactValues):
        return values.entry_values[values.entry_values != 0]
    return values.dense()[positions]  # a dense member: a view of the file's bytes


def inspect_file(path, pass_id=None):
    """``(rows, sizes)``: the report rows (with ``stored`` set) and the :class:`FileSizes`.

    ``pass_id`` is accepted for the command line's ``--pass``; a file keeps no schedule.
    """
    stored, tar_bytes = load(path)
    return report_rows(stored), file_sizes(stored, tar_bytes)


def as_json(path, rows, sizes):
    size, nonzeros, sparsity = totals(rows)
    return {"file": os.fspath(path), "file_bytes": os.path.getsize(path),
            "parameters": [row.as_dict() for row in rows],
            "total": {"size": size, "nonzeros": nonzeros, "sparsity": sparsity},
            "sizes": sizes.as_dict()}


def format_sizes(sizes):
    """``FileSizes.format()``, with ``-`` for a size that was not computed."""
    if sizes.dense_tar_gz is not None:
        return sizes.format()
    lines = [f"{'file':<16}{'bytes':>14}{'vs dense tar':>15}"]
    for label, size in (("dense tar", sizes.dense_tar), ("dense tar.gz", None),
                        ("compact tar", sizes.compact_tar),
                        ("compact tar.gz", sizes.compact_tar_gz)):
        if size is None:
            lines.append(f"{label:<16}{'-':>14}{'-':>15}  (not computed: too large)")
            continue
        ratio = sizes.dense_tar / size if size else float("inf")
        lines.append(f"{label:<16}{size:>14,}{ratio:>14.2f}x")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog=PROG, description="Show the parameters, sparsity and file sizes of a minidl / "
                               "Paddle v2 parameter tarball (dense or compact, .tar or .tar.gz).")
    parser.add_argument("path", metavar="PARAMS.tar", help="parameter tarball to inspect")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--pass", dest="pass_id", type=int, default=None, metavar="N",
                        help="show dynamic hooks' scheduled sparsity at pass N")
    args = parser.parse_args(argv)
    try:
        rows, sizes = inspect_file(args.path, args.pass_id)
    except OSError as error:
        return _fail(f"{args.path}: {error.strerror or error}")
    except (ValueError, TypeError) as error:  # TarballError is a ValueError
        return _fail(str(error) if args.path in str(error) else f"{args.path}: {error}")
    except MemoryError:
        return _fail(f"{args.path}: out of memory reading the file")
    if args.json:
        print(json.dumps(as_json(args.path, rows, sizes), indent=2))
        return 0
    print(f"{args.path}: {len(rows)} parameters, {os.path.getsize(args.path):,} bytes on disk")
    print(format_report(rows))
    print()
    print(format_sizes(sizes))
    return 0


def _fail(message):
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
