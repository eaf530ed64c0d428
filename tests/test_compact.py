"""Compact parameter files (CSR, relative 8/16-bit indices), hooks in tarballs, file sizes."""

import gzip
import io
import os
import struct
import tarfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minidl as paddle
from minidl.layers.attrs import Hook, ParamAttr
from minidl.io import compact, tarball
from minidl.io.paramconfig import ParameterConfig, hooks_from_config
from minidl.training.parameters import Parameters
from minidl.pruning import file_sizes

W0 = "___fc_layer_0__.w0"
B0 = "___fc_layer_0__.wbias"
W1 = "___fc_layer_1__.w0"
B1 = "___fc_layer_1__.wbias"


def two_layer(hooks0=None, hooks1=None, n_in=40, hidden=50, n_out=8):
    x = paddle.layer.data("x", paddle.data_type.dense_vector(n_in))
    h = paddle.layer.fc(input=x, size=hidden,
                        param_attr=ParamAttr(update_hooks=hooks0) if hooks0 else None)
    out = paddle.layer.fc(input=h, size=n_out,
                          param_attr=ParamAttr(update_hooks=hooks1) if hooks1 else None)
    return paddle.parameters.create(out)


def prune(values, sparsity, rng):
    values = values.copy()
    values[rng.random(values.shape) < sparsity] = 0.0
    return values


def members_of(raw):
    """{name: bytes} read with Python's tarfile (independent of our reader)."""
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def naive_decode(payload):
    """The module docstring's layout, decoded with struct and a Python loop."""
    value_format, value_size, count = struct.unpack_from("<IIQ", payload, 0)
    width, entries = struct.unpack_from("<IQ", payload, 16)
    assert (value_format, value_size) == (0x6D430001, 4)
    values = struct.unpack_from(f"<{entries}f", payload, 28)
    steps = struct.unpack_from(f"<{entries}{'B' if width == 1 else 'H'}", payload,
                               28 + 4 * entries)
    dense = [0.0] * count
    position = -1
    for value, step in zip(values, steps):
        position += step
        dense[position] = value
    return np.array(dense, dtype=np.float32), width, list(steps), list(values)


def bits(array):
    return np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)


# --- the encoding ------------------------------------------------------------------------

def test_hand_worked_example_with_a_filler():
    """Nonzeros at 0, 3 and 300: steps 1, 3, then 297 = 255 (filler, value 0) + 42."""
    values = np.zeros(400, np.float32)
    values[[0, 3, 300]] = [1.5, -2.0, 0.25]
    payload = b"".join(bytes(c) for c in compact.compact_payload(values, width=1))
    dense, width, steps, entry_values = naive_decode(payload)
    assert width == 1 and steps == [1, 3, 255, 42]
    assert entry_values == [1.5, -2.0, 0.0, 0.25]
    assert len(payload) == 16 + 12 + 4 * (4 + 1)
    np.testing.assert_array_equal(dense, values)
    # 16-bit steps need no filler: 3 * (2 + 4) bytes beat 4 * (1 + 4), so they are chosen
    assert compact.compact_size(values, width=2) == 28 + 3 * 6
    assert compact.choose_width(compact.nonzero_positions(values)) == 2
    values[[100, 200]] = 1.0   # now 8-bit needs no filler either, and wins
    assert compact.choose_width(compact.nonzero_positions(values)) == 1


def test_long_gaps_choose_sixteen_bits_and_fillers_bridge_them():
    values = np.zeros(200_000, np.float32)
    values[[0, 199_999]] = [3.0, -4.0]
    gap = 199_999
    assert compact.entry_count(compact.nonzero_positions(values), 1) == 1 + -(-gap // 255)
    assert compact.entry_count(compact.nonzero_positions(values), 2) == 1 + -(-gap // 65535)
    payload = b"".join(bytes(c) for c in compact.compact_payload(values))
    dense, width, steps, _ = naive_decode(payload)
    assert width == 2 and steps == [1, 65535, 65535, 65535, gap - 3 * 65535]
    np.testing.assert_array_equal(dense, values)


@st.composite
def sparse_arrays(draw):
    size = draw(st.one_of(st.integers(1, 40), st.integers(41, 3000),
                          st.sampled_from([70_000, 140_000])))
    sparsity = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99, 1.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    values = rng.standard_normal(size).astype(np.float32)
    values[rng.random(size) < sparsity] = 0.0
    if draw(st.booleans()):  # a long zero run (fillers in 8 bits, maybe in 16 bits)
        start = draw(st.integers(0, size - 1))
        values[start:start + draw(st.integers(256, 70_000))] = 0.0
    specials = np.array([np.nan, np.inf, -np.inf, 1e-45, -3e38, -0.0], np.float32)
    picks = draw(st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, 5)), max_size=4))
    for index, which in picks:
        values[index] = specials[which]
    width = draw(st.sampled_from([None, 1, 2]))
    return values, width


