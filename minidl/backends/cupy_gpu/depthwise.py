"""Depthwise convolution as CUDA RawKernels (float32) for the ``gpu`` backend.

The same ops and signatures as the reference (``numpy_ref/depthwise.py``)::

    depthwise_conv2d_forward(x, w, stride, padding)                     -> y
    depthwise_conv2d_grad_input(gy, w, input_shape, stride, padding)    -> gx
    depthwise_conv2d_grad_filter(x, gy, filter_shape, stride, padding)  -> gw

Notation: ``x: (N, C, H, W)``, ``w: (C*M, 1, kh, kw)``, ``y, gy: (N, C*M, OH, OW)``;
stride and padding are ``(y, x)`` pairs.

The CUDA C source is ``kernels/depthwise.cu``, where each kernel's design is described;
this module only checks shapes, allocates outputs and launches. CuPy compiles the source
once per process with NVRTC (and caches the binary on disk). Arrays that are not float32
-- the float64 gradient checks -- run the reference kernel on the GPU through CuPy instead
(and host arrays run it on the host).

Kernel arguments follow the C signatures exactly: arrays become pointers, every size is
passed as ``numpy.int32`` (a Python int would be passed as a 64-bit integer).
"""

import functools
import pathlib

import numpy as np

from ...core.geometry import depthwise_geometry
from ...core.xp import get_array_module
from ..numpy_ref import depthwise as reference
from ..registry import register

SOURCE = pathlib.Path(__file__).with_name("kernels") / "depthwise.cu"

#: op -> the ``__global__`` template that computes it
KERNELS = {
    "depthwise_conv2d_forward": "depthwise_conv2d_forward_kernel",
    "depthwise_conv2d_grad_input": "depthwise_conv2d_grad_input_kernel",
    "depthwise_conv2d_grad_filter": "depthwise_conv2d_grad_filter_kernel",
}
#: (kernel size, stride) pairs compiled with the sizes as constants (MobileNet's 3x3
#: layers); every other geometry runs the ``<0, 0>`` instantiation, which reads them
SPECIALISED = ((3, 1), (3, 2))
GENERIC = (0, 0)

#: threads per block of the element-wise kernels (forward, grad_input)
THREADS = 256
#: grid cap: the kernels loop grid-stride, so a capped grid still covers every element
MAX_BLOCKS = 1 << 16
#: DEPTHWISE_MAX_THREADS in the source: the largest grad_filter block. With about 32
#: registers per thread four such blocks fit on an SM, so the C*9 blocks of a MobileNet
#: layer run in about one wave (a first choice, not yet tuned on a GPU)
MAX_FILTER_THREADS = 512
#: indices are 32-bit in the kernels: arrays must stay below this many elements
MAX_ELEMENTS = 2**31 - 1 - MAX_BLOCKS * THREADS


def name_expression(kernel, size, stride):
    """The C++ name of one instantiation, as CuPy's ``get_function`` wants it."""
    return f"{kernel}<{size}, {stride}>"


#: every instantiation compiled, for ``cupy.RawModule(name_expressions=...)``
NAME_EXPRESSIONS = tuple(name_expression(kernel, *constants) for kernel in KERNELS.values()
                         for constants in SPECIALISED + (GENERIC,))

_module = None


def cuda_module():
    """The compiled ``cupy.RawModule`` (built on first use; tests may substitute it)."""
    global _module
    if _module is None:
        import cupy
        _module = cupy.RawModule(code=SOURCE.read_text(), name_expressions=NAME_EXPRESSIONS)
    return _module


def _instantiation(kernel, stride):
    """``(K, S)`` template arguments: constants for a specialised geometry, else 0, 0."""
    kh, kw = kernel
    if kh == kw and stride[0] == stride[1] and (kh, stride[0]) in SPECIALISED:
        return kh, stride[0]
    return GENERIC


@functools.cache
def _function(module, name):
    """``module.get_function(name)``, looked up once: at batch 1 a layer's kernels run in
    microseconds and the Python around each launch is most of its time."""
    return module.get_function(name)


@functools.lru_cache(maxsize=1024)
def _geometry_arguments(input_shape, multiplier, kernel, out_size, stride, padding):
    """The int32 arguments every kernel takes after its three arrays (in the C order)."""
    n, c, h, w = input_shape
    return tuple(np.int32(v) for v in (n, c, h, w, multiplier, *out_size, *kernel, *stride,
                                       *padding))


def _launch(op, grid, block, arrays, input_shape, multiplier, kernel, out_size, stride,
            padding):
    """Run the kernel of ``op``; the geometry is the argument list every kernel shares."""
    for array in arrays:
        if array.size > MAX_ELEMENTS:
            raise ValueError(f"{op}: an array of {array.size} elements is too large for the "
                             f"kernels' 32-bit indices (at most {MAX_ELEMENTS})")
    name = name_expression(KERNELS[op], *_instantiation(kernel, stride))
    geometry = _geometry_arguments(tuple(input_shape), multiplier, tuple(kernel),
                                   tuple(out_size), tuple(stride), tuple(padding))
    _function(cuda_module(), name)(grid, block, tuple(arrays) + geometry)


