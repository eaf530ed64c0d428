"""Untrusted parameter files: size bombs in every format, gzip bombs, zero, empty and cut
files. Each must raise TarballError naming the member (or be read from its stored form)
fast and without allocating much more than the file -- from_tar, init_from_tar and the
inspector alike; the inspector exits 2 on them."""

import gzip
import io
import re
import struct
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from minidl.io import compact, tarball
from minidl.io.inspect import main as inspect_main
from minidl.io.paramconfig import ParameterConfig
from minidl.io.tar_write import _header, _padding
from minidl.layers.attrs import ParamAttr
from minidl.layers.data import data
from minidl.layers.data_types import dense_vector
from minidl.layers.fc import fc
from minidl.training.parameters import Parameters, create

SECONDS = 1.0
HUGE = 200_000_000            # values: 800 MB dense
HUGER = 3_000_000_000         # values: 12 GB dense


def config_bytes(name, size, dims=None):
    config = ParameterConfig(name=name, size=size)
    config.dims.extend(dims if dims is not None else [1, size])
    return config.SerializeToString()


def tar(*members):
    buffer = io.BytesIO()
    for name, payload in members:
        tarball.write_member(buffer, name, payload)
    return buffer.getvalue()


def dense_header(count, value_format=0):
    return struct.pack("<IIQ", value_format, 4, count)


def compact_member(count, entries=0, width=1, body=b""):
    return (dense_header(count, compact.COMPACT_FORMAT) + struct.pack("<IQ", width, entries)
            + body)


