"""Unpickling data from files: plain Python values and NumPy arrays, nothing else.

A pickle names the functions that rebuild its objects, and unpickling calls them, so a
hostile file can run any code (``os.system``, ``eval``, ...). Datasets and readers that
store samples as pickles (CIFAR's batches, ``paddle.dataset.common.convert``'s RecordIO
records, ``split``'s files) need only plain values -- numbers, strings, bytes, lists,
tuples, dicts, sets -- and NumPy arrays and scalars, so :class:`RestrictedUnpickler`
resolves only the few names those need and refuses every other one.

A NumPy array pickles as ``_reconstruct(ndarray, shape, dtype)`` plus its bytes (protocols
2-4), or ``_frombuffer(buffer, dtype, shape, order)`` (protocol 5); a NumPy scalar as
``scalar(dtype, bytes)``. ``encoding="latin1"`` reads arrays pickled by Python 2.
"""

import codecs
import io
import pickle

import numpy as np


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asked for a Python object the restricted unpickler does not allow."""


def _numpy_name(module_tail, name):
    def resolve():
        try:  # NumPy >= 2 moved the module; older pickles still name numpy.core
            module = __import__(f"numpy._core.{module_tail}", fromlist=[name])
        except ImportError:  # pragma: no cover - NumPy 1.x
            module = __import__(f"numpy.core.{module_tail}", fromlist=[name])
        return getattr(module, name)
    return resolve


_ALLOWED = {("numpy", "ndarray"): lambda: np.ndarray, ("numpy", "dtype"): lambda: np.dtype,
            ("builtins", "set"): lambda: set, ("builtins", "frozenset"): lambda: frozenset,
            ("builtins", "complex"): lambda: complex, ("builtins", "bytearray"): lambda: bytearray,
            # protocol 2 writes bytes as _codecs.encode(text, 'latin1'): it only encodes text
            ("_codecs", "encode"): lambda: codecs.encode}
for _prefix in ("numpy.core", "numpy._core"):
    _ALLOWED[(f"{_prefix}.multiarray", "_reconstruct")] = _numpy_name("multiarray", "_reconstruct")
    _ALLOWED[(f"{_prefix}.multiarray", "scalar")] = _numpy_name("multiarray", "scalar")
    _ALLOWED[(f"{_prefix}.numeric", "_frombuffer")] = _numpy_name("numeric", "_frombuffer")


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles plain data and NumPy arrays; any other global raises
    :class:`UnsafePickleError` naming it and ``source`` (the file being read)."""

    def __init__(self, file, source="<pickle>"):
        super().__init__(file, encoding="latin1")
        self.source = source

    def find_class(self, module, name):
        # Python 2 pickles (and protocol < 3 ones) name the builtins module __builtin__
        resolve = _ALLOWED.get(("builtins" if module == "__builtin__" else module, name))
        if resolve is None:
            raise UnsafePickleError(
                f"{self.source}: refusing to unpickle {module}.{name}; only plain data and "
                "NumPy arrays are read from files, so this file was not written as data")
        return resolve()


def load(file, source="<pickle>"):
    """One object from a binary file, through :class:`RestrictedUnpickler`."""
    return RestrictedUnpickler(file, source).load()


def loads(data, source="<pickle>"):
    """One object from bytes, through :class:`RestrictedUnpickler`."""
    return RestrictedUnpickler(io.BytesIO(data), source).load()


__all__ = ["RestrictedUnpickler", "UnsafePickleError", "load", "loads"]
