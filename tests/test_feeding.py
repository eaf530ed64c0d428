"""Feeding: mapping sample fields to data layers, and clear errors for bad samples."""

import numpy as np
import pytest

from minidl.layers import data_types as data_type
from minidl.v2 import layer
from minidl.training.feeding import Feeder, FeedError


def _layers():
    image = layer.data("image", data_type.dense_vector(4))
    label = layer.data("label", data_type.integer_value(3))
    return [image, label]


def test_default_feeding_uses_definition_order():
    feed = Feeder(_layers())([([1, 2, 3, 4], 2), ([0, 0, 0, 1], 0)])
    np.testing.assert_array_equal(feed["image"], [[1, 2, 3, 4], [0, 0, 0, 1]])
    assert feed["image"].dtype == np.float32
    np.testing.assert_array_equal(feed["label"], [2, 0])
    assert feed["label"].dtype == np.int64


def test_dict_and_list_feeding():
    batch = [(1, np.arange(4.0))]
    by_dict = Feeder(_layers(), {"image": 1, "label": 0})(batch)
    by_list = Feeder(_layers(), ["label", "image"])(batch)
    for feed in (by_dict, by_list):
        np.testing.assert_array_equal(feed["image"], [[0, 1, 2, 3]])
        np.testing.assert_array_equal(feed["label"], [1])


@pytest.mark.parametrize("batch,message", [
    ([([1, 2, 3], 0)], "data layer image expects a vector of 4 values, sample 0 has 3"),
    ([([1, 2, 3, 4], 3)], "label 3 of sample 0 is out of range [0, 3)"),
    ([([1, 2, 3, 4], 1.5)], "data layer label expects an integer in [0, 3)"),
    ([([1, 2, 3, 4],)], "data layer label reads field 1, but sample 0 has only 1 field"),
    ([], "non-empty list of samples"),
])
def test_bad_samples_name_the_layer_and_expected_value(batch, message):
    with pytest.raises(FeedError) as info:
        Feeder(_layers())(batch)
    assert message in str(info.value)


def test_feeding_missing_a_data_layer():
    with pytest.raises(FeedError, match=r"no field for data layer\(s\) \['label'\]"):
        Feeder(_layers(), {"image": 0})


def test_batches_stack_in_one_pass_and_still_name_a_bad_sample():
    """Uniform batches (ints, equal-length lists, arrays of one shape) take the vectorised
    path; its result equals the sample-by-sample one, and a bad value is still named."""
    import minidl as paddle
    from minidl.training.feeding import Feeder, FeedError
    image = paddle.layer.data("image", paddle.data_type.dense_vector(6))
    label = paddle.layer.data("label", paddle.data_type.integer_value(4))
    feeder = Feeder([image, label])
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 3)) for _ in range(5)]
    labels = [0, 3, 1, 2, 3]
    fed = feeder([(a, k) for a, k in zip(arrays, labels)])
    np.testing.assert_array_equal(fed["image"], np.stack(arrays).reshape(5, 6).astype(np.float32))
    np.testing.assert_array_equal(fed["label"], labels)
    as_lists = feeder([(a.ravel().tolist(), [k]) for a, k in zip(arrays, labels)])
    np.testing.assert_array_equal(as_lists["image"], fed["image"])
    np.testing.assert_array_equal(as_lists["label"], labels)
    with pytest.raises(FeedError, match="label 4 of sample 2 is out of range"):
        feeder([(a, k) for a, k in zip(arrays, [0, 1, 4, 2, 3])])
    with pytest.raises(FeedError, match="sample 1 has 5"):
        feeder([(np.zeros(6), 0), (np.zeros(5), 1)])


