"""The tape autograd: Tensor, Function and the arithmetic their operators use.

Read this file first; the rest of minidl is built on these three ideas.

* A :class:`Tensor` holds a backend array (``numpy.ndarray`` or ``cupy.ndarray``) and a
  :class:`Node`, its place in the graph.
* A :class:`Function` maps input arrays to output arrays (``forward``) and output
  gradients to input gradients (``backward``). It keeps only what ``backward`` needs,
  declared with :meth:`Function.save_for_backward` -- never the inputs by default.
* :func:`backward` visits functions from the newest generation to the oldest, so each
  function runs once, after every consumer of its outputs has added its share of the
  gradient (values used more than once accumulate).

The graph holds nodes, not tensors: a node carries a gradient slot, the function that
created it and a generation number, but no data. An intermediate activation is freed as
soon as no function saved it, even though the graph still knows it existed. Backward
frees the rest as it goes: each function drops what it saved once its backward has run
(:meth:`Function.release`), and each intermediate gradient is dropped once the function
that consumes it has run, so a graph can be differentiated once.
"""

import weakref

from . import config
from .backward import backward
from .xp import get_array_module


class Node:
    """What the graph keeps of a tensor: gradient, creator and generation -- not data."""

    __slots__ = ("grad", "creator", "generation", "requires_grad", "__weakref__")

    def __init__(self, requires_grad=False):
        self.grad = None
        self.creator = None
        self.generation = 0
        self.requires_grad = requires_grad


class Tensor:
    """A backend array with an optional gradient.

    Notation: ``data`` is any shape; ``grad`` has the same shape and dtype. For a batch of
    sequences ``data`` is ``(rows, ...)``, all timesteps stacked, and ``seq`` says where each
    sequence starts (:mod:`minidl.core.sequence`).

    >>> w = Tensor(np.ones((3, 2)), requires_grad=True)
    >>> y = (x @ w).sum(); y.backward(); w.grad.shape
    (3, 2)
    """

    __array_priority__ = 100  # so ndarray * Tensor uses Tensor.__rmul__
    #: a generator's named outputs ({'id', 'prob', 'value'} of ``beam_search``), else None
    fields = None

    def __init__(self, data, requires_grad=False, name=None, seq=None):
        self.data = data
        self.node = Node(requires_grad)
        self.name = name
        #: a :class:`~minidl.core.sequence.SequenceLayout` when the rows of ``data`` are the
        #: timesteps of a batch of sequences; None for one row (or image) per sample.
        #: Functions never set it: the layer that made the Tensor does.
        self.seq = seq

    # --- views of the node -------------------------------------------------------
    @property
    def grad(self):
        return self.node.grad

    @grad.setter
    def grad(self, value):
        self.node.grad = value

    @property
    def creator(self):
        return self.node.creator

    @property
    def requires_grad(self):
        return self.node.requires_grad

    # --- views of the data ---------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def xp(self):
        return get_array_module(self.data)

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        label = f" {self.name!r}" if self.name else ""
        return f"Tensor{label}(shape={self.shape}, dtype={self.dtype})"

    def backward(self, grad=None, retain_grad=False):
        """Accumulate d(self)/d(leaf) into every leaf that requires a gradient."""
        backward(self, grad, retain_grad)

    # --- operators (the Functions at the end of this module) ------------------------
    def __add__(self, other):
        return add(self, other)

    __radd__ = __add__

    def __sub__(self, other):
        return sub(self, other)

    def __rsub__(self, other):
        return sub(other, self)

    def __mul__(self, other):
        return mul(self, other)

    __rmul__ = __mul__

    def __neg__(self):
        return neg(self)

    def __matmul__(self, other):
        return matmul(self, other)

    def reshape(self, *shape):
        return reshape(self, shape[0] if len(shape) == 1 else shape)

    def sum(self):
        return sum_all(self)


def as_tensor(value, xp=None):
    """Wrap an array (or scalar) as a constant Tensor; Tensors pass through."""
    if isinstance(value, Tensor):
        return value
    if xp is None:
        xp = get_array_module(value)
    return Tensor(xp.asarray(value, dtype=getattr(value, "dtype", config.default_dtype)))


