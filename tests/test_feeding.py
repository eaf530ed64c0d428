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