def bounded(function, *args, limit):
    """``(result or exception, peak bytes, seconds)`` of ``function(*args)``."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        outcome = function(*args)
    except Exception as error:  # noqa: BLE001 -- the caller checks it
        outcome = error
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert seconds < SECONDS, f"took {seconds:.2f} s"
    assert peak <= limit, f"allocated {peak:,} bytes, more than {limit:,}"
    return outcome


def small_multiple(raw):
    return 8 * len(raw) + (1 << 20)  # zlib's state and a read chunk: a constant


def assert_refused(raw, message, tmp_path, network=None, limit=None):
    """from_tar, init_from_tar (when a network is given) and the inspector all refuse."""
    limit = small_multiple(raw) if limit is None else limit
    error = bounded(Parameters.from_tar, io.BytesIO(raw), limit=limit)
    assert isinstance(error, tarball.TarballError), error
    assert message in str(error) or re.search(message, str(error)), str(error)
    if network is not None:
        error = bounded(network.init_from_tar, io.BytesIO(raw), limit=limit)
        assert isinstance(error, ValueError), error
    path = tmp_path / "hostile.tar"
    path.write_bytes(raw)
    assert bounded(inspect_main, [str(path)], limit=limit) == 2


def network_with(name, size):
    x = data("x", dense_vector(size))
    return create(fc(input=x, size=1, param_attr=ParamAttr(name=name), bias_attr=False))


# --- declared sizes against the bytes present -------------------------------------------

def test_dense_member_declaring_more_values_than_present(tmp_path):
    raw = tar(("w", dense_header(HUGE) + b"\1" * 1000), ("w.protobuf", config_bytes("w", HUGE)))
    assert_refused(raw, "member 'w' is truncated: its header says 200000000 values", tmp_path,
                   network=network_with("w", 13))


def test_tar_header_declaring_more_bytes_than_the_file(tmp_path):
    raw = tarball.member_header("w", 5 * 10**9) + dense_header(10**9) + b"\1" * 1000
    assert_refused(raw, "member 'w' is truncated: its tar header says 5000000000 bytes",
                   tmp_path)
    assert_refused(gzip.compress(raw), "member 'w' is truncated", tmp_path)


def test_compact_member_declaring_more_entries_than_present(tmp_path):
    raw = tar(("w", compact_member(HUGE, entries=10**9, body=b"\1" * 500)),
              ("w.protobuf", config_bytes("w", HUGE)))
    assert_refused(raw, r"'w' is truncated: its compact header says 1000000000 entries",
                   tmp_path)


def test_metadata_headers_declaring_huge_sizes(tmp_path):
    long_name = _header("././@LongLink", 10**9, typeflag=b"L", mode=0) + b"x" * 600
    assert_refused(long_name, "declares 1,000,000,000 bytes", tmp_path)
    pax = _header("././@PaxHeader", 10**9, typeflag=b"x") + b"x" * 600
    assert_refused(pax, "declares 1,000,000,000 bytes", tmp_path)
    record = b"20 size=90000000000\n"
    pax_size = (_header("././@PaxHeader", len(record), typeflag=b"x") + record
                + _padding(len(record)) + _header("w", 0) + b"\1" * 600)
    assert_refused(pax_size, "'w' is truncated: its tar header says 90000000000 bytes",
                   tmp_path)


def test_dims_that_overflow_64_bits_do_not_multiply_to_the_size(tmp_path):
    raw = tar(("w", dense_header(0)), ("w.protobuf", config_bytes("w", 0, [2**32, 2**32])))
    assert_refused(raw, r"dims \[4294967296, 4294967296\] do not multiply to size 0", tmp_path)


# --- compact members: inspected sparse, densified only to a declared shape ----------------

@pytest.mark.parametrize("count", [HUGE, HUGER])
def test_small_compact_file_declaring_a_huge_parameter(tmp_path, count):
    # a valid encoding: one nonzero, then zeros up to `count` -- 2 KB on disk
    body = struct.pack("<fB", 2.5, 5)
    raw = tar(("w", compact_member(count, entries=1, body=body)),
              ("w.protobuf", config_bytes("w", count, [count])))
    assert len(raw) == 2048
    limit = small_multiple(raw)
    # without a network nothing declares the shape: densifying is refused
    error = bounded(Parameters.from_tar, io.BytesIO(raw), limit=limit)
    assert isinstance(error, tarball.TarballError)
    assert f"declare {4 * count:,} bytes of values ('w'" in str(error)
    assert "init_from_tar" in str(error)
    # a network whose 'w' has another shape: refused before anything is densified
    network = network_with("w", 13)
    error = bounded(network.init_from_tar, io.BytesIO(raw), limit=limit)
    assert isinstance(error, ValueError) and f"({count},)" in str(error)
    assert "(13, 1)" in str(error)
    # the inspector reads the entries only
    path = tmp_path / "sparse.tar"
    path.write_bytes(raw)
    assert bounded(inspect_main, [str(path), "--json"], limit=limit) == 0


def test_compact_member_densifies_to_the_shape_the_network_declares():
    size = 3_000_000  # 12 MB dense from a 2 KB file: fine when the network has that shape
    raw = tar(("w", compact_member(size, entries=1, width=2, body=struct.pack("<fH", 7.0, 9))),
              ("w.protobuf", config_bytes("w", size, [size, 1])))
    with pytest.raises(tarball.TarballError, match="more than the 2,097,152 allowed"):
        Parameters.from_tar(io.BytesIO(raw))
    network = network_with("w", size)
    assert network.init_from_tar(io.BytesIO(raw)) == ["w"]
    values = network.get("w")
    assert values[8, 0] == 7.0 and np.count_nonzero(values) == 1
    assert Parameters.from_tar(io.BytesIO(raw), max_bytes=16 << 20).get("w")[8, 0] == 7.0


def test_members_the_network_lacks_are_skipped_unread():
    raw = tar(("w", compact_member(HUGE, entries=1, body=struct.pack("<fB", 1.0, 1))),
              ("w.protobuf", config_bytes("w", HUGE)),
              ("v", dense_header(13) + np.arange(13, dtype="<f4").tobytes()),
              ("v.protobuf", config_bytes("v", 13, [13, 1])))
    network = network_with("v", 13)
    assert bounded(network.init_from_tar, io.BytesIO(raw), limit=small_multiple(raw)) == ["v"]
    np.testing.assert_array_equal(network.get("v").ravel(), np.arange(13))


# --- gzip --------------------------------------------------------------------------------

def gzip_of_zeros(mebibytes, before=b""):
    """gzip data of ``before`` then ``mebibytes`` MiB of zeros (one member per MiB, as gzip
    allows: quick to build, about 1000:1 all the same)."""
    return gzip.compress(before) + gzip.compress(bytes(1 << 20), 9) * mebibytes


def test_gzip_of_zeros_is_refused_at_once(tmp_path):
    raw = gzip_of_zeros(300)
    assert len(raw) < 400_000
    assert_refused(raw, "no parameters: the file starts with a block of zero bytes", tmp_path)


def test_gzip_of_a_header_then_zeros_is_refused_at_the_value_header(tmp_path):
    raw = gzip_of_zeros(300, tarball.member_header("w", 300 << 20))
    assert_refused(raw, "'w' has a corrupt header: value size 0", tmp_path)


def test_gzip_bomb_of_well_formed_zeros_stops_at_the_ratio_limit(tmp_path):
    count = 75 << 18
    raw = gzip_of_zeros(300, tarball.member_header("w", 16 + 4 * count) + dense_header(count))
    ceiling = tarball.GZIP_MAX_RATIO * len(raw)
    # what inflates is kept up to the limit (100x the gzip, 29 MB here), not 300 MB
    assert_refused(raw, f"gzip data inflates to more than {ceiling:,} bytes", tmp_path,
                   limit=int(1.3 * ceiling) + 3 * tarball.CHUNK)
    with pytest.raises(tarball.TarballError, match="inflates to more than 1,000 bytes"):
        Parameters.from_tar(io.BytesIO(raw), max_bytes=1000)


def test_gzip_trailing_garbage_and_truncation():
    plain = tar(("w", dense_header(2) + b"\0" * 8), ("w.protobuf", config_bytes("w", 2)))
    packed = gzip.compress(plain)
    assert Parameters.from_tar(io.BytesIO(packed + gzip.compress(b"") + b"\0" * 7)).names() == [
        "w"]  # several members and zero padding, as gzip allows
    with pytest.raises(tarball.TarballError, match="unexpected bytes after"):
        Parameters.from_tar(io.BytesIO(packed + b"garbage"))
    with pytest.raises(tarball.TarballError, match="corrupt gzip data"):
        Parameters.from_tar(io.BytesIO(packed[:-12]))


# --- zero, empty, cut --------------------------------------------------------------------

@pytest.mark.parametrize("raw, message", [
    (b"", "empty file"),
    (b"\0" * 10240, "no parameters: the file starts with a block of zero bytes"),
    (b"\0" * 3, "no parameters"),
    (gzip.compress(b""), "empty file"),
    (gzip.compress(b"\0" * 10240), "no parameters"),
])
def test_zero_and_empty_files_are_not_empty_models(raw, message, tmp_path):
    assert_refused(raw, message, tmp_path)


def test_data_after_the_end_of_archive_block(tmp_path):
    plain = tar(("w", dense_header(2) + b"\0" * 8), ("w.protobuf", config_bytes("w", 2)))
    assert Parameters.from_tar(io.BytesIO(plain + bytes(20480))).names() == ["w"]
    assert_refused(plain + bytes(1024) + b"x", "unexpected data at byte 3072 after the "
                   "end-of-archive block", tmp_path)


def saved_model(compact_option):
    rng = np.random.default_rng(5)
    x = data("x", dense_vector(30))
    parameters = create(fc(input=fc(input=x, size=20), size=4))
    for name in parameters.names():
        values = parameters.get(name)
        values[rng.random(values.shape) < 0.9] = 0.0
        parameters.set(name, values)
    buffer = io.BytesIO()
    parameters.to_tar(buffer, compact=compact_option)
    return buffer.getvalue()


@pytest.mark.parametrize("compact_option", [False, True])
@pytest.mark.parametrize("zipped", [False, True])
def test_every_cut_is_refused_naming_what_is_missing(compact_option, zipped, tmp_path):
    raw = saved_model(compact_option)
    boundaries = set(range(0, len(raw) + 1, tarball.BLOCK))
    pairs = {b for b in boundaries if b > 0}  # cuts at a block boundary may end a pair
    cuts = sorted(set(range(0, len(raw), 97)) | {len(raw) - 1} | pairs)
    for cut in cuts:
        piece = raw[:cut]
        if zipped:
            piece = gzip.compress(piece)
        try:
            loaded = Parameters.from_tar(io.BytesIO(piece))
        except tarball.TarballError as error:
            text = str(error)
            assert text.startswith("BytesIO: ") and any(
                what in text for what in ("member", "empty file", "gzip", "not a tar archive",
                                          "tar header at byte")), text
            continue
        # only a cut between two whole pairs reads, and then gives whole parameters
        assert cut in pairs, cut
        assert len(loaded) > 0
    path = tmp_path / "cut.tar"
    half = raw[:len(raw) // 2 + 100]
    path.write_bytes(gzip.compress(half) if zipped else half)
    assert inspect_main([str(path)]) == 2


def test_truncated_compact_payload_names_the_member():
    parameters = Parameters.from_tar(io.BytesIO(saved_model(True)))
    name = parameters.names()[0]
    payload = b"".join(bytes(c) for c in compact.compact_payload(parameters.get(name)))
    raw = tar((name, payload[:-3]), (name + ".protobuf",
                                      parameters.config(name).SerializeToString()))
    with pytest.raises(tarball.TarballError, match=rf"'{name}' is truncated: its compact"):
        Parameters.from_tar(io.BytesIO(raw))


# --- what the readers never do -----------------------------------------------------------

def test_the_io_package_never_unpickles_or_evaluates():
    sources = list((Path(tarball.__file__).parent).glob("*.py"))
    readers = {"gunzip.py", "tar_input.py", "tar_read.py", "tarball.py", "value_members.py",
               "compact.py", "inspect.py"}
    assert readers <= {source.name for source in sources}
    for source in sources:
        text = source.read_text()
        for word in ("import pickle", "pickle.", "marshal", "eval(", "exec(", "np.load",
                     "allow_pickle"):
            assert word not in text, f"{source.name} uses {word}"
