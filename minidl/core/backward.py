"""Reverse-mode backward: visit the recorded functions newest first, each once.

A function runs after every consumer of its outputs has added its share of the gradient,
because functions are popped in decreasing generation order (values used more than once
accumulate). Only nodes are touched -- gradients, creators, generations -- never data
other than the gradients themselves.

Memory: backward frees the forward graph as it goes. Once a function has run, its output
gradients are dropped (no later function reads them) and the function forgets what it
saved (:meth:`~minidl.core.tensor.Function.release`): the activations and gradients alive
at any moment are those of the functions not yet run plus the gradients waiting at their
outputs; what stays of the graph is its structure (nodes and empty functions, no arrays).
A graph can therefore be differentiated only once; a second backward through it raises.
"""

import heapq
import itertools

from .xp import get_array_module


def backward(root, grad=None, retain_grad=False):
    """Reverse-mode sweep from ``root``; leaves accumulate into ``.grad``.

    ``retain_grad=True`` keeps the gradient of every intermediate tensor too (an evaluator
    that prints them); the functions' saved arrays are released either way.
    """
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
        function = heapq.heappop(heap)[2]
        for creator in _run(function, retain_grad):
            enqueue(creator)
        function.release()


def _run(function, retain_grad):
    """Run one function's backward, add its input gradients into the input nodes, and
    return the creators of the inputs that received one. A function of its own, so that
    the gradient arrays it handles are not kept alive by loop variables while the next
    function runs."""
    if function.released:
        raise RuntimeError(f"backward through {type(function).__name__} a second time: a "
                           "backward pass has already run through this graph and freed what "
                           "it saved; run forward again")
    output_nodes = [ref() for ref in function.outputs]
    gys = []
    for node, (shape, dtype) in zip(output_nodes, function._output_meta):
        g = None if node is None else node.grad
        gys.append(function._xp.zeros(shape, dtype) if g is None else g)
    gxs = function.backward(*gys)
    del gys
    if not isinstance(gxs, tuple):
        gxs = (gxs,)
    if len(gxs) != len(function.inputs):
        raise RuntimeError(f"{type(function).__name__}.backward returned {len(gxs)} "
                           f"gradients for {len(function.inputs)} inputs")
    if not retain_grad:   # every consumer of these outputs has run: nothing reads them again
        for node in output_nodes:
            if node is not None and node.creator is not None:
                node.grad = None
    creators = []
    for node, gx in zip(function.inputs, gxs):
        if gx is None or not node.requires_grad:
            continue
        # Not in place: the same array may have been handed to several inputs.
        node.grad = gx if node.grad is None else node.grad + gx
        creators.append(node.creator)
    return creators
