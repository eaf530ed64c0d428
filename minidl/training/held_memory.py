"""Which memory lives on after a ``paddle.infer`` call, so that an output can be returned
without a copy only when the caller can own it."""

import numpy as np


class HeldMemory:
    """Which memory lives on after a call: the parameter values' (and the other outputs').

    An output is returned as the forward made it -- no copy, which for a convolution's
    output at batch 8 (12.8 MB) cost ~1 ms, and at batch 1 evicted the layer's input
    from L2 -- only when the caller can own it: writeable (a fed sample is a read-only
    view, and so is every view of it) and rooted in memory of its own. Views are followed
    to the array owning the memory (``root``); one whose chain leaves NumPy arrays (a
    strided view, a foreign buffer) is copied."""

    def __init__(self, values):
        self.roots, self.unknown = set(), []
        for value in values:
            if not isinstance(value, np.ndarray):   # device memory: outputs come to the
                continue                            # host as copies
            root = _root(value)
            if root is None:
                self.unknown.append(value)
            else:
                self.roots.add(id(root))

    def free(self, array, others):
        """Whether ``array`` shares memory with no value and none of ``others``."""
        root = _root(array)
        if root is None or not array.flags.writeable or id(root) in self.roots:
            return False
        for other in others:
            if _root(other) is root:
                return False
        for value in self.unknown:
            if np.may_share_memory(array, value):
                return False
        return True


def _root(array):
    """The array owning ``array``'s memory (itself, or the end of its chain of bases), or
    None where the chain leaves NumPy arrays."""
    while array.base is not None:
        array = array.base
        if not isinstance(array, np.ndarray):
            return None
    return array
