"""A choice passed to a layer as an object (``act=Tanh()``, ``pool_type=Max()``).

Such an object holds no state of its own: its class is the choice. So it is shown as
``Name()``, equals every other instance of its class, and Paddle's scripts may name the class
without the call (``act=paddle.activation.Tanh``), which :meth:`Choice.accept` takes for an
instance.
"""


class Choice:
    """An option whose class is all there is to it."""

    @classmethod
    def accept(cls, value):
        """``value``, or an instance of it where it is a subclass of this class written
        without the call; anything else is returned as it is, for the caller to check."""
        if isinstance(value, type) and issubclass(value, cls):
            return value()
        return value

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))
