"""``paddle.data_type``: what a data layer receives from the reader.

minidl supports dense vectors and integer labels; the sparse and sequence types exist so
that scripts import, and raise a clear error when a data layer is built with them.
"""


class InputType:
    """``kind`` is ``'dense'`` (float vector of ``dim``) or ``'index'`` (int in ``[0, dim)``)."""

    def __init__(self, dim, kind, seq_type=0, supported=True, type_name=None):
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"data type dimension {dim!r} must be a positive integer")
        self.dim = dim
        self.kind = kind
        self.seq_type = seq_type
        self.supported = supported
        self.type_name = type_name or kind

    def __repr__(self):
        return f"{self.type_name}({self.dim})"


def dense_vector(dim, seq_type=0):
    return InputType(dim, "dense", seq_type, supported=seq_type == 0,
                     type_name="dense_vector" if seq_type == 0 else "dense_vector_sequence")


def integer_value(value_range, seq_type=0):
    return InputType(value_range, "index", seq_type, supported=seq_type == 0,
                     type_name="integer_value" if seq_type == 0 else "integer_value_sequence")


def _unsupported(type_name):
    def make(dim, seq_type=0):
        return InputType(dim, type_name, seq_type, supported=False, type_name=type_name)
    make.__name__ = type_name
    make.__doc__ = f"{type_name}: declared for compatibility; data layers reject it."
    return make


sparse_binary_vector = _unsupported("sparse_binary_vector")
sparse_float_vector = _unsupported("sparse_float_vector")
sparse_vector = sparse_float_vector
sparse_non_value_slot = sparse_binary_vector
sparse_value_slot = sparse_float_vector
dense_array = dense_vector


def dense_vector_sequence(dim):
    return dense_vector(dim, seq_type=1)


def integer_value_sequence(value_range):
    return integer_value(value_range, seq_type=1)


def dense_vector_sub_sequence(dim):
    return dense_vector(dim, seq_type=2)


def integer_value_sub_sequence(value_range):
    return integer_value(value_range, seq_type=2)


def sparse_binary_vector_sequence(dim):
    return sparse_binary_vector(dim, seq_type=1)


def sparse_float_vector_sequence(dim):
    return sparse_float_vector(dim, seq_type=1)

__all__ = ["InputType", "dense_vector", "integer_value", "sparse_binary_vector",
           "sparse_float_vector", "sparse_vector", "sparse_non_value_slot", "sparse_value_slot",
           "dense_array", "dense_vector_sequence", "integer_value_sequence",
           "dense_vector_sub_sequence", "integer_value_sub_sequence",
           "sparse_binary_vector_sequence", "sparse_float_vector_sequence"]