@settings(max_examples=60, deadline=None)
@given(sparse_arrays())
def test_round_trip_is_bit_exact_except_negative_zero(case):
    values, width = case
    payload = b"".join(bytes(c) for c in compact.compact_payload(values, width))
    decoded = compact.decode_compact("w", payload, values.size)
    expected = np.where(values == 0, np.float32(0.0), values)  # -0.0 comes back as +0.0
    np.testing.assert_array_equal(bits(decoded), bits(expected))
    naive, used, steps, _ = naive_decode(payload)
    np.testing.assert_array_equal(bits(naive), bits(expected))
    assert len(payload) == compact.compact_size(values, width)
    top = 255 if used == 1 else 65535
    assert all(1 <= s <= top for s in steps)
    if width is None:  # the smaller of the two widths was chosen
        sizes = [compact.compact_size(values, w) for w in (1, 2)]
        assert len(payload) == min(sizes)


def test_bad_width_is_refused():
    with pytest.raises(ValueError, match="1 or 2"):
        compact.encode(np.ones(3, np.float32), width=4)


# --- tarballs ----------------------------------------------------------------------------

def test_compact_tar_is_detected_by_from_tar_with_mixed_members():
    rng = np.random.default_rng(1)
    parameters = two_layer()
    parameters.set(W0, prune(parameters.get(W0), 0.9, rng))
    parameters.set(B0, rng.standard_normal((1, 50)))        # dense: no zeros
    parameters.set(W1, prune(parameters.get(W1), 0.3, rng))  # below the threshold: dense
    buffer = io.BytesIO()
    parameters.to_tar(buffer, compact=True)
    raw = buffer.getvalue()
    formats = {name: struct.unpack_from("<I", data)[0]
               for name, data in members_of(raw).items() if not name.endswith(".protobuf")}
    assert formats == {W0: 0x6D430001, B0: 0, W1: 0, B1: 0x6D430001}  # B1: all zero
    protobuf = ParameterConfig.FromString(members_of(raw)[W0 + ".protobuf"])
    assert list(protobuf.dims) == [40, 50]
    loaded = Parameters.from_tar(io.BytesIO(raw))
    assert loaded.names() == parameters.names()
    for name in parameters.names():
        np.testing.assert_array_equal(bits(loaded.get(name)), bits(parameters.get(name) + 0.0))


def test_compact_option_leaves_dense_parameters_byte_identical():
    parameters = two_layer()
    parameters.set(B0, np.ones((1, 50)))
    parameters.set(B1, np.ones((1, 8)))
    dense, packed = io.BytesIO(), io.BytesIO()
    parameters.to_tar(dense)
    parameters.to_tar(packed, compact=True)
    assert dense.getvalue() == packed.getvalue()


def test_compact_threshold_is_respected():
    parameters = two_layer()
    rng = np.random.default_rng(2)
    parameters.set(W0, prune(parameters.get(W0), 0.7, rng))
    for threshold, expected in ((0.5, 0x6D430001), (0.8, 0)):
        buffer = io.BytesIO()
        parameters.to_tar(buffer, compact=True, compact_threshold=threshold)
        assert struct.unpack_from("<I", members_of(buffer.getvalue())[W0])[0] == expected