class Function:
    """One differentiable operation. Subclasses define ``forward`` and ``backward``.

    ``forward(*arrays)`` returns an array or a tuple of arrays.
    ``backward(*output_grads)`` returns one gradient per input (``None`` where an input
    needs none); a missing output gradient arrives as ``None`` only if that output was
    never used, and the base class replaces it by zeros.

    ``self.needs_input_grad[i]`` tells ``backward`` which gradients are wanted, so a
    convolution on a data layer skips its input gradient.
    """

    #: True once backward has run this function and it has forgotten its saved arrays
    released = False

    def __call__(self, *inputs):
        if not config.grad_enabled:     # no graph (inference): the short way, same result
            self.needs_input_grad = (False,) * len(inputs)
            self._record, self._saved = False, ()
            ys = self.forward(*[x.data if type(x) is Tensor else as_tensor(x).data
                                for x in inputs])
            return tuple(Tensor(y) for y in ys) if isinstance(ys, tuple) else Tensor(ys)
        inputs = [as_tensor(x) for x in inputs]
        record = config.grad_enabled and any(t.node.requires_grad for t in inputs)
        self.needs_input_grad = tuple(record and t.node.requires_grad for t in inputs)
        self._record = record
        self._saved = ()

        ys = self.forward(*[t.data for t in inputs])
        single = not isinstance(ys, tuple)
        outputs = [Tensor(y) for y in ((ys,) if single else ys)]

        if record:
            self.inputs = [t.node for t in inputs]
            self.generation = max(node.generation for node in self.inputs)
            for out in outputs:
                out.node.creator = self
                out.node.generation = self.generation + 1
                out.node.requires_grad = True
            # Weak references: a function must not keep its outputs alive, or every
            # activation would live until the whole graph is dropped.
            self.outputs = [weakref.ref(out.node) for out in outputs]
            self._output_meta = [(y.shape, y.dtype) for y in (t.data for t in outputs)]
            self._xp = get_array_module(outputs[0].data)
        return outputs[0] if single else tuple(outputs)

    def save_for_backward(self, *arrays):
        """Keep ``arrays`` for ``backward``; a no-op when no graph is being recorded."""
        if self._record:
            self._saved = arrays

    @property
    def saved(self):
        return self._saved

    def release(self):
        """Forget everything ``forward`` kept (saved arrays, shapes, kernels): called by
        :func:`backward` once this function's backward has run, so each activation is freed
        as soon as the sweep has passed it, not when the whole graph is dropped.

        What stays is small and describes the call: the input nodes, which hold the
        gradients that their own creators, still waiting in the sweep, will read (nothing
        else may hold them); ``needs_input_grad``; and the generation, so that a second
        backward through this graph finds the function and says it has been released."""
        kept = {name: self.__dict__[name]
                for name in ("inputs", "needs_input_grad", "generation")}
        self.__dict__.clear()
        self.__dict__.update(kept, _saved=(), released=True)

    def forward(self, *xs):
        raise NotImplementedError(f"{type(self).__name__} defines no forward")

    def backward(self, *gys):
        raise NotImplementedError(f"{type(self).__name__} defines no backward rule")


# --- arithmetic: the chain rule in small pieces -----------------------------------

def _unbroadcast(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched to reach ``shape``."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Add(Function):
    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)  # shapes only: addition needs no values back
        return a + b

    def backward(self, gy):
        return _unbroadcast(gy, self.shapes[0]), _unbroadcast(gy, self.shapes[1])


class Sub(Function):
    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a - b

    def backward(self, gy):
        return _unbroadcast(gy, self.shapes[0]), _unbroadcast(-gy, self.shapes[1])


class Mul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, gy):
        a, b = self.saved
        return _unbroadcast(gy * b, a.shape), _unbroadcast(gy * a, b.shape)


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, gy):
        return -gy


class MatMul(Function):
    """``a @ b`` for 2-D arrays; ``product`` computes each matrix product (the array
    module's ``matmul`` unless a backend kernel is given, as :mod:`minidl.functions` does)."""

    def __init__(self, product=None):
        self.product = product

    def _matmul(self, a, b):
        return (self.product or get_array_module(a, b).matmul)(a, b)

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return self._matmul(a, b)

    def backward(self, gy):
        a, b = self.saved
        ga = self._matmul(gy, b.T) if self.needs_input_grad[0] else None
        gb = self._matmul(a.T, gy) if self.needs_input_grad[1] else None
        return ga, gb


class Reshape(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        self.input_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return gy.reshape(self.input_shape)


class SumAll(Function):
    def forward(self, x):
        self.input_shape = x.shape
        return x.sum().reshape(())

    def backward(self, gy):
        xp = self._xp
        return xp.broadcast_to(gy, self.input_shape).copy()


def _operands(a, b):
    """Both operands as Tensors on one device: a Python number beside a CuPy Tensor must
    become a CuPy scalar, not a NumPy one (CuPy refuses to mix the two)."""
    xp = get_array_module(*(v.data if isinstance(v, Tensor) else v for v in (a, b)))
    return as_tensor(a, xp), as_tensor(b, xp)


def add(a, b):
    return Add()(*_operands(a, b))


def sub(a, b):
    return Sub()(*_operands(a, b))


def mul(a, b):
    return Mul()(*_operands(a, b))


def neg(a):
    return Neg()(a)


def matmul(a, b, product=None):
    return MatMul(product)(a, b)


def reshape(x, shape):
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if tuple(x.shape) == shape:
        return x
    if not config.grad_enabled:     # nothing to record: the view alone
        return Tensor(x.data.reshape(shape))
    return Reshape(shape)(x)


def sum_all(x):
    return SumAll()(x)
