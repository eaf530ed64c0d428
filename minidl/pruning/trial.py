"""Prune parameters for a trial, then put every value back exactly.

    with pruned(parameters, {"___fc_layer_0__.w0": 0.9}):
        ...                                   # evaluate, time, measure
    # the values are bit for bit those before, even after an exception

The cut is the pruning hook's: :func:`~minidl.pruning.masks.top_magnitude_mask` keeps the
``floor(n * (1 - ratio))`` largest magnitudes, and the cut weights become +0.0.
"""

from contextlib import contextmanager

import numpy as np

from .masks import top_magnitude_mask


def magnitude_pruned(value, ratio):
    """``value`` (NumPy) with all but its ``1 - ratio`` largest magnitudes set to +0.0."""
    value = np.asarray(value, dtype=np.float32)
    # + 0.0 turns the -0.0 of a cut negative weight into +0.0, as the hook does
    return value * top_magnitude_mask(value, ratio) + np.float32(0.0)


class MagnitudeOrder:
    """A weight's values sorted by magnitude once, to prune it to many ratios quickly.

    ``pruned(ratio)`` equals :func:`magnitude_pruned` (the same order, ties broken by
    flat index) in O(n) per ratio instead of a sort.
    """

    def __init__(self, value):
        self.value = np.asarray(value, dtype=np.float32)
        magnitude = np.abs(self.value).ravel().astype(np.float64)
        self.order = np.argsort(-magnitude, kind="stable")

    def pruned(self, ratio):
        keep = int(np.floor(self.value.size * (1.0 - ratio) + 1e-9))
        flat = self.value.ravel().copy()
        flat[self.order[keep:]] = 0.0
        return flat.reshape(self.value.shape) + np.float32(0.0)


@contextmanager
def pruned(parameters, ratios):
    """Within the block, each ``name`` of ``ratios`` ({name: ratio}) is magnitude-pruned.

    The original values are copied first and written back in a ``finally``: an error or a
    KeyboardInterrupt inside the block still leaves the parameters as they were.
    """
    originals = {}
    try:
        for name, ratio in ratios.items():
            original = parameters.get(name)        # a copy, bits included
            originals[name] = original
            parameters.set(name, magnitude_pruned(original, ratio))
        yield
    finally:
        for name, original in originals.items():
            parameters.set(name, original)
