"""The tape autograd: Tensor, Function and reverse-mode backward.

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
soon as no function saved it, even though the graph still knows it existed.
"""

import heapq
import itertools
import weakref

from . import config
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

    Notation: ``data`` is any shape; ``grad`` has the same shape and dtype.

    >>> w = Tensor(np.ones((3, 2)), requires_grad=True)
    >>> y = (x @ w).sum(); y.backward(); w.grad.shape
    (3, 2)
    """

    __array_priority__ = 100  # so ndarray * Tensor uses Tensor.__rmul__

    def __init__(self, data, requires_grad=False, name=None):
        self.data = data
        self.node = Node(requires_grad)
        self.name = name

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

    # --- operators (implemented in minidl.functions.basic) --------------------------
    def __add__(self, other):
        from ..functions.basic import add
        return add(self, other)

    __radd__ = __add__

    def __sub__(self, other):
        from ..functions.basic import sub
        return sub(self, other)

    def __rsub__(self, other):
        from ..functions.basic import sub
        return sub(other, self)

    def __mul__(self, other):
        from ..functions.basic import mul
        return mul(self, other)

    __rmul__ = __mul__

    def __neg__(self):
        from ..functions.basic import neg
        return neg(self)

    def __matmul__(self, other):
        from ..functions.basic import matmul
        return matmul(self, other)

    def reshape(self, *shape):
        from ..functions.basic import reshape
        return reshape(self, shape[0] if len(shape) == 1 else shape)

    def sum(self):
        from ..functions.basic import sum_all
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

    def __call__(self, *inputs):
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

    def forward(self, *xs):
        raise NotImplementedError(f"{type(self).__name__} defines no forward")

    def backward(self, *gys):
        raise NotImplementedError(f"{type(self).__name__} defines no backward rule")


def backward(root, grad=None, retain_grad=False):
    """Reverse-mode sweep from ``root``; leaves accumulate into ``.grad``."""
    if not root.node.requires_grad:
        raise RuntimeError("backward() on a tensor that does not require a gradient")
    xp = get_array_module(root.data)
    if grad is None:
        grad = xp.ones_like(root.data)
    root.node.grad = grad if root.node.grad is None else root.node.grad + grad

    # Max-heap on generation; the counter breaks ties so functions are never compared.
    order = itertools.count()
    heap, queued = [], set()

    def enqueue(function):
        if function is not None and id(function) not in queued:
            queued.add(id(function))
            heapq.heappush(heap, (-function.generation, next(order), function))

    enqueue(root.node.creator)
    while heap:
        _, _, function = heapq.heappop(heap)
        output_nodes = [ref() for ref in function.outputs]
        gys = []
        for node, (shape, dtype) in zip(output_nodes, function._output_meta):
            g = None if node is None else node.grad
            gys.append(function._xp.zeros(shape, dtype) if g is None else g)
        gxs = function.backward(*gys)
        if not isinstance(gxs, tuple):
            gxs = (gxs,)
        if len(gxs) != len(function.inputs):
            raise RuntimeError(f"{type(function).__name__}.backward returned {len(gxs)} "
                               f"gradients for {len(function.inputs)} inputs")
        for node, gx in zip(function.inputs, gxs):
            if gx is None or not node.requires_grad:
                continue
            # Not in place: the same array may have been handed to several inputs.
            node.grad = gx if node.grad is None else node.grad + gx
            enqueue(node.creator)
        if not retain_grad:
            for node in output_nodes:
                if node is not None and node.creator is not None:
                    node.grad = None
