"""CUDA kernels compiled for the CPU and launched as CuPy would launch them (tests only).

    module = EmulatedModule(source, name_expressions, build_dir)   # g++, once
    module.get_function("kernel<3, 1>")(grid, block, args)          # like cupy.RawModule

``cuda_emulation.h`` explains how a block's threads run. This module adds the checks that
make a wrong kernel fail loudly instead of reading someone else's memory:

* every array is copied into a buffer with NaN guard zones on both sides; an
  out-of-bounds read brings NaN into the result, an out-of-bounds write changes a guard
  and raises :class:`EmulationError`;
* arrays the kernel may write (pointers to non-const) are filled with NaN before the
  launch, so an element the kernel never writes is NaN afterwards;
* arguments must be C-contiguous NumPy float arrays or NumPy scalars whose size matches
  the C parameter (CuPy passes a Python int as a 64-bit integer; an ``int`` parameter
  needs ``numpy.int32``).
"""

import ctypes
import shutil
import subprocess

import numpy as np

from pathlib import Path

HEADER = Path(__file__).with_name("cuda_emulation.h")
#: guard elements on each side of every array
GUARD = 1024


class EmulationError(RuntimeError):
    """A launch the GPU would have run wrongly (or not at all)."""


def compiler():
    """Path of g++, or None when it is not installed."""
    return shutil.which("g++")


class EmulatedModule:
    """The CPU build of ``source`` with one launcher per name expression."""

    def __init__(self, source, name_expressions, build_dir):
        lines = [f'#include "{HEADER}"', f'#include "{Path(source).resolve()}"']
        for k, name in enumerate(name_expressions):
            lines.append(
                f'extern "C" int launch_{k}(unsigned grid, unsigned block, void** argv, '
                f"const long* sizes, int count) {{ return cuda_emulation::launch(&{name}, "
                f"grid, block, argv, sizes, count); }}")
            lines.append(f'extern "C" const char* outputs_{k}() {{ '
                         f"return cuda_emulation::output_mask(&{name}); }}")
        build_dir = Path(build_dir)
        cpp, library = build_dir / "emulated.cpp", build_dir / "emulated.so"
        cpp.write_text("\n".join(lines) + "\n")
        command = [compiler(), "-std=c++17", "-O1", "-shared", "-fPIC", "-Wall",
                   "-Wno-unknown-pragmas", "-o", str(library), str(cpp)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise EmulationError(f"g++ failed on {source}:\n{done.stderr}")
        self.library = ctypes.CDLL(str(library))
        self.library.cuda_emulation_error.restype = ctypes.c_char_p
        self.index = {name: k for k, name in enumerate(name_expressions)}
        #: name expression -> number of launches, so tests can see which ran
        self.launches = {name: 0 for name in name_expressions}

    def get_function(self, name):
        if name not in self.index:
            raise KeyError(f"{name!r} is not among the compiled name expressions")
        return EmulatedKernel(self, name)


class EmulatedKernel:
    def __init__(self, module, name):
        self.module, self.name = module, name
        k = module.index[name]
        self._launch = getattr(module.library, f"launch_{k}")
        self._launch.restype = ctypes.c_int
        outputs = getattr(module.library, f"outputs_{k}")
        outputs.restype = ctypes.c_char_p
        self.outputs = outputs().decode()

    def __call__(self, grid, block, args, shared_mem=0):
        grid, block = _one_dimension(grid, "grid"), _one_dimension(block, "block")
        if shared_mem:
            raise EmulationError("dynamic shared memory is not emulated")
        copies, cells, pointers, sizes = [], [], [], []  # cells: kept alive for the call
        for i, arg in enumerate(args):
            if isinstance(arg, np.ndarray):
                writes = i < len(self.outputs) and self.outputs[i] == "1"
                buffer, cell = _guarded_copy(arg, writes, i)
                copies.append((i, arg, buffer))
                pointers.append(ctypes.addressof(cell))
                sizes.append(ctypes.sizeof(ctypes.c_void_p))
            elif isinstance(arg, np.generic):
                cell = np.array(arg)
                pointers.append(cell.ctypes.data)
                sizes.append(arg.itemsize)
            else:
                raise EmulationError(f"{self.name}: argument {i} is a {type(arg).__name__}; "
                                     "pass NumPy arrays or NumPy scalars of the C type")
            cells.append(cell)
        argv = (ctypes.c_void_p * len(pointers))(*pointers)
        size_array = (ctypes.c_long * len(sizes))(*sizes)
        if self._launch(grid, block, argv, size_array, len(sizes)):
            raise EmulationError(f"{self.name}: "
                                 f"{self.module.library.cuda_emulation_error().decode()}")
        self.module.launches[self.name] += 1
        for i, original, buffer in copies:
            if not (np.isnan(buffer[:GUARD]).all() and np.isnan(buffer[-GUARD:]).all()):
                raise EmulationError(f"{self.name}: write outside argument {i}")
            original[...] = buffer[GUARD:-GUARD].reshape(original.shape)


def _one_dimension(dims, what):
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if any(int(d) != 1 for d in dims[1:]) or int(dims[0]) < 1:
        raise EmulationError(f"{what} {dims}: only 1-D launches of at least 1 are emulated")
    return int(dims[0])


def _guarded_copy(array, writes, i):
    if array.dtype.kind != "f" or not array.flags.c_contiguous:
        raise EmulationError(f"argument {i}: a {array.dtype} array, contiguous="
                             f"{array.flags.c_contiguous}; the kernels take C-contiguous "
                             "float arrays (CuPy passes only the data pointer)")
    buffer = np.full(array.size + 2 * GUARD, np.nan, dtype=array.dtype)
    if not writes:
        buffer[GUARD:-GUARD] = array.reshape(-1)
    return buffer, ctypes.c_void_p(buffer.ctypes.data + GUARD * array.itemsize)
