"""paddle.reader.creator, the RecordIO chunk format, PipeReader, the size-0 cases of buffered
and shuffle, and paddle.dataset.common's DATA_HOME, split, cluster_files_reader and convert."""

import gzip
import pickle
import struct
import sys
import zlib

import numpy as np
import pytest

import minidl as paddle
from minidl.dataset import common
from minidl.reader import recordio
from minidl.reader.recordio import RecordIOError, Writer

creator = paddle.reader.creator


def counting(n):
    return lambda: iter(range(n))


# ---- creator.np_array / text_file ----

def test_np_array_yields_along_the_first_axis():
    matrix = np.arange(6).reshape(3, 2)
    rows = list(creator.np_array(matrix)())
    assert len(rows) == 3 and all(np.array_equal(r, matrix[i]) for i, r in enumerate(rows))
    assert list(creator.np_array(np.array([4, 5]))()) == [4, 5]
    (scalar,) = list(creator.np_array(np.array(7.5))())   # 0-d: yielded once
    assert scalar.ndim == 0 and scalar == 7.5


def test_text_file_strips_only_the_newline(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("one \n\ntwo\tthree\nlast")
    reader = creator.text_file(str(path))
    assert list(reader()) == ["one ", "", "two\tthree", "last"]
    assert list(reader()) == ["one ", "", "two\tthree", "last"]


# ---- RecordIO ----

def test_writer_layout_read_by_hand(tmp_path):
    path = tmp_path / "r"
    with Writer(str(path), compressor=recordio.NO_COMPRESSION) as writer:
        for record in (b"ab", b"", b"xyz"):
            writer.write(record)
    data = path.read_bytes()
    magic, crc, compressor, size, count = struct.unpack("<5I", data[:20])
    payload = data[20:]
    assert (magic, compressor, size, count) == (0x01020304, 0, len(payload), 3)
    assert crc == zlib.crc32(payload)
    assert payload == b"\2\0\0\0ab" + b"\0\0\0\0" + b"\3\0\0\0xyz"


def test_gzip_chunks_and_chunk_boundaries(tmp_path):
    path = tmp_path / "r"
    records = [bytes([i]) * i for i in range(1, 9)]   # 1 + 2 + ... + 8 bytes
    with Writer(str(path), max_chunk_size=10) as writer:
        for record in records:
            writer.write(record)
    # chunks close before a record would pass 10 bytes: [1,2,3,4] [5] [6] [7] [8]
    data, counts = path.read_bytes(), []
    while data:
        _, _, compressor, size, count = struct.unpack("<5I", data[:20])
        assert compressor == 2 and gzip.decompress(data[20:20 + size])
        counts.append(count)
        data = data[20 + size:]
    assert counts == [4, 1, 1, 1, 1]
    assert list(recordio.read_records(str(path))) == records


def test_a_hand_made_file_is_read(tmp_path):
    raw = b"\1\0\0\0A" + b"\2\0\0\0BC"
    chunk = struct.pack("<5I", 0x01020304, zlib.crc32(raw), 0, len(raw), 2) + raw
    zipped = gzip.compress(b"\3\0\0\0DEF")
    chunk2 = struct.pack("<5I", 0x01020304, zlib.crc32(zipped), 2, len(zipped), 1) + zipped
    (tmp_path / "f-0").write_bytes(chunk + chunk2)
    (tmp_path / "f-1").write_bytes(chunk)
    assert list(recordio.read_records(str(tmp_path / "f-*"))) == [b"A", b"BC", b"DEF",
                                                                  b"A", b"BC"]
    both = f"{tmp_path / 'f-1'},{tmp_path / 'f-0'}"   # comma-separated: in the given order
    assert list(recordio.read_records(both))[:3] == [b"A", b"BC", b"A"]


@pytest.mark.parametrize("damage, complaint", [
    (lambda d: b"\0" + d[1:], "not a RecordIO file"),
    (lambda d: d[:-1], "truncated or checksum"),
    (lambda d: d[:10], "truncated header"),
    (lambda d: d[:-1] + bytes([d[-1] ^ 1]), "checksum mismatch"),
])
def test_damaged_files_raise_recordio_error(tmp_path, damage, complaint):
    path = tmp_path / "r"
    with Writer(str(path)) as writer:
        writer.write(b"hello")
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(RecordIOError, match=complaint):
        list(recordio.read_records(str(path)))


def test_snappy_chunks_need_cramjam(tmp_path, monkeypatch):
    raw = b"\1\0\0\0A"
    chunk = struct.pack("<5I", 0x01020304, zlib.crc32(raw), 1, len(raw), 1) + raw
    (tmp_path / "s").write_bytes(chunk)
    monkeypatch.setitem(sys.modules, "cramjam", None)
    with pytest.raises(RecordIOError, match="Snappy.*pip install cramjam"):
        list(recordio.read_records(str(tmp_path / "s")))


def test_recordio_creator_unpickles_and_fails_early_on_no_match(tmp_path):
    samples = [(np.arange(3), 1), ([1, 2], "x"), None]
    with Writer(str(tmp_path / "d")) as writer:
        for sample in samples:
            writer.write(pickle.dumps(sample))
    for buf_size in (0, 1, 100):
        got = list(creator.recordio(str(tmp_path / "d"), buf_size)())
        assert np.array_equal(got[0][0], samples[0][0]) and got[1:] == samples[1:]
    with pytest.raises(FileNotFoundError, match="no file matches"):
        creator.recordio(str(tmp_path / "nothing-*"))


def test_writer_rejects_unknown_compressors(tmp_path):
    with pytest.raises(ValueError, match="compressor must be 0 .* or 2"):
        Writer(str(tmp_path / "w"), compressor=1)


# ---- PipeReader ----

def python_printing(text):
    """A command printing ``text`` (bytes) exactly (hex-coded, so no quoting gets in the way)."""
    return (f"{sys.executable} -c \"import sys; "
            f"sys.stdout.buffer.write(bytes.fromhex('{text.hex()}'))\"")


def test_pipe_reader_plain_lines():
    reader = paddle.reader.PipeReader(python_printing(b"ab\ncd\n\nlast"), bufsize=3)
    assert list(reader.get_line()) == ["ab", "cd", "", "last"]


def test_pipe_reader_gzip_and_other_line_breaks():
    data = gzip.compress("x;yé;z;".encode())
    reader = paddle.reader.PipeReader(python_printing(data), bufsize=5, file_type="gzip")
    assert list(reader.get_line(line_break=";")) == ["x", "yé", "z"]


def test_pipe_reader_uncut_buffers_join_to_the_text():
    reader = paddle.reader.PipeReader(python_printing(b"12345678"), bufsize=4)
    assert "".join(reader.get_line(cut_lines=False)) == "12345678"


def test_pipe_reader_argument_checks_and_failing_command():
    with pytest.raises(TypeError, match="command must be a string"):
        paddle.reader.PipeReader(["cat", "x"])
    with pytest.raises(ValueError, match="file_type must be one of"):
        paddle.reader.PipeReader("true", file_type="bz2")
    with pytest.raises(ValueError, match="bufsize must be a positive integer"):
        paddle.reader.PipeReader("true", bufsize=0)
    failing = paddle.reader.PipeReader(f"{sys.executable} -c \"import sys; sys.exit(3)\"")
    with pytest.raises(OSError, match="exited with status 3"):
        list(failing.get_line())


# ---- size 0 in buffered and shuffle, as v2 ----

def test_buffered_size_zero_reads_ahead_without_bound():
    import time

    produced = []

    def reader():
        for i in range(50):
            produced.append(i)
            yield i

    consumer = paddle.reader.buffered(reader, 0)()
    assert next(consumer) == 0
    deadline = time.time() + 3
    while len(produced) < 50 and time.time() < deadline:   # the thread is not held back
        time.sleep(0.01)
    assert len(produced) == 50
    assert list(consumer) == list(range(1, 50))


def test_shuffle_size_zero_passes_samples_through():
    assert list(paddle.reader.shuffle(counting(20), 0)()) == list(range(20))


# ---- paddle.dataset.common ----

def test_data_home_follows_the_variable_and_an_assignment(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIDL_DATA_HOME", str(tmp_path / "a"))
    assert common.DATA_HOME == str(tmp_path / "a")
    assert common.module_dir("mnist") == str(tmp_path / "a" / "mnist")
    common.DATA_HOME = str(tmp_path / "b")
    try:
        assert common.module_dir("mnist") == str(tmp_path / "b" / "mnist")
    finally:
        del common.DATA_HOME
    assert common.DATA_HOME == str(tmp_path / "a")


def test_split_and_cluster_files_reader_group_as_v2(tmp_path):
    # v2 closes a file after sample i when i >= line_count and i % line_count == 0
    common.split(counting(7), 2, suffix=str(tmp_path / "part-%05d.pickle"))
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["part-00000.pickle", "part-00001.pickle", "part-00002.pickle"]
    with open(tmp_path / "part-00000.pickle", "rb") as f:
        assert pickle.load(f) == [0, 1, 2]
    pattern = str(tmp_path / "part-*.pickle")
    assert list(common.cluster_files_reader(pattern, 1, 0)()) == list(range(7))
    assert list(common.cluster_files_reader(pattern, 2, 0)()) == [0, 1, 2, 5, 6]
    assert list(common.cluster_files_reader(pattern, 2, 1)()) == [3, 4]
    with pytest.raises(ValueError, match=r"trainer_id must be in \[0, 2\)"):
        common.cluster_files_reader(pattern, 2, 2)
    with pytest.raises(TypeError, match="dumper must be callable"):
        common.split(counting(3), 2, dumper=None)


def test_convert_writes_recordio_files_as_v2(tmp_path):
    paths = common.convert(str(tmp_path), counting(7), 2, "nums")
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["nums-00000", "nums-00001", "nums-00002",
                                                     "nums-00003"]
    # the groups of split, and like v2 a last file for the empty last group
    got = [list(creator.recordio(p)()) for p in paths]
    assert got == [[0, 1, 2], [3, 4], [5, 6], []]
    assert list(creator.recordio(str(tmp_path / "nums-*"))()) == list(range(7))
    with pytest.raises(ValueError, match="line_count must be a positive integer"):
        common.convert(str(tmp_path), counting(3), 0, "x")
