"""Paddle v2 parameter tarballs: byte compatibility with a real file, round trips, errors."""

import gzip
import io
import math
import os
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minidl.layers.activations import Linear
from minidl.layers.attrs import ParamAttr
from minidl.core import Tensor
from minidl.layers.data_types import dense_vector
from minidl.io import tarball
from minidl.io.paramconfig import ParameterConfig
from minidl.layers.data import data
from minidl.layers.fc import fc
from minidl.layers.graph import Network, RunContext
from minidl.training.parameters import Parameters, create

FIXTURE = Path(__file__).parent / "fixtures" / "paddle_v2" / "fit_a_line.tar"
W0 = "___fc_layer_0__.w0"
BIAS = "___fc_layer_0__.wbias"
# The values listed in fixtures/paddle_v2/README.md, as Paddle saved them.
README_W0 = [-0.81704, 2.0272763, -3.1779928, 3.9498072, -1.9357661, 9.428507, -0.91281337,
             -2.9306011, 0.07729121, -2.631866, -7.443473, 1.7943598, -10.864289]
README_BIAS = 22.632673


def raw_fixture_values():
    """w0 and the bias decoded straight from the file's layout, without our reader.

    Each value member's data starts after its 512-byte tar header and 16-byte value header;
    the bias member is the third member (after w0's 2 blocks and w0.protobuf's 2 blocks).
    """
    raw = FIXTURE.read_bytes()
    w0 = np.frombuffer(raw, dtype="<f4", count=13, offset=512 + 16)
    bias = np.frombuffer(raw, dtype="<f4", count=1, offset=4 * 512 + 512 + 16)
    return w0.astype(np.float32), bias.astype(np.float32)


def fit_a_line():
    x = data("x", dense_vector(13))
    return fc(input=x, size=1, act=Linear())


def fixture_bytes():
    return FIXTURE.read_bytes()


def tar_of(members, terminate=False):
    """A tar written by Python's own tarfile (independent of our writer)."""
    buffer = io.BytesIO()
    tar = tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT)
    for name, payload in members:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    if terminate:
        tar.close()
    return buffer.getvalue()


def config_bytes(name, size, dims=None):
    config = ParameterConfig(name=name, size=size)
    config.dims.extend(dims if dims is not None else [1, size])
    return config.SerializeToString()


def value_bytes(values, count=None, value_format=0, value_size=4):
    values = np.asarray(values, dtype="<f4")
    count = values.size if count is None else count
    return struct.pack("<IIQ", value_format, value_size, count) + values.tobytes()


# --- the real file ---------------------------------------------------------------------

def test_to_tar_reproduces_paddles_file_byte_for_byte():
    w0, bias = raw_fixture_values()
    parameters = create(fit_a_line())
    parameters.set(W0, w0.reshape(13, 1))
    parameters.set(BIAS, bias.reshape(1, 1))
    out = io.BytesIO()
    parameters.to_tar(out)
    assert out.getvalue() == fixture_bytes()


def test_from_tar_reads_the_readme_values_exactly():
    with open(FIXTURE, "rb") as f:
        parameters = Parameters.from_tar(f)
    assert parameters.names() == [W0, BIAS]
    assert parameters.get_shape(W0) == (13, 1)
    assert parameters.get_shape(BIAS) == (1, 1)
    w0 = parameters.get(W0)
    assert w0.dtype == np.float32
    raw_w0, raw_bias = raw_fixture_values()
    np.testing.assert_array_equal(w0.ravel(), raw_w0)
    np.testing.assert_array_equal(parameters.get(BIAS).ravel(), raw_bias)
    # The README prints 8 significant digits: 12 of 13 weights and the bias parse to the
    # very same float32; 0.07729121 is one unit in the last place from 0.077291206.
    np.testing.assert_array_max_ulp(w0.ravel(), np.array(README_W0, dtype=np.float32), maxulp=1)
    assert np.sum(w0.ravel() == np.array(README_W0, dtype=np.float32)) == 12
    assert parameters.get(BIAS)[0, 0] == np.float32(README_BIAS)
    config = parameters.config(W0)
    assert (config.size, list(config.dims), config.initial_smart) == (13, [13, 1], True)
    assert config.initial_std == 1 / math.sqrt(13)
    bias = parameters.config(BIAS)
    assert (bias.size, list(bias.dims), bias.initial_smart, bias.initial_std) == (1, [1, 1],
                                                                                 False, 0.0)
    assert parameters.spec(W0) is None