def test_compact_gz_path_round_trip_and_atomic_failure(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    parameters = two_layer()
    parameters.set(W0, prune(parameters.get(W0), 0.95, rng))
    path = tmp_path / "model.tar.gz"
    parameters.to_tar(path, compact=True)
    with gzip.open(path) as f:
        assert struct.unpack_from("<I", members_of(f.read())[W0])[0] == 0x6D430001
    loaded = Parameters.from_tar(path)
    np.testing.assert_array_equal(loaded.get(W0), parameters.get(W0))
    before = path.read_bytes()

    def failing(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(compact, "write_member", failing)
    with pytest.raises(OSError, match="disk full"):
        parameters.to_tar(path, compact=True)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.tar.gz"]


def compact_tar(payload, size=10, name="w"):
    config = ParameterConfig(name=name, size=size)
    config.dims.extend([1, size])
    buffer = io.BytesIO()
    tarball.write_member(buffer, name, payload)
    tarball.write_member(buffer, name + ".protobuf", config.SerializeToString())
    buffer.seek(0)
    return buffer


HEADER = struct.pack("<IIQ", 0x6D430001, 4, 10)


@pytest.mark.parametrize("payload, message", [
    (HEADER + struct.pack("<I", 1), "shorter than the 28-byte compact header"),
    (HEADER + struct.pack("<IQ", 3, 0), "index width 3"),
    (HEADER + struct.pack("<IQ", 1, 2) + struct.pack("<ffB", 1, 2, 1), "is truncated"),
    (HEADER + struct.pack("<IQ", 1, 1) + struct.pack("<fBB", 1, 1, 0), "extra bytes"),
    (HEADER + struct.pack("<IQ", 1, 2) + struct.pack("<ffBB", 1, 2, 1, 0), "index step 0"),
    (HEADER + struct.pack("<IQ", 1, 2) + struct.pack("<ffBB", 1, 2, 5, 6), "past its 10"),
    (struct.pack("<IIQ", 0x6D430001, 4, 11) + struct.pack("<IQ", 1, 0), "size 10"),
])
def test_corrupt_compact_members_name_the_member(payload, message):
    with pytest.raises(tarball.TarballError, match=message) as error:
        Parameters.from_tar(compact_tar(payload, name="fc.w0"))
    assert "'fc.w0'" in str(error.value)


def test_valid_hand_written_compact_member_loads():
    payload = HEADER + struct.pack("<IQ", 1, 2) + struct.pack("<ffBB", 1.5, -2.0, 2, 8)
    loaded = Parameters.from_tar(compact_tar(payload))
    expected = np.zeros((1, 10), np.float32)
    expected[0, [1, 9]] = [1.5, -2.0]
    np.testing.assert_array_equal(loaded.get("w"), expected)


# --- hooks survive the tarball ----------------------------------------------------------

def test_update_hooks_round_trip_through_the_tarball():
    dynamic = Hook("dynamic_pruning", upper_bound=0.9, inter_pass=2, end_pass=10)
    parameters = two_layer(hooks0=Hook("pruning", sparsity_ratio=0.75),
                           hooks1=[dynamic, Hook("pruning", sparsity_ratio=0.5)])
    for compact_option in (False, True):
        buffer = io.BytesIO()
        parameters.to_tar(buffer, compact=compact_option)
        raw = buffer.getvalue()
        saved = ParameterConfig.FromString(members_of(raw)[W1 + ".protobuf"])
        assert [(h.type, h.sparsity_ratio) for h in saved.update_hooks] == [
            ("dynamic_pruning", 0.9), ("pruning", 0.5)]
        loaded = Parameters.from_tar(io.BytesIO(raw))
        assert [(h.type, h.sparsity_ratio) for h in loaded.config(W0).update_hooks] == [
            ("pruning", 0.75)]
        assert loaded.hooks(W0) == [Hook("pruning", sparsity_ratio=0.75)]
        # the message has no schedule fields: the default schedule comes back
        assert loaded.hooks(W1) == [Hook("dynamic_pruning", upper_bound=0.9),
                                    Hook("pruning", sparsity_ratio=0.5)]
        assert loaded.hooks(B0) == [] and loaded.hooks(B1) == []
    assert parameters.hooks(W1) == [dynamic, Hook("pruning", sparsity_ratio=0.5)]


def test_unusable_saved_hook_names_the_parameter():
    config = ParameterConfig(name="fc.w0", size=1)
    config.update_hooks.add(type="pruning", sparsity_ratio=1.5)
    with pytest.raises(ValueError, match="fc.w0.*sparsity_ratio=1.5"):
        hooks_from_config(config)
    config = ParameterConfig(name="fc.w0", size=1)
    config.update_hooks.add(type="pruning")  # Paddle's default ratio
    assert hooks_from_config(config) == [Hook("pruning", sparsity_ratio=0.8)]


# --- sizes -----------------------------------------------------------------------------

def test_file_sizes_are_the_real_files_and_compact_matches_the_prediction(tmp_path):
    rng = np.random.default_rng(4)
    parameters = two_layer(n_in=100, hidden=200)
    parameters.set(W0, prune(parameters.get(W0), 0.9, rng))
    sizes = file_sizes(parameters)
    for name, options, expected in (("d.tar", {}, sizes.dense_tar),
                                    ("d.tar.gz", {}, sizes.dense_tar_gz),
                                    ("c.tar", {"compact": True}, sizes.compact_tar),
                                    ("c.tar.gz", {"compact": True}, sizes.compact_tar_gz)):
        parameters.to_tar(tmp_path / name, **options)
        assert os.path.getsize(tmp_path / name) == expected, name
    row = {p.name: p for p in sizes.parameters}[W0]
    nonzeros = np.count_nonzero(parameters.get(W0))
    positions = np.flatnonzero(parameters.get(W0))
    fillers = int(np.sum((np.diff(positions, prepend=-1) - 1) // 255))
    assert row.stored == "compact" and row.dense_bytes == 16 + 4 * 20_000
    assert row.stored_bytes == 28 + 5 * (nonzeros + fillers)
    assert row.stored_bytes < 1.02 * (28 + 5 * nonzeros)       # ~ 1 + 4 bytes per nonzero
    assert row.stored_bytes < 0.15 * row.dense_bytes           # 10 % kept, 5/4 the bytes each
    assert sizes.compact_tar < sizes.dense_tar - 60_000
    assert sizes.compact_tar_gz < sizes.dense_tar_gz
    text = sizes.format()
    assert f"{sizes.compact_tar:,}" in text and "compact tar.gz" in text
