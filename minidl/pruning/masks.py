"""Magnitude pruning: which weights to keep, and the masks that hold the others at zero.

The trainer talks to a hook through five calls (the whole interface):

``begin_training(parameters)``
    ``train()`` starts; values are final (pretrained ones loaded). Zeros already present
    count as pruned, so training resumes from a pruned tarball without extra state.
``begin_pass(pass_id, parameters)``
    a pass starts; the dynamic hook builds a new mask at its change points.
``before_update(name, grad)``
    the summed gradient, masked in place before the optimizer sees it.
``after_update(name, value)``
    the new values, masked in place: momentum, Adam's moments, L2 decay and clipping can
    all move a pruned weight off zero, so masking the gradient alone is not enough.
``apply_mask(array)``
    a masked copy, for values computed elsewhere (ModelAverage's averages).
"""

import numpy as np

from ..core.row_sparse import RowSparseGrad
from ..core.xp import as_numpy, get_array_module
from .schedule import is_change_point, scheduled_sparsity


def top_magnitude_mask(value, sparsity, allowed=None):
    """Mask keeping the ``floor(n * (1 - sparsity))`` largest ``|value|``.

    Ties are broken by flat index (the lower index is kept), so the mask is deterministic.
    ``allowed`` (a boolean array) marks weights that may be kept at all: zeros already
    pruned stay pruned. Returns a float32 0/1 array on the host.
    """
    magnitude = np.abs(as_numpy(value)).ravel().astype(np.float64)
    keep = int(np.floor(magnitude.size * (1.0 - sparsity) + 1e-9))
    if allowed is not None:
        magnitude = np.where(as_numpy(allowed).ravel(), magnitude, -1.0)
    order = np.argsort(-magnitude, kind="stable")   # stable: equal magnitudes keep index order
    mask = np.zeros(magnitude.size, dtype=np.float32)
    mask[order[:keep]] = 1.0
    if allowed is not None:
        mask *= as_numpy(allowed).ravel()
    return mask.reshape(np.shape(value))


class PruningHook:
    """Runtime of one hook on one parameter."""

    def __init__(self, name, hook):
        self.name = name
        self.hook = hook
        self.mask = None
        self.current_target = 0.0

    def _set_mask(self, parameters, sparsity):
        value = parameters.value(self.name)
        allowed = None if self.mask is None else self.mask > 0
        host = top_magnitude_mask(value, sparsity, allowed)
        self.mask = get_array_module(value).asarray(host, dtype=value.dtype)
        self.after_update(self.name, value)
        self.current_target = sparsity

    def begin_training(self, parameters):
        value = parameters.value(self.name)
        self.mask = (value != 0).astype(value.dtype)   # loaded zeros are already pruned
        if self.hook.type == "pruning":
            self._set_mask(parameters, self.hook.sparsity_ratio)

    def begin_pass(self, pass_id, parameters):
        h = self.hook
        if h.type == "dynamic_pruning" and is_change_point(h.inter_pass, h.end_pass, pass_id):
            target = scheduled_sparsity(h.curve, h.upper_bound, h.inter_pass, h.end_pass, pass_id)
            self._set_mask(parameters, target)

    def before_update(self, name, grad):
        if isinstance(grad, RowSparseGrad):   # ParamAttr(sparse_update=True): its rows
            grad.values *= self.mask[get_array_module(self.mask).asarray(grad.rows)]
        else:
            grad *= self.mask

    def after_update(self, name, value):
        value *= self.mask
        # a negative weight times 0 is -0.0; adding +0.0 makes every pruned weight +0.0, so
        # the dense file holds one zero pattern (gzip finds it) and compact files drop them
        value += 0.0

    def apply_mask(self, array):
        return array * self.mask + 0.0
