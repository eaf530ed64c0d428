"""A Function defined by a pair of kernels, the shape most element- and row-wise ops take:
``<kernels>_forward(*inputs) -> y`` and ``<kernels>_backward(*inputs, gy)`` (``(*inputs,
y, gy)`` where ``keeps_output``) returning one gradient per input."""

from ..backends import kernel
from ..core.tensor import Function


def wanted(grads, needs):
    """``grads`` with None where the input needs no gradient."""
    return tuple(g if need else None for g, need in zip(grads, needs))


class KernelPair(Function):
    """Subclasses name their kernel family in ``kernels`` (``dot_prod``, ``out_prod``, ...);
    every input (and the output, where ``keeps_output``) is kept for backward."""

    kernels = None
    keeps_output = False

    def forward(self, *inputs):
        y = kernel(f"{self.kernels}_forward")(*inputs)
        self.save_for_backward(*(inputs + (y,) if self.keeps_output else inputs))
        return y

    def backward(self, gy):
        grads = kernel(f"{self.kernels}_backward")(*self.saved, gy)
        return wanted(grads, self.needs_input_grad)
