"""The real bytes of a saved model: dense or compact tarball, plain or gzipped.

Each file is generated in memory by the same writers ``Parameters.to_tar`` uses, and
gzipped at level 9 (as ``to_tar("model.tar.gz")`` does), so the numbers are what a user
gets on disk -- not an estimate. The in-memory copies need about twice the dense model.
"""

import gzip
import io
from dataclasses import dataclass, field

from ..io import compact
from ..io.tarball import VALUE_HEADER


@dataclass
class ParameterSize:
    """Bytes of one parameter's value member, dense and as the compact file stores it."""

    name: str
    stored: str          # "dense" or "compact" in the compact file
    dense_bytes: int     # header + 4 bytes per value
    stored_bytes: int    # the value member in the compact file


@dataclass
class FileSizes:
    dense_tar: int
    dense_tar_gz: int
    compact_tar: int
    compact_tar_gz: int
    parameters: list = field(default_factory=list)  # [ParameterSize]

    def as_dict(self):
        return {"dense_tar": self.dense_tar, "dense_tar_gz": self.dense_tar_gz,
                "compact_tar": self.compact_tar, "compact_tar_gz": self.compact_tar_gz,
                "parameters": [vars(p) for p in self.parameters]}

    def format(self):
        """Four lines: bytes of each file and how many times smaller than the dense tar."""
        lines = [f"{'file':<16}{'bytes':>14}{'vs dense tar':>15}"]
        for label, size in (("dense tar", self.dense_tar), ("dense tar.gz", self.dense_tar_gz),
                            ("compact tar", self.compact_tar),
                            ("compact tar.gz", self.compact_tar_gz)):
            ratio = self.dense_tar / size if size else float("inf")
            lines.append(f"{label:<16}{size:>14,}{ratio:>14.2f}x")
        return "\n".join(lines)


def _tar_bytes(parameters, **options):
    buffer = io.BytesIO()
    parameters.to_tar(buffer, **options)
    return buffer.getvalue()


def file_sizes(parameters, threshold=compact.DEFAULT_THRESHOLD):
    """:class:`FileSizes` of ``parameters`` (compact members where ``threshold`` allows)."""
    dense = _tar_bytes(parameters)
    packed = _tar_bytes(parameters, compact=True, compact_threshold=threshold)
    per_parameter = []
    for name in parameters.names():
        values = parameters.get(name)
        dense_bytes = VALUE_HEADER.size + 4 * values.size
        if compact.prefers_compact(values, threshold):
            per_parameter.append(ParameterSize(name, "compact", dense_bytes,
                                               compact.compact_size(values)))
        else:
            per_parameter.append(ParameterSize(name, "dense", dense_bytes, dense_bytes))
    return FileSizes(dense_tar=len(dense),
                     dense_tar_gz=len(gzip.compress(dense, compresslevel=9, mtime=0)),
                     compact_tar=len(packed),
                     compact_tar_gz=len(gzip.compress(packed, compresslevel=9, mtime=0)),
                     parameters=per_parameter)
