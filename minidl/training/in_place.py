"""The usual calls of a deployed model -- ``paddle.infer`` on one sample of dense arrays,
or on samples that are consecutive rows of one array -- fed in place and planned with a
few checks instead of the general path's bookkeeping.

Right after a kernel that streamed megabytes through the caches, each Python operation of
a call runs several times slower than it does timed alone (a dtype check ~0.6 us instead
of ~0.06). The general path -- the Feeder's conversions, a plan looked up by the batch's
signature -- makes a few dozen of them. When every field of the samples is a float32 array
of its data layer's width that can be fed without a copy (one sample's arrays themselves,
several samples' when they lie back to back in one array: ``feeding.rows_in_place``), the
batch is that memory, read-only, and its plan is the one made for the last such batch of
that many samples while no parameter, backend or setting changed. Anything else (sequences,
labels, sparse inputs, samples the Feeder would stack, convert or reject, a plan still on
trial) goes the general way, which converts it or names what is wrong.
"""

from .feeding import one_row, rows_in_place


def dense_widths(data_layers):
    """{data layer name: width} when every data layer takes a dense vector, else None."""
    types = {layer.name: layer.input_type for layer in data_layers}
    if any(t.kind != "dense" or t.seq_type for t in types.values()):
        return None
    return {name: t.dim for name, t in types.items()}


def in_place_feed(widths, input, fields):
    """The feed of ``input``, a list of samples, when each field (``fields``: {data layer
    name: field index}) of its samples is fed in place (see the module docstring): each
    data layer's batch a read-only view of the callers' arrays. Otherwise None."""
    if widths is None or type(input) is not list or not input:
        return None
    one = input[0] if len(input) == 1 else None    # (the usual call: no list to build)
    if one is not None and type(one) not in _SAMPLE_TYPES:
        return None
    feed = {}
    for name, width in widths.items():
        index = fields[name]
        if one is not None:
            rows = one_row(one[index], width) if index < len(one) else None
        else:
            try:
                values = [sample[index] for sample in input if type(sample) in _SAMPLE_TYPES]
            except IndexError:
                return None
            rows = rows_in_place(values, width) if len(values) == len(input) else None
        if rows is None:
            return None
        feed[name] = rows
    return feed


_SAMPLE_TYPES = (tuple, list)


class LastPlan:
    """The plan of the last batch fed in place, with what it was made for: the parameter
    values' key (their generation and backend), the ``sparse`` mode, the dtype and the
    number of samples. While those hold, the weights it read cannot have changed (see
    ``SparsePlan``)."""

    __slots__ = ("made_for", "plan")

    def __init__(self):
        self.made_for, self.plan = None, None

    def keep(self, made_for, plan):
        self.made_for, self.plan = made_for, plan