def test_loaded_fixture_predicts_x_dot_w0_plus_b():
    y = fit_a_line()
    parameters = create(y)
    parameters.init_from_tar(str(FIXTURE))
    x = np.random.default_rng(0).normal(size=(5, 13)).astype(np.float32)
    network = Network(y)
    ctx = RunContext({name: Tensor(parameters.compute_view(name)) for name in parameters})
    predicted = network.forward({"x": x}, ctx)[y.name].data
    expected = x.astype(np.float64) @ np.array(README_W0) + README_BIAS
    np.testing.assert_allclose(predicted.ravel(), expected, rtol=1e-5, atol=1e-4)


def test_fixture_round_trips_to_identical_bytes():
    out = io.BytesIO()
    Parameters.from_tar(io.BytesIO(fixture_bytes())).to_tar(out)
    assert out.getvalue() == fixture_bytes()


def test_written_tar_reads_with_pythons_tarfile():
    tar = tarfile.open(fileobj=io.BytesIO(fixture_bytes()))
    ours = io.BytesIO()
    create(fit_a_line()).to_tar(ours)
    ours.seek(0)
    listed = [(m.name, m.size, m.mode, m.mtime, m.uid, m.uname) for m in tarfile.open(fileobj=ours)]
    assert listed == [(m.name, m.size, m.mode, m.mtime, m.uid, m.uname) for m in tar]


# --- compressed, terminated, paths ----------------------------------------------------

def test_reads_gzip_from_path_and_file_objects(tmp_path):
    path = tmp_path / "params.tar.gz"
    path.write_bytes(gzip.compress(fixture_bytes()))
    for source in (path, str(path), open(path, "rb"), gzip.open(path, "rb"),
                   io.BytesIO(path.read_bytes())):
        parameters = Parameters.from_tar(source)
        np.testing.assert_array_equal(parameters.get(W0).ravel(), raw_fixture_values()[0])
        if hasattr(source, "close"):
            source.close()


def test_to_tar_gz_path_is_gzip_of_the_plain_bytes_and_deterministic(tmp_path):
    parameters = Parameters.from_tar(FIXTURE)
    first, second = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    parameters.to_tar(first)
    parameters.to_tar(second)
    assert first.read_bytes()[:2] == b"\x1f\x8b"
    assert gzip.decompress(first.read_bytes()) == fixture_bytes()
    assert first.read_bytes() == second.read_bytes()
    with gzip.open(tmp_path / "d.tar.gz", "wb") as f:
        parameters.to_tar(f)
    assert gzip.decompress((tmp_path / "d.tar.gz").read_bytes()) == fixture_bytes()
    plain = tmp_path / "c.tar"
    parameters.to_tar(plain)
    assert plain.read_bytes() == fixture_bytes()


def test_terminated_and_record_padded_tars_read_the_same():
    for raw in (fixture_bytes() + b"\0" * 1024, fixture_bytes() + b"\0" * (10240 - 4096)):
        parameters = Parameters.from_tar(io.BytesIO(raw))
        np.testing.assert_array_equal(parameters.get(BIAS), [[np.float32(README_BIAS)]])