def _contiguous(xp, array):
    return array if array.flags.c_contiguous else xp.ascontiguousarray(array)


def _elementwise_grid(total):
    return (min(MAX_BLOCKS, -(-total // THREADS)),), (THREADS,)


def _filter_threads(count):
    """Threads of a grad_filter block summing ``count`` products: a power of two in
    ``[32, MAX_FILTER_THREADS]``, about ``count / 8`` so each thread adds a few products
    before the shared-memory reduction."""
    threads = 32
    while threads < MAX_FILTER_THREADS and threads * 8 < count:
        threads *= 2
    return threads


def _on_device(*arrays):
    """Whether the arrays are float32 CuPy arrays, which the CUDA kernels take. Anything
    else -- float64 gradient checks, host arrays -- runs the reference through its xp."""
    return get_array_module(*arrays) is not np and all(a.dtype == np.float32 for a in arrays)


def _check_output_gradient(op, gy, input_shape, multiplier, out_size):
    """The kernels index ``gy`` from the geometry: a wrong shape must not reach them."""
    expected = (input_shape[0], input_shape[1] * multiplier) + tuple(out_size)
    if tuple(gy.shape) != expected:
        raise ValueError(f"{op}: output gradient of shape {tuple(gy.shape)}; expected "
                         f"{expected} for input {tuple(input_shape)}")


@register("depthwise_conv2d_forward", backend="gpu")
def depthwise_conv2d_forward(x, w, stride, padding):
    """Depthwise cross-correlation. ``x: (N, C, H, W)``, ``w: (C*M, 1, kh, kw)``
    -> ``(N, C*M, OH, OW)``."""
    if not _on_device(x, w):
        return reference.depthwise_conv2d_forward(x, w, stride, padding)
    xp = get_array_module(x, w)
    m, kernel, out_size = depthwise_geometry(x.shape, w.shape, stride, padding)
    y = xp.empty((x.shape[0], w.shape[0]) + tuple(out_size), dtype=xp.float32)
    if y.size:
        _launch("depthwise_conv2d_forward", *_elementwise_grid(y.size),
                (_contiguous(xp, x), _contiguous(xp, w), y),
                x.shape, m, kernel, out_size, stride, padding)
    return y


@register("depthwise_conv2d_grad_input", backend="gpu")
def depthwise_conv2d_grad_input(gy, w, input_shape, stride, padding):
    """Input gradient. ``gy: (N, C*M, OH, OW)``, ``w: (C*M, 1, kh, kw)`` ->
    ``input_shape (N, C, H, W)``."""
    if not _on_device(gy, w):
        return reference.depthwise_conv2d_grad_input(gy, w, input_shape, stride, padding)
    xp = get_array_module(gy, w)
    input_shape = tuple(int(s) for s in input_shape)
    m, kernel, out_size = depthwise_geometry(input_shape, w.shape, stride, padding)
    _check_output_gradient("depthwise_conv2d_grad_input", gy, input_shape, m, out_size)
    gx = xp.empty(input_shape, dtype=xp.float32)
    if gx.size:
        _launch("depthwise_conv2d_grad_input", *_elementwise_grid(gx.size),
                (_contiguous(xp, gy), _contiguous(xp, w), gx),
                input_shape, m, kernel, out_size, stride, padding)
    return gx


@register("depthwise_conv2d_grad_filter", backend="gpu")
def depthwise_conv2d_grad_filter(x, gy, filter_shape, stride, padding):
    """Filter gradient. ``x: (N, C, H, W)``, ``gy: (N, C*M, OH, OW)`` ->
    ``filter_shape (C*M, 1, kh, kw)``; one block per weight element."""
    if not _on_device(x, gy):
        return reference.depthwise_conv2d_grad_filter(x, gy, filter_shape, stride, padding)
    xp = get_array_module(x, gy)
    filter_shape = tuple(int(s) for s in filter_shape)
    m, kernel, out_size = depthwise_geometry(x.shape, filter_shape, stride, padding)
    _check_output_gradient("depthwise_conv2d_grad_filter", gy, x.shape, m, out_size)
    gw = xp.empty(filter_shape, dtype=xp.float32)
    if gw.size == 0:
        return gw
    # every block writes its element, an empty batch included (the sum is then 0)
    threads = _filter_threads(x.shape[0] * out_size[0] * out_size[1])
    _launch("depthwise_conv2d_grad_filter", (gw.size,), (threads,),
            (_contiguous(xp, x), _contiguous(xp, gy), gw),
            x.shape, m, kernel, out_size, stride, padding)
    return gw
