"""The usual call of a deployed model -- ``paddle.infer`` on one sample of dense arrays --
fed and planned with a few checks instead of the general path's bookkeeping.

Right after a kernel that streamed megabytes through the caches, each Python operation of
a call runs several times slower than it does timed alone (a dtype check ~0.6 us instead
of ~0.06). The general path -- the Feeder's conversions, a plan looked up by the batch's
signature -- makes a few dozen of them. For one sample whose fields are float32 arrays of
the data layers' widths, the batch is each array itself (a read-only view), and its plan
is the one made for the last such sample while no parameter, backend or setting changed.
Anything else (several samples, sequences, labels, sparse inputs, a sample the Feeder would
convert or reject, a plan still on trial) goes the general way, which converts it or names
what is wrong.
"""

from .feeding import one_row


def dense_widths(data_layers):
    """{data layer name: width} when every data layer takes a dense vector, else None."""
    types = {layer.name: layer.input_type for layer in data_layers}
    if any(t.kind != "dense" or t.seq_type for t in types.values()):
        return None
    return {name: t.dim for name, t in types.items()}


def one_sample_feed(widths, input, fields):
    """The feed of ``input`` when it is one sample whose fields (``fields``: {data layer
    name: field index}) are float32 arrays of ``widths`` values, laid out in C order: each
    array itself as one read-only row. Otherwise None."""
    if widths is None or type(input) is not list or len(input) != 1:
        return None
    sample = input[0]
    if not isinstance(sample, (tuple, list)):
        return None
    feed = {}
    for name, width in widths.items():
        index = fields[name]
        row = one_row(sample[index], width) if index < len(sample) else None
        if row is None:
            return None
        feed[name] = row
    return feed


class PlanOfOne:
    """The plan of the last one-sample batch, with what it was made for: the parameter
    values' key (their generation and backend), the ``sparse`` mode and the dtype. While
    those hold, the weights it read cannot have changed (see ``SparsePlan``)."""

    __slots__ = ("made_for", "plan")

    def __init__(self):
        self.made_for, self.plan = None, None

    def keep(self, made_for, plan):
        self.made_for, self.plan = made_for, plan