def test_reads_a_tar_written_by_tarfile_with_end_blocks():
    raw = tar_of([("p", value_bytes([1, 2, 3])), ("p.protobuf", config_bytes("p", 3, [3]))],
                 terminate=True)
    parameters = Parameters.from_tar(io.BytesIO(raw))
    np.testing.assert_array_equal(parameters.get("p"), [1, 2, 3])
    assert parameters.get_shape("p") == (3,)


def test_config_without_dims_reads_as_one_row():
    raw = tar_of([("p", value_bytes(np.arange(6))), ("p.protobuf", config_bytes("p", 6, []))])
    parameters = Parameters.from_tar(io.BytesIO(raw))
    assert parameters.get_shape("p") == (1, 6)
    np.testing.assert_array_equal(parameters.get("p"), np.arange(6).reshape(1, 6))


def test_empty_archive_is_not_an_empty_model():
    # a zero-filled file and a tar of end-of-archive blocks only: nothing Paddle writes
    for raw in (b"\0" * 1024, tar_of([], terminate=True)):
        with pytest.raises(tarball.TarballError, match="no parameters.*zero"):
            Parameters.from_tar(io.BytesIO(raw))


# --- round trips -----------------------------------------------------------------------

def multi_layer_network():
    from minidl.v2.layer import img_conv
    image = data("image", dense_vector(2 * 6 * 6), height=6, width=6)
    conv = img_conv(input=image, filter_size=3, num_filters=4, num_channels=2)
    other = data("other", dense_vector(5))
    hidden = fc(input=[conv, other], size=7,
                param_attr=[ParamAttr(learning_rate=0.5), ParamAttr(initial_std=0.3)])
    return fc(input=hidden, size=3, act=Linear(), bias_attr=ParamAttr(l2_rate=0.1))


def test_multi_layer_round_trip_keeps_names_shapes_values_and_configs():
    parameters = create(multi_layer_network())
    out = io.BytesIO()
    parameters.to_tar(out)
    loaded = Parameters.from_tar(io.BytesIO(out.getvalue()))
    assert loaded.names() == parameters.names()
    assert len(loaded) == 7  # conv w0, wbias; hidden w0, w1, wbias; output w0, wbias
    for name in parameters:
        assert loaded.get_shape(name) == parameters.get_shape(name)
        np.testing.assert_array_equal(loaded.get(name), parameters.get(name))
        assert loaded.config(name) == parameters.config(name)
    assert loaded.get_shape("___conv_0__.w0") == (1, 4 * 2 * 3 * 3)
    again = io.BytesIO()
    loaded.to_tar(again)
    assert again.getvalue() == out.getvalue()


def test_long_parameter_names_round_trip():
    name = "a_parameter_name_" + "x" * 120
    x = data("x", dense_vector(3))
    parameters = create(fc(input=x, size=2, param_attr=ParamAttr(name=name), bias_attr=False))
    out = io.BytesIO()
    parameters.to_tar(out)
    assert [m.name for m in tarfile.open(fileobj=io.BytesIO(out.getvalue()))] == [
        name, name + ".protobuf"]
    loaded = Parameters.from_tar(io.BytesIO(out.getvalue()))
    np.testing.assert_array_equal(loaded.get(name), parameters.get(name))


def test_init_from_tar_copies_shared_names_only():
    source = create(fit_a_line())
    source.set(W0, np.arange(13, dtype=np.float32).reshape(13, 1))
    source.set(BIAS, np.array([[5.0]], dtype=np.float32))
    raw = io.BytesIO()
    source.to_tar(raw)

    x = data("x", dense_vector(13))
    target = create([fc(input=x, size=1, name="__fc_layer_0__"), fc(input=x, size=2, name="b")])
    before = {name: target.get(name) for name in target}
    copied = target.init_from_tar(io.BytesIO(raw.getvalue()), exclude_params=[BIAS])
    assert copied == [W0]
    np.testing.assert_array_equal(target.get(W0), source.get(W0))
    np.testing.assert_array_equal(target.get(BIAS), before[BIAS])
    np.testing.assert_array_equal(target.get("_b.w0"), before["_b.w0"])


