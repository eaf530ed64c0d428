"""Reverse-mode backward: visit the recorded functions newest first, each once.

A function runs after every consumer of its outputs has added its share of the gradient,
because functions are popped in decreasing generation order (values used more than once
accumulate). Only nodes are touched -- gradients, creators, generations -- never data
other than the gradients themselves.
"""

import heapq
import itertools

from .xp import get_array_module


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
