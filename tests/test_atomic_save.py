"""Saving by path: a checkpoint survives a kill at any point, and nothing is left behind."""

import os
import random
import signal
import sys
import time

import numpy as np
import pytest

from minidl.io import atomic
from minidl.layers.data import data
from minidl.layers.data_types import dense_vector
from minidl.layers.fc import fc
from minidl.training.parameters import Parameters, create


def model(width=256):
    x = data("x", dense_vector(width))
    return create(fc(input=fc(input=x, size=width), size=10))  # ~270 KB of values


def fill(parameters, value):
    for name in parameters.names():
        parameters.set(name, np.full(parameters.get_shape(name), value, np.float32))


def checkpoint_value(path):
    """The one value every parameter holds in the checkpoint at ``path`` (it must be whole)."""
    loaded = Parameters.from_tar(path)
    values = {float(v) for name in loaded.names() for v in np.unique(loaded.get(name))}
    assert len(values) == 1, f"a mixed checkpoint: {sorted(values)[:5]}"
    return values.pop()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("name", ["ckpt.tar", "ckpt.tar.gz"])
def test_a_save_killed_at_random_points_never_loses_the_checkpoint(tmp_path, name):
    parameters = model()
    path = tmp_path / name
    fill(parameters, -1.0)
    parameters.to_tar(path)
    rng = random.Random(1234)
    left_behind = 0
    for trial in range(10 if name.endswith(".gz") else 20):
        before = checkpoint_value(path)
        pid = os.fork()
        if pid == 0:  # the child: save new checkpoints in a loop until killed
            try:
                value = float(trial * 100_000)
                while True:
                    value += 1
                    fill(parameters, value)
                    parameters.to_tar(path)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        after = checkpoint_value(path)  # a whole checkpoint: the old one or a new one
        assert after == before or trial * 100_000 < after < (trial + 1) * 100_000
        left_behind += len(os.listdir(tmp_path)) > 1
        fill(parameters, before)
        parameters.to_tar(path)  # the next save cleans up what the killed one left
        assert os.listdir(tmp_path) == [name]
    print(f"{left_behind} kills left a temporary file", file=sys.stderr)


def test_exceptions_of_every_kind_remove_the_temporary_file(tmp_path):
    path = tmp_path / "params.tar"
    path.write_bytes(b"old")
    for error in (OSError("disk full"), KeyboardInterrupt(), TypeError("bad value")):
        with pytest.raises(type(error)):
            with atomic.atomic_write(path) as f:
                f.write(b"new, half written")
                raise error
        assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["params.tar"]


def test_errors_name_the_target_not_the_temporary_file(tmp_path, monkeypatch):
    parameters = model(4)
    missing = tmp_path / "no" / "such" / "dir" / "params.tar"
    with pytest.raises(FileNotFoundError) as error:
        parameters.to_tar(missing)
    assert error.value.filename == str(missing)
    assert str(tmp_path / "no" / "such" / "dir") in str(error.value)
    assert ".tmp" not in str(error.value)

    path = tmp_path / "params.tar"

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left") as error:
        parameters.to_tar(path)
    assert error.value.filename == str(path) and ".tmp" not in str(error.value)
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_a_symbolic_link_is_followed_not_replaced(tmp_path):
    parameters = model(4)
    (tmp_path / "runs").mkdir()
    real = tmp_path / "runs" / "model-7.tar"
    link = tmp_path / "latest.tar"
    link.symlink_to(real)          # dangling at first: the save creates its target
    fill(parameters, 1.0)
    parameters.to_tar(link)
    assert link.is_symlink() and real.is_file()
    fill(parameters, 2.0)
    parameters.to_tar(link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert checkpoint_value(real) == 2.0
    assert sorted(os.listdir(tmp_path)) == ["latest.tar", "runs"]
    assert os.listdir(tmp_path / "runs") == ["model-7.tar"]


def dead_pid():
    """A process id no process has (the highest ids are the least likely to be in use)."""
    for pid in range(4_194_000, 4_000_000, -1):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except OSError:
            continue
    pytest.skip("no unused process id found")


@pytest.mark.skipif(os.name != "posix", reason="process ids and locks are POSIX")
def test_only_stale_temporary_files_of_the_same_target_are_cleaned(tmp_path):
    path = tmp_path / "params.tar"
    stale = tmp_path / f".params.tar.{dead_pid()}.0123456789ab.tmp"
    live = tmp_path / f".params.tar.{os.getppid()}.0123456789ab.tmp"   # a live process
    legacy_old = tmp_path / ".params.tar.aaaaaaaaaaaa.tmp"               # no pid: by age
    legacy_new = tmp_path / ".params.tar.bbbbbbbbbbbb.tmp"
    other = tmp_path / f".other.tar.{dead_pid()}.0123456789ab.tmp"       # another target
    unrelated = tmp_path / "notes.tmp"
    for file in (stale, live, legacy_old, legacy_new, other, unrelated):
        file.write_bytes(b"half a checkpoint")
    hour_ago = time.time() - 2 * atomic.LEGACY_STALE_AFTER
    os.utime(legacy_old, (hour_ago, hour_ago))
    model(4).to_tar(path)
    assert sorted(os.listdir(tmp_path)) == sorted(
        p.name for p in (path, live, legacy_new, other, unrelated))


@pytest.mark.skipif(os.name != "posix", reason="flock is POSIX")
def test_a_file_being_written_is_never_cleaned_even_if_its_pid_looks_dead(tmp_path):
    # (a writer on another host of a shared file system: its pid means nothing here)
    import fcntl
    path = tmp_path / "params.tar"
    busy = tmp_path / f".params.tar.{dead_pid()}.0123456789ab.tmp"
    with open(busy, "wb") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        model(4).to_tar(path)
        assert busy.exists()
    model(4).to_tar(path)
    assert os.listdir(tmp_path) == ["params.tar"]


def test_temporary_names_carry_the_target_and_the_pid(tmp_path):
    name = atomic.temporary_name(tmp_path / "params.tar")
    assert name.startswith(f".params.tar.{os.getpid()}.") and name.endswith(".tmp")
    assert atomic._temporary_pattern(str(tmp_path / "params.tar")).fullmatch(name)