def test_init_from_tar_ignores_members_the_network_lacks():
    x = data("x", dense_vector(13))
    target = create(fc(input=x, size=1, act=Linear(), bias_attr=False))
    assert target.init_from_tar(FIXTURE) == [W0]
    np.testing.assert_array_equal(target.get(W0).ravel(), raw_fixture_values()[0])


def test_init_from_tar_shape_mismatch_names_the_member_and_changes_nothing():
    x = data("x", dense_vector(13))
    # w0 matches the file; the bias has size 2 where the file's has 1
    target = create(fc(input=x, size=1, act=Linear()))
    raw = tar_of([
        (W0, value_bytes(np.ones(13))), (W0 + ".protobuf", config_bytes(W0, 13, [13, 1])),
        (BIAS, value_bytes([1, 2])), (BIAS + ".protobuf", config_bytes(BIAS, 2, [1, 2]))])
    before = target.get(W0)
    with pytest.raises(ValueError, match=r"___fc_layer_0__\.wbias.*\(1, 2\).*\(1, 1\)"):
        target.init_from_tar(io.BytesIO(raw))
    np.testing.assert_array_equal(target.get(W0), before)


# --- errors that name the member -------------------------------------------------------

def pair(name, values, config=None, **header):
    values = np.asarray(values, dtype=np.float32)
    return [(name, value_bytes(values, **header)),
            (name + ".protobuf", config if config is not None
             else config_bytes(name, values.size))]


@pytest.mark.parametrize("members, message", [
    (pair("p", [1, 2, 3], count=4), r"'p'.*holds 4 values.*size 3"),
    ([("p", value_bytes([1, 2], count=3)), ("p.protobuf", config_bytes("p", 3))],
     r"'p' is truncated: its header says 3 values \(12 bytes\), only 8"),
    ([("p", value_bytes([1, 2, 3, 4])), ("p.protobuf", config_bytes("p", 3))],
     r"'p' holds 4 values"),
    ([("p", value_bytes([1, 2, 3]) + b"xyz1"), ("p.protobuf", config_bytes("p", 3))],
     r"'p' has 4 bytes after its 3 values"),
    ([("p", b"\0" * 10), ("p.protobuf", config_bytes("p", 3))], r"'p' is truncated.*10 bytes"),
    (pair("p", [1, 2, 3], value_format=7), r"'p' has a corrupt header: value format 7"),
    (pair("p", [1, 2, 3], value_size=8), r"'p' has a corrupt header: value size 8"),
    (pair("p", [1, 2, 3], config=b"\xff\xff\xff garbage"), r"'p\.protobuf' is not a valid"),
    (pair("p", [1, 2, 3], config=ParameterConfig(size=3).SerializePartialToString()),
     r"'p\.protobuf' is not a valid.*name"),
    (pair("p", [1, 2, 3], config=config_bytes("q", 3)), r"'p\.protobuf' describes .*'q'"),
    (pair("p", [1, 2, 3], config=config_bytes("p", 3, [2, 2])),
     r"'p\.protobuf': dims \[2, 2\] do not multiply to size 3"),
    (pair("p", [1, 2, 3])[:1], r"value member 'p' has no p\.protobuf"),
    (pair("p", [1, 2, 3])[1:], r"p\.protobuf has no value member 'p'"),
    (pair("p", [1, 2, 3]) + [("p", b"")], r"'p' appears twice"),
])
def test_corrupt_tarballs_raise_naming_the_member(members, message):
    with pytest.raises(tarball.TarballError, match=message):
        Parameters.from_tar(io.BytesIO(tar_of(members)))


def test_truncated_file_names_the_cut_member():
    raw = fixture_bytes()
    cut = raw.index(b"___fc_layer_0__.wbias") + 512 + 10  # 10 bytes into wbias's data
    with pytest.raises(ValueError, match=r"'___fc_layer_0__\.wbias' is truncated.*20 bytes"):
        Parameters.from_tar(io.BytesIO(raw[:cut]))