def test_consecutive_rows_of_one_array_are_fed_without_a_copy():
    """Samples of 32 KB or more that are consecutive rows of one float32 array become the
    batch as a read-only view of that array; any other arrangement is copied, with equal
    values."""
    dim = 8192                                   # 32 KB a sample
    image = layer.data("image", data_type.dense_vector(dim))
    feeder = Feeder([image])
    batch = np.arange(5 * dim, dtype=np.float32).reshape(5, dim)
    fed = feeder([(row,) for row in batch])["image"]
    assert np.shares_memory(fed, batch) and not fed.flags.writeable
    np.testing.assert_array_equal(fed, batch)
    with pytest.raises(ValueError, match="read-only"):
        fed[0, 0] = 1.0
    middle = feeder([(batch[i],) for i in (1, 2, 3)])["image"]
    assert np.shares_memory(middle, batch)
    np.testing.assert_array_equal(middle, batch[1:4])
    flat = batch.copy().reshape(-1).copy()       # rows cut from a 1-D array: a strided view
    fed = feeder([(flat[i * dim:(i + 1) * dim],) for i in range(3)])["image"]
    assert flat.base is None and np.shares_memory(fed, flat) and not fed.flags.writeable
    np.testing.assert_array_equal(fed, batch[:3])
    images = batch.reshape(5, 2, 64, 64)         # 3-D samples of a 4-D array: a slice of it
    fed = feeder([(images[i],) for i in (2, 3, 4)])["image"]
    assert np.shares_memory(fed, batch) and fed.shape == (3, dim)
    np.testing.assert_array_equal(fed, batch[2:])
    doubles = np.zeros(5 * dim // 2)             # float32 rows of a float64 buffer: strided
    as_float32 = doubles.view(np.float32).reshape(5, dim)
    as_float32[:] = batch
    fed = feeder([(row,) for row in as_float32[1:]])["image"]
    assert as_float32[1].base is doubles and np.shares_memory(fed, doubles)
    np.testing.assert_array_equal(fed, batch[1:])
    for samples in ([(batch[i],) for i in (0, 2, 1)],          # out of order
                    [(batch[i],) for i in (0, 2, 4)],          # gaps between them
                    [(batch[i].astype(np.float64),) for i in range(3)],   # converted
                    [(batch[0],), (batch[1].copy(),)]):        # not one buffer
        copied = feeder(samples)["image"]
        assert not np.shares_memory(copied, batch)
        np.testing.assert_array_equal(copied, np.stack([s[0] for s in samples]))
    wide = np.arange(3 * 2 * dim, dtype=np.float32).reshape(3, 2 * dim)   # dim values apart
    assert not np.shares_memory(feeder([(row[:dim],) for row in wide])["image"], wide)
    small = np.arange(30, dtype=np.float32).reshape(5, 6)  # below 32 KB: stacking is cheaper
    small_feeder = Feeder([layer.data("small", data_type.dense_vector(6))])
    stacked = small_feeder([(row,) for row in small])["small"]
    assert not np.shares_memory(stacked, small)
    np.testing.assert_array_equal(stacked, small)


def test_one_sample_is_fed_as_a_read_only_view_of_its_array():
    """A batch of one contiguous float32 array (inference one sample at a time) is that
    array's memory, read-only, while the caller's array stays writeable; a strided or
    converted sample is copied."""
    image = layer.data("image", data_type.dense_vector(6))
    feeder = Feeder([image])
    sample = np.arange(6, dtype=np.float32)
    fed = feeder([(sample,)])["image"]
    assert fed.shape == (1, 6) and np.shares_memory(fed, sample) and not fed.flags.writeable
    assert sample.flags.writeable
    square = np.arange(6, dtype=np.float32).reshape(2, 3)    # any shape of 6 values
    assert np.shares_memory(feeder([(square,)])["image"], square)
    for other in (np.arange(12, dtype=np.float32)[::2], np.arange(6, dtype=np.float64)):
        copied = feeder([(other,)])["image"]
        assert not np.shares_memory(copied, other)
        np.testing.assert_array_equal(copied, other.reshape(1, 6))


def test_dense_sequences_given_as_arrays_are_copied_whole_and_equal_lists_of_rows():
    """A sample's sequence as one (timesteps, dim) array (any real dtype) gives what the
    same rows as a list give; a wrong width still names the sample and timestep."""
    words = layer.data("words", data_type.dense_vector_sequence(3))
    rng = np.random.default_rng(0)
    first, second = rng.standard_normal((4, 3)), np.arange(3, dtype=np.int32).reshape(1, 3)
    as_arrays = Feeder([words])([(first,), (second,), ([[1, 2, 3], [4, 5, 6]],)])
    as_lists = Feeder([words])([(list(first),), (list(second),), ([[1, 2, 3], [4, 5, 6]],)])
    np.testing.assert_array_equal(as_arrays["words"].data, as_lists["words"].data)
    assert as_arrays["words"].data.dtype == np.float32
    np.testing.assert_array_equal(as_arrays["words"].seq.starts, [0, 4, 5, 7])
    np.testing.assert_array_equal(as_arrays["words"].seq.starts, as_lists["words"].seq.starts)
    with pytest.raises(FeedError, match="data layer words, sample 1, timestep 0: expected "
                                        "a vector of 3 numbers, got 2"):
        Feeder([words])([(first,), (np.ones((2, 2)),)])
