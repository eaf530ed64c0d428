"""Turning a reader's minibatch (a list of sample tuples) into arrays for the data layers.

``feeding`` says which tuple field feeds which data layer:

* ``None``: data layers in definition order take fields 0, 1, 2, ...
* a dict ``{'image': 0, 'label': 1}``;
* a list of names ``['image', 'label']`` (field i feeds the i-th name).

Every check happens on the first batch, before any parameter is touched, and names the
data layer, the sample (its index in the minibatch and a short repr) and the expected value;
the trainer adds the pass and batch.
"""

import numbers

import numpy as np
from numba import njit

from ..backends import xp as backend_xp
from ..core import config
from ..core.tensor import Tensor
from . import sequence_input


FeedError = sequence_input.FeedError


def _show(value, limit=60):
    """A short repr of a sample or field for error messages."""
    text = repr(value)
    if isinstance(value, np.ndarray):
        text = f"array(shape={value.shape}, dtype={value.dtype})"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _mapping(data_layers, feeding):
    names = [layer.name for layer in data_layers]
    if feeding is None:
        return {name: i for i, name in enumerate(names)}
    if isinstance(feeding, (list, tuple)):
        feeding = {name: i for i, name in enumerate(feeding)}
    if not isinstance(feeding, dict):
        raise FeedError(f"feeding must be None, a dict or a list of names, got {feeding!r}")
    missing = [name for name in names if name not in feeding]
    if missing:
        raise FeedError(f"feeding {feeding!r} gives no field for data layer(s) {missing}")
    return {name: int(feeding[name]) for name in names}


class Feeder:
    """Callable: minibatch -> {data layer name: backend array}."""

    def __init__(self, data_layers, feeding=None):
        self.data_layers = list(data_layers)
        self.fields = _mapping(self.data_layers, feeding)
        # (layer, its field, its conversion), decided once rather than per batch
        self._columns = [(layer, self.fields[layer.name], _conversion(layer))
                         for layer in self.data_layers]

    def __call__(self, minibatch):
        if not isinstance(minibatch, (list, tuple)) or len(minibatch) == 0:
            raise FeedError("a minibatch must be a non-empty list of samples, got "
                            f"{minibatch!r:.80} (wrap the reader with paddle.batch)")
        xp = backend_xp()
        try:
            fed = {}
            for layer, index, convert in self._columns:
                column = convert(layer, self._values(layer, minibatch, index))
                fed[layer.name] = column if isinstance(column, Tensor) or \
                    (xp is np and type(column) is np.ndarray) else xp.asarray(column)
            return fed
        except FeedError as error:
            if not isinstance(minibatch, tuple):
                raise
            # paddle.batch yields lists; a tuple is most often one sample of an unbatched reader
            raise FeedError(f"{error} (the minibatch is a tuple: is it one sample of a reader "
                            "not wrapped with paddle.batch?)") from None

    def _values(self, layer, minibatch, index):
        """Field ``index`` of every sample."""
        try:   # the usual minibatch: a list of tuples, each with the field
            values = [sample[index] for sample in minibatch
                      if isinstance(sample, (list, tuple))]
        except IndexError:
            values = []
        if len(values) != len(minibatch):   # otherwise sample by sample, naming a bad one
            values = self._field(layer, minibatch, index)
        return values

    @staticmethod
    def _field(layer, minibatch, index):
        values = []
        for number, sample in enumerate(minibatch):
            if not isinstance(sample, (list, tuple)):
                sample = (sample,)
            if index >= len(sample):
                raise FeedError(f"data layer {layer.name} reads field {index}, but sample "
                                f"{number} has only {len(sample)} field(s): {_show(sample)}")
            values.append(sample[index])
        return values

    @staticmethod
    def _labels(layer, values):
        limit = layer.input_type.dim
        # the common case in one vectorised pass: every value an int (or a 1-element list)
        stacked = np.asarray(values) if _uniform(values) else None
        if stacked is not None and stacked.dtype.kind in "iu" and stacked.size == len(values):
            labels = stacked.reshape(-1).astype(np.int64, copy=False)
            if len(labels) and 0 <= labels.min() and labels.max() < limit:
                return labels
        # otherwise sample by sample, to name the first bad one
        labels = np.empty(len(values), dtype=np.int64)
        for i, value in enumerate(values):
            if isinstance(value, (list, tuple, np.ndarray)) and np.size(value) == 1:
                value = np.asarray(value).reshape(-1)[0]
            if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
                raise FeedError(f"data layer {layer.name} expects an integer in [0, {limit}), "
                                f"sample {i} gives {_show(value)}")
            if not 0 <= value < limit:
                raise FeedError(f"data layer {layer.name}: label {value} of sample {i} is out "
                                f"of range [0, {limit})")
            labels[i] = value
        return labels

    @staticmethod
    def _dense(layer, values):
        dim = layer.input_type.dim
        rows = rows_in_place(values, dim)
        if rows is not None:
            return rows
        # the common case in one copy: samples of one shape with dim numbers each (NumPy
        # arrays, or lists of numbers) stack into the batch without a Python loop per number
        if _uniform(values):
            try:
                rows = np.asarray(values, dtype=config.default_dtype)
            except (TypeError, ValueError):
                rows = None
            if rows is not None and rows.size == len(values) * dim:
                return rows.reshape(len(values), dim)
        # otherwise sample by sample, to name the first bad one
        rows = np.empty((len(values), dim), dtype=config.default_dtype)
        for i, value in enumerate(values):
            try:
                row = np.asarray(value, dtype=config.default_dtype).reshape(-1)
            except (TypeError, ValueError) as error:
                raise FeedError(f"data layer {layer.name} expects a vector of {dim} numbers, "
                                f"sample {i} gives {_show(value)}, which is not one "
                                f"({error})") from None
            if row.size != dim:
                raise FeedError(f"data layer {layer.name} expects a vector of {dim} values, "
                                f"sample {i} has {row.size}: {_show(value)}")
            rows[i] = row
        return rows