def test_cut_inside_a_tar_header_is_reported():
    raw = fixture_bytes()
    cut = raw.index(b"___fc_layer_0__.wbias") + 200
    with pytest.raises(ValueError, match=r"truncated tar header.*w0\.protobuf"):
        Parameters.from_tar(io.BytesIO(raw[:cut]))


def test_trailing_garbage_is_reported():
    with pytest.raises(ValueError, match="corrupt or truncated tar header at byte 4096"):
        Parameters.from_tar(io.BytesIO(fixture_bytes() + b"not a tar header" * 40))


@pytest.mark.parametrize("raw", [b"this is not a tar file at all" * 30, b"x", b"\x1f\x8bnope", b""])
def test_garbage_is_not_a_tarball(raw):
    with pytest.raises(ValueError, match="not a tar archive|corrupt gzip|empty file"):
        Parameters.from_tar(io.BytesIO(raw))


def test_non_regular_member_is_rejected():
    buffer = io.BytesIO()
    tar = tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT)
    info = tarfile.TarInfo("somedir")
    info.type = tarfile.DIRTYPE
    tar.addfile(info)
    with pytest.raises(ValueError, match="'somedir' is not a regular file"):
        Parameters.from_tar(io.BytesIO(buffer.getvalue()))


def test_text_mode_files_are_refused(tmp_path):
    parameters = create(fit_a_line())
    with open(tmp_path / "t.tar", "w") as f:
        with pytest.raises(TypeError, match="binary mode 'wb'"):
            parameters.to_tar(f)
    with pytest.raises(TypeError, match="binary mode 'wb'"):
        parameters.to_tar(io.StringIO())
    for encoding in ("latin-1", "utf-8"):  # utf-8 could not even decode the bytes
        with open(FIXTURE, encoding=encoding) as f:
            with pytest.raises(TypeError, match="binary mode 'rb'"):
                Parameters.from_tar(f)


# --- atomic saves ----------------------------------------------------------------------

def test_interrupted_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "params.tar"
    path.write_bytes(fixture_bytes())
    os.chmod(path, 0o640)
    parameters = create(multi_layer_network())
    real_write_member = tarball.write_member
    calls = []

    def failing_write_member(fileobj, name, *chunks):
        calls.append(name)
        if len(calls) == 3:
            fileobj.write(b"half a header")
            raise OSError("disk full")
        real_write_member(fileobj, name, *chunks)

    monkeypatch.setattr(tarball, "write_member", failing_write_member)
    with pytest.raises(OSError, match="disk full"):
        parameters.to_tar(path)
    assert path.read_bytes() == fixture_bytes()
    assert sorted(os.listdir(tmp_path)) == ["params.tar"]

    monkeypatch.setattr(tarball, "write_member", real_write_member)
    parameters.to_tar(path)
    assert os.stat(path).st_mode & 0o777 == 0o640
    loaded = Parameters.from_tar(path)
    np.testing.assert_array_equal(loaded.get("___conv_0__.w0"), parameters.get("___conv_0__.w0"))
    assert sorted(os.listdir(tmp_path)) == ["params.tar"]


@given(cut=st.integers(0, 4095), flips=st.lists(st.tuples(st.integers(0, 4095),
                                                          st.integers(0, 255)), max_size=3))
def test_damaged_files_fail_with_tarball_errors_or_load_whole_pairs(cut, flips):
    raw = bytearray(fixture_bytes())
    for position, byte in flips:
        raw[position] = byte
    try:
        parameters = Parameters.from_tar(io.BytesIO(bytes(raw[:cut])))
    except tarball.TarballError:
        return
    # the only cut that still reads is the boundary between the two parameters
    assert cut == 2048 and parameters.names() == [W0]
