"""``paddle.reader.PipeReader``: the lines a shell-free command writes to its standard output.

Any program that prints data can feed a reader this way (``hadoop fs -cat ...``,
``curl ...``, ``cat file.gz``)::

    def reader():
        for line in PipeReader("cat data.txt").get_line():
            yield line.split(" ")
"""

import codecs
import shlex
import subprocess
import zlib

__all__ = ["PipeReader"]

FILE_TYPES = ("plain", "gzip")


class PipeReader:
    """Starts ``command`` (split into arguments like a shell would, but run without one) and
    reads its standard output ``bufsize`` bytes at a time.

    ``file_type`` is ``"plain"`` for text or ``"gzip"`` for a gzip (or zlib) stream, which is
    decompressed as it arrives. Text is decoded as UTF-8.
    """

    def __init__(self, command, bufsize=8192, file_type="plain"):
        if not isinstance(command, str):
            raise TypeError(f"PipeReader: command must be a string, got {command!r}")
        if file_type not in FILE_TYPES:
            raise ValueError(f"PipeReader: file_type must be one of {FILE_TYPES}, "
                             f"got {file_type!r}")
        if isinstance(bufsize, bool) or not isinstance(bufsize, int) or bufsize < 1:
            raise ValueError(f"PipeReader: bufsize must be a positive integer, got {bufsize!r}")
        self.command = command
        self.bufsize = bufsize
        self.file_type = file_type
        self.process = subprocess.Popen(shlex.split(command), bufsize=bufsize,
                                        stdout=subprocess.PIPE)

    def _texts(self):
        """Decoded pieces of the output, in order; raises OSError if the command failed."""
        # 32 + MAX_WBITS: accept either a gzip or a zlib header
        inflate = zlib.decompressobj(32 + zlib.MAX_WBITS) if self.file_type == "gzip" else None
        # an incremental decoder keeps a UTF-8 character split across two reads intact
        decoder = codecs.getincrementaldecoder("utf-8")()
        while True:
            data = self.process.stdout.read(self.bufsize)
            if not data:
                break
            if inflate is not None:
                data = inflate.decompress(data)
            yield decoder.decode(data)
        tail = (inflate.flush() if inflate is not None else b"")
        yield decoder.decode(tail, final=True)
        self.process.stdout.close()
        status = self.process.wait()
        if status != 0:
            raise OSError(f"PipeReader: {self.command!r} exited with status {status}")

    def get_line(self, cut_lines=True, line_break="\n"):
        """Yield the output's lines (without ``line_break``), or with ``cut_lines=False`` the
        decoded pieces as read. A last line without a trailing ``line_break`` is yielded too."""
        if not cut_lines:
            yield from (text for text in self._texts() if text)
            return
        remained = ""
        for text in self._texts():
            *lines, remained = (remained + text).split(line_break)
            yield from lines
        if remained:
            yield remained
