"""``paddle.data_type``: what a data layer receives from the reader, one sample at a time.

=========================== =========================================== ===================
type                        one sample                                  batch in the engine
=========================== =========================================== ===================
dense_vector(d)             ``d`` numbers                               ``(N, d)`` float32
integer_value(d)            an int in ``[0, d)``                        ``(N,)`` int64
sparse_binary_vector(d)     the indices of the ones                     :class:`SparseRows`
sparse_float_vector(d)      ``(index, value)`` pairs                    :class:`SparseRows`
<type>_sequence(d)          a list of the above, one per timestep       rows + layout
<type>_sub_sequence(d)      a list of sequences                         rows + nested layout
=========================== =========================================== ===================

The sequence forms pack all timesteps of the batch into one array with a
:class:`~minidl.core.sequence.SequenceLayout`; :mod:`minidl.training.feeding` converts.
"""

from functools import partial


class SequenceType:
    """v2's ``seq_type`` values."""

    NO_SEQUENCE = 0
    SEQUENCE = 1
    SUB_SEQUENCE = 2


class DataType:
    """v2's ``InputType.type`` values: how one sample's slot is stored."""

    Dense = 0
    SparseNonValue = 1
    SparseValue = 2
    Index = 3


_SUFFIX = {0: "", 1: "_sequence", 2: "_sub_sequence"}
_DATA_TYPE = {"dense": DataType.Dense, "sparse_binary": DataType.SparseNonValue,
              "sparse_float": DataType.SparseValue, "index": DataType.Index}


class InputType:
    """``kind``: ``'dense'``, ``'index'``, ``'sparse_binary'`` or ``'sparse_float'``;
    ``seq_type``: a :class:`SequenceType` value; ``type``: the kind as v2's
    :class:`DataType` value."""

    def __init__(self, dim, kind, seq_type=SequenceType.NO_SEQUENCE, type_name=None):
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"data type dimension {dim!r} must be a positive integer")
        if seq_type not in _SUFFIX:
            raise ValueError(f"seq_type={seq_type!r} must be 0 (no sequence), 1 (sequence) or "
                             "2 (sub-sequence)")
        self.dim = dim
        self.kind = kind
        self.seq_type = seq_type
        self.type_name = (type_name or kind) + _SUFFIX[seq_type]
        self.type = _DATA_TYPE[kind]

    @property
    def is_sparse(self):
        return self.kind.startswith("sparse")

    def __repr__(self):
        return f"{self.type_name}({self.dim})"


def dense_vector(dim, seq_type=SequenceType.NO_SEQUENCE):
    return InputType(dim, "dense", seq_type, "dense_vector")


def integer_value(value_range, seq_type=SequenceType.NO_SEQUENCE):
    return InputType(value_range, "index", seq_type, "integer_value")


def sparse_binary_vector(dim, seq_type=SequenceType.NO_SEQUENCE):
    return InputType(dim, "sparse_binary", seq_type, "sparse_binary_vector")


def sparse_float_vector(dim, seq_type=SequenceType.NO_SEQUENCE):
    return InputType(dim, "sparse_float", seq_type, "sparse_float_vector")


sparse_vector = sparse_float_vector
sparse_non_value_slot = sparse_binary_vector
sparse_value_slot = sparse_float_vector
dense_array = dense_vector


# The sequence forms: the same types with ``seq_type`` fixed (the parameter names kept).
dense_vector_sequence = partial(dense_vector, seq_type=SequenceType.SEQUENCE)
integer_value_sequence = partial(integer_value, seq_type=SequenceType.SEQUENCE)
sparse_binary_vector_sequence = partial(sparse_binary_vector, seq_type=SequenceType.SEQUENCE)
sparse_float_vector_sequence = partial(sparse_float_vector, seq_type=SequenceType.SEQUENCE)
sparse_vector_sequence = sparse_float_vector_sequence

dense_vector_sub_sequence = partial(dense_vector, seq_type=SequenceType.SUB_SEQUENCE)
integer_value_sub_sequence = partial(integer_value, seq_type=SequenceType.SUB_SEQUENCE)
sparse_binary_vector_sub_sequence = partial(sparse_binary_vector,
                                            seq_type=SequenceType.SUB_SEQUENCE)
sparse_float_vector_sub_sequence = partial(sparse_float_vector,
                                           seq_type=SequenceType.SUB_SEQUENCE)
sparse_vector_sub_sequence = sparse_float_vector_sub_sequence

__all__ = ["DataType", "InputType", "SequenceType", "dense_array", "dense_vector",
           "dense_vector_sequence", "dense_vector_sub_sequence", "integer_value",
           "integer_value_sequence", "integer_value_sub_sequence", "sparse_binary_vector",
           "sparse_binary_vector_sequence", "sparse_binary_vector_sub_sequence",
           "sparse_float_vector", "sparse_float_vector_sequence",
           "sparse_float_vector_sub_sequence", "sparse_non_value_slot", "sparse_value_slot",
           "sparse_vector", "sparse_vector_sequence", "sparse_vector_sub_sequence"]
