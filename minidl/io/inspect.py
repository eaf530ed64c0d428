"""``python -m minidl.inspect PARAMS.tar[.gz]``: what a saved model holds, and its sizes.

Prints one row per parameter (name, shape, nonzeros, sparsity, hook and its target, stored
format dense/compact), then the bytes of the same parameters saved dense and compact,
plain and gzipped. ``--json`` prints the same as one JSON object::

    {"file": ..., "file_bytes": ..., "parameters": [{name, shape, size, nonzeros, sparsity,
     hook, target, stored}, ...], "total": {size, nonzeros, sparsity}, "sizes": {...}}

Exit status 0, or 2 with a message naming the file when it is missing or not a valid
parameter tarball.
"""

import argparse
import io
import json
import os
import sys

from . import compact
from .tarball import read_bytes, read_members
from ..training.parameters import Parameters
from ..pruning.report import format_report, sparsity_report, totals
from ..pruning.sizes import file_sizes

PROG = "python -m minidl.inspect"


def load(path):
    """``(Parameters, {name: "dense" | "compact"})`` of the tarball at ``path``."""
    buffer = io.BytesIO(read_bytes(path))
    buffer.name = os.fspath(path)  # error messages name the file
    members = read_members(buffer)
    buffer.seek(0)
    parameters = Parameters.from_tar(buffer)
    stored = {name: compact.member_format(members[name]) for name in parameters.names()}
    return parameters, stored


def inspect_file(path, pass_id=None):
    """``(rows, sizes)``: the report rows (with ``stored`` set) and the :class:`FileSizes`."""
    parameters, stored = load(path)
    rows = sparsity_report(parameters, pass_id=pass_id)
    for row in rows:
        row.stored = stored[row.name]
    return rows, file_sizes(parameters)


def as_json(path, rows, sizes):
    size, nonzeros, sparsity = totals(rows)
    return {"file": os.fspath(path), "file_bytes": os.path.getsize(path),
            "parameters": [row.as_dict() for row in rows],
            "total": {"size": size, "nonzeros": nonzeros, "sparsity": sparsity},
            "sizes": sizes.as_dict()}


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
    if args.json:
        print(json.dumps(as_json(args.path, rows, sizes), indent=2))
        return 0
    print(f"{args.path}: {len(rows)} parameters, {os.path.getsize(args.path):,} bytes on disk")
    print(format_report(rows))
    print()
    print(sizes.format())
    return 0


def _fail(message):
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
