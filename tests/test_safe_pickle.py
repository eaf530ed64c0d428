"""minidl.reader.safe_pickle: plain data and NumPy arrays load, any other global is refused
(used by CIFAR batches, creator.recordio and cluster_files_reader)."""

import os
import pickle

import numpy as np
import pytest

import minidl as paddle
from minidl.reader import safe_pickle


class Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_plain_data_and_arrays_round_trip(protocol):
    sample = {"x": np.arange(6, dtype=np.float32).reshape(2, 3), "y": [1, 2.5, "a", b"b"],
              "s": {1, 2}, "t": (np.int64(3), np.float32(0.5), None, True), "c": 1 + 2j}
    loaded = safe_pickle.loads(pickle.dumps(sample, protocol=protocol))
    np.testing.assert_array_equal(loaded["x"], sample["x"])
    assert loaded["x"].dtype == np.float32
    assert loaded["y"] == sample["y"] and loaded["s"] == {1, 2} and loaded["c"] == 1 + 2j
    assert loaded["t"] == sample["t"]


def test_other_globals_are_refused_naming_them():
    with pytest.raises(safe_pickle.UnsafePickleError,
                       match=r"refusing to unpickle (posix|nt)\.system"):
        safe_pickle.loads(pickle.dumps(Boom()), "evil.rec")


def test_recordio_reader_refuses_a_hostile_record(tmp_path):
    from minidl.reader.recordio import Writer
    path = tmp_path / "data-00000"
    with Writer(str(path)) as writer:
        writer.write(pickle.dumps((np.ones(2, np.float32), 1)))
        writer.write(pickle.dumps(Boom()))
    reader = paddle.reader.creator.recordio(str(path), buf_size=0)
    with pytest.raises(safe_pickle.UnsafePickleError, match="recordio record"):
        list(reader())