def _conversion(layer):
    """How a data layer's values become its batch: ``(layer, values) -> array or Tensor``."""
    if layer.input_type.seq_type or layer.input_type.is_sparse:
        return sequence_input.convert
    if layer.input_type.kind == "index":
        return Feeder._labels
    return Feeder._dense


#: samples smaller than this are stacked (one copy) rather than checked for being
#: consecutive rows of one array: the check costs ~1 us a sample, stacking 8 samples of
#: 16 KB ~5 us, of 32 KB ~90 us (a buffer that large is fresh memory, paid in page faults)
IN_PLACE_FROM_BYTES = 32 << 10


def rows_in_place(values, dim):
    """The batch as a read-only view of the samples' own memory, or None.

    When the samples are consecutive rows of one array -- ``[(x[i],) for i in ...]`` over
    a batch array, or a reader yielding a dataset array's rows in order -- they lie back to
    back in one buffer, and the batch is that memory: no copy, which for inputs of
    megabytes costs as much as a layer. So is a batch of one contiguous array. Read-only,
    so that no layer can write into the caller's arrays."""
    first = values[0] if len(values) else None
    if len(values) == 1:        # one sample (inference one at a time): any array of its own
        return one_row(first, dim)
    if type(first) is not np.ndarray or first.dtype != config.default_dtype or \
            first.size != dim or not first.flags.c_contiguous:
        return None
    if first.base is None or first.nbytes < IN_PLACE_FROM_BYTES:
        return None
    base, start, step = first.base, _address(first), first.nbytes   # rows back to back
    for i, value in enumerate(values):
        if type(value) is not np.ndarray or value.base is not base or \
                value.dtype != first.dtype or value.strides != first.strides or \
                value.size != dim or _address(value) != start + i * step:
            return None
    if base.flags.c_contiguous and base.dtype == first.dtype:
        # the batch is one stretch of base's values: a slice of it (as_strided costs ~5 us)
        offset = (start - _address(base)) // first.itemsize
        rows = base.reshape(-1)[offset:offset + len(values) * dim].reshape(len(values), dim)
    else:
        rows = np.lib.stride_tricks.as_strided(first, shape=(len(values), dim),
                                               strides=(step, first.itemsize))
    rows.flags.writeable = False
    return rows


def one_row(value, dim):
    """``value`` as a batch of one row, a read-only view of it, when it is a float32 array
    of ``dim`` values in C order (no layer may write into the caller's array); else None."""
    # one NumPy call checks dtype and layout: the array itself when they are right
    if type(value) is not np.ndarray or value.size != dim or \
            np.asarray(value, config.default_dtype, "C") is not value:
        return None
    row = value.reshape(1, dim)
    # (positional: its keyword form parses its arguments in ~1.5 us after a kernel, ~0.4)
    row.setflags(False)
    return row


@njit(cache=True)
def _address(array):
    """The address of ``array``'s first value: ~0.3 us through Numba, against ~1.4 us for
    ``array.ctypes.data`` (which builds a ctypes object), read once per sample."""
    return array.ctypes.data


def _uniform(values):
    """True when every value has the first one's type and, for arrays, shape: then
    ``np.asarray(values)`` stacks them as rows (ragged or mixed values go sample by sample)."""
    first = values[0] if len(values) else None
    kind = type(first)
    if kind is bool or not all(type(v) is kind for v in values):
        return False
    if kind is np.ndarray:
        return all(v.shape == first.shape for v in values)
    if kind in (list, tuple):
        return all(len(v) == len(first) for v in values)
    return True
