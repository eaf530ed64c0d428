"""``data``: where samples enter the network."""

from .base import Layer


class DataLayer(Layer):
    """An input slot. Its output is the fed batch: ``(N, dim)`` floats, ``(N,)`` int ids, or
    sparse rows; for sequence types all timesteps of the batch with their layout.

    With ``height`` and ``width`` the vector is an image of ``dim / (height*width)``
    channels, which conv and pool layers use to infer their geometry.
    """

    type = "data"

    def __init__(self, name, type, height=None, width=None, layer_attr=None):
        from .data_types import InputType
        if not isinstance(name, str) or not name:
            raise ValueError(f"data layer needs a name (a non-empty string), got {name!r}")
        if not isinstance(type, InputType):
            raise ValueError(f"data layer {name}: type must come from paddle.data_type, "
                             f"got {type!r}")
        image_shape = None
        if (height is None) != (width is None):
            raise ValueError(f"data layer {name}: give both height and width, or neither")
        if height is not None:
            if type.kind != "dense" or height < 1 or width < 1 or type.dim % (height * width):
                raise ValueError(f"data layer {name}: size {type.dim} is not a whole number "
                                 f"of {height}x{width} channels")
            image_shape = (type.dim // (height * width), height, width)
        super().__init__(name, [], type.dim, image_shape=image_shape, layer_attr=layer_attr)
        self.input_type = type
        self.seq_level = type.seq_type
        self.sparse_output = type.is_sparse

    def forward(self, ctx, xs):
        raise RuntimeError(f"data layer {self.name} is fed, not computed")


def data(name, type, height=None, width=None, layer_attr=None):
    return DataLayer(name, type, height, width, layer_attr)
