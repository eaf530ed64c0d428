"""What ``paddle.infer`` returns: the fields asked for, each output brought to the host."""

import numpy as np

from ..core import as_numpy

#: ``field="value"``, the usual call
_VALUE = ("value",)


def asked_fields(field):
    """``infer``'s ``field``: a name or a list of names, checked."""
    if field == "value":     # the usual call, on every call: no list to build and check
        return _VALUE
    fields = [field] if isinstance(field, str) else list(field)
    for f in fields:
        if f not in ("value", "id", "prob"):
            raise ValueError(f"infer: field {f!r} must be 'value', 'id' or 'prob'")
    return fields


def host_output(tensor):
    """An output on the host: its array, or -- for a generator's output, whose Tensor carries
    ``fields`` (``beam_search``: 'id', 'prob', 'value') -- a dict of them."""
    fields, data = tensor.fields, tensor.data
    if fields is None:
        return data if type(data) is np.ndarray else as_numpy(data)
    return {name: as_numpy(value) for name, value in fields.items()}


def argmax_ids(array):
    """``field='id'``: the index of the largest value per sample (labels pass through)."""
    if array.ndim == 1 or np.issubdtype(array.dtype, np.integer):
        return array.reshape(len(array), -1)[:, 0] if array.ndim > 1 else array
    return array.argmax(axis=1)
