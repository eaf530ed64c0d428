"""paddle.data_feeder.DataFeeder: a minibatch converted for named data types, field order as
``feeding`` says, equal to what the trainer feeds data layers of the same types."""

import numpy as np
import pytest

import minidl.v2.data_feeder as data_feeder
from minidl.core import as_numpy
from minidl.layers import data_types as data_type
from minidl.training.feeding import Feeder, FeedError
from minidl.v2 import layer

DATA_TYPES = [("image", data_type.dense_vector(3)), ("label", data_type.integer_value(5)),
              ("words", data_type.integer_value_sequence(9))]
# samples in the field order (label, image, words)
BATCH = [(4, [1.0, 2.0, 3.0], [7, 8]), (0, [4.0, 5.0, 6.0], [1, 2, 3])]
FEEDING = {"label": 0, "image": 1, "words": 2}


def test_converts_in_the_feeding_order():
    feeder = data_feeder.DataFeeder(DATA_TYPES, FEEDING)
    assert feeder.input_names == ["image", "label", "words"]
    out = feeder(BATCH)
    np.testing.assert_array_equal(out["image"], [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(out["label"], [4, 0])
    words = out["words"]
    np.testing.assert_array_equal(as_numpy(words.data), [7, 8, 1, 2, 3])
    np.testing.assert_array_equal(words.seq.starts, [0, 2, 5])
    assert set(feeder.convert(BATCH)) == {"image", "label", "words"}


def test_default_feeding_is_the_order_of_data_types():
    assert data_feeder.default_feeding_map(DATA_TYPES) == {"image": 0, "label": 1, "words": 2}
    reordered = [(image, label, words) for label, image, words in BATCH]
    a = data_feeder.DataFeeder(DATA_TYPES)(reordered)
    b = data_feeder.DataFeeder(DATA_TYPES, FEEDING)(BATCH)
    for name in ("image", "label"):
        np.testing.assert_array_equal(a[name], b[name])


def test_same_arrays_as_the_trainers_feeder():
    layers = [layer.data(name, kind) for name, kind in DATA_TYPES]
    expected = Feeder(layers, FEEDING)(BATCH)
    got = data_feeder.DataFeeder(DATA_TYPES, FEEDING)(BATCH)
    for name in ("image", "label"):
        np.testing.assert_array_equal(got[name], expected[name])
        assert got[name].dtype == expected[name].dtype
    np.testing.assert_array_equal(as_numpy(got["words"].data), as_numpy(expected["words"].data))


def test_bad_data_types_and_samples():
    with pytest.raises(TypeError, match="the type of 'x' must be an InputType"):
        data_feeder.DataFeeder([("x", 784)])
    with pytest.raises(TypeError, match=r"must be a \(name, InputType\) pair"):
        data_feeder.DataFeeder([data_type.dense_vector(3)])
    feeder = data_feeder.DataFeeder(DATA_TYPES, FEEDING)
    with pytest.raises(FeedError, match="label 7 of sample 0 is out of range"):
        feeder([(7, [1.0, 2.0, 3.0], [1])])
    with pytest.raises(FeedError, match=r"no field for data layer\(s\) \['words'\]"):
        data_feeder.DataFeeder(DATA_TYPES, {"image": 0, "label": 1})
    with pytest.raises(TypeError, match="argument must be None"):
        feeder.convert(BATCH, argument=object())
