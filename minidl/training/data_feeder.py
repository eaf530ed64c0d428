"""``paddle.data_feeder.DataFeeder``: a minibatch of samples -> the arrays the data layers take.

v2's DataFeeder turned a minibatch into the C++ engine's ``Arguments``; here the engine's form
is what :class:`~minidl.training.feeding.Feeder` gives the trainer: ``{data layer name:
array}`` (dense rows, int64 labels) or a Tensor carrying the sequence layout / sparse rows for
sequence and sparse types. Only names and types are needed, no network::

    feeder = DataFeeder([("image", dense_vector(784)), ("label", integer_value(10))],
                        feeding={"image": 0, "label": 1})
    arrays = feeder([(pixels, 3), (pixels, 7)])   # {'image': (2, 784), 'label': (2,)}
"""

from collections import namedtuple

from ..layers.data_types import InputType
from .feeding import Feeder

__all__ = ["DataFeeder", "default_feeding_map"]

#: what the Feeder reads of a data layer: its name and input type
_DataSlot = namedtuple("_DataSlot", ["name", "input_type"])


def default_feeding_map(data_types):
    """``{name: position}`` in the order of ``data_types``."""
    return {name: i for i, (name, _) in enumerate(data_types)}


class DataFeeder:
    """Converts minibatches for the data ``data_types`` (a list of ``(name, InputType)``);
    ``feeding`` (``{name: field}``, a list of names, or None for the order of
    ``data_types``) says which field of a sample feeds which name."""

    def __init__(self, data_types, feeding=None):
        slots = []
        for entry in data_types:
            if not (isinstance(entry, (tuple, list)) and len(entry) == 2
                    and isinstance(entry[0], str)):
                raise TypeError(f"DataFeeder: each data type must be a (name, InputType) pair, "
                                f"got {entry!r}")
            if not isinstance(entry[1], InputType):
                raise TypeError(f"DataFeeder: the type of {entry[0]!r} must be an InputType "
                                f"(e.g. paddle.data_type.dense_vector(784)), got {entry[1]!r}")
            slots.append(_DataSlot(entry[0], entry[1]))
        self.input_names = [slot.name for slot in slots]
        self.feeding = default_feeding_map(data_types) if feeding is None else feeding
        self._feeder = Feeder(slots, self.feeding)

    def convert(self, dat, argument=None):
        """``{name: array or Tensor}`` for the minibatch ``dat`` (a list of samples).
        ``argument`` is v2's output object, which has no counterpart here; pass None."""
        if argument is not None:
            raise TypeError("DataFeeder.convert: argument must be None (the result is returned)")
        return self._feeder(dat)

    def __call__(self, dat, argument=None):
        return self.convert(dat, argument)
