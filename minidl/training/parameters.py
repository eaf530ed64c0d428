"""``paddle.parameters``: the values of a network's parameters, and their tarball.

    parameters = paddle.parameters.create(cost)
    parameters.get("___fc_layer_0__.w0")          # a NumPy copy, shaped as Paddle's dims
    parameters.to_tar("params.tar")               # saves atomically: see to_tar
    parameters = paddle.parameters.Parameters.from_tar("params.tar")

Paddle's public API: :func:`create`; :class:`Parameters` with ``keys``, ``names``,
``has_key``, ``in``, iteration, ``len``, ``get`` / ``[name]``, ``set`` / ``[name] = value``,
``get_shape``, ``get_grad``, ``to_tar``, ``Parameters.from_tar`` and ``init_from_tar``.

Behaviour, where Paddle left a choice:

* ``set`` wants exactly ``get_shape(name)``, as Paddle did (no reshaping of same-size
  arrays); any array-like is accepted and cast to float32 (NaN and inf are kept). A wrong
  shape raises ValueError naming the parameter and both shapes, and the old value stays.
* Values are updated in place, so the arrays handed out by :meth:`Parameters.value` and
  :meth:`Parameters.compute_view` stay live across ``set`` and ``init_from_tar``.
* ``init_from_tar`` copies the parameters present in both (minus ``exclude_params``) and
  ignores the tarball's other members, as Paddle did; but it checks every shape first, so a
  mismatch raises (naming the member) before anything is copied.
* Values are drawn when ``create`` runs (Paddle drew them later, in C++), from
  ``minidl.random.get_rng()``: ``paddle.init(seed=...)`` makes them reproducible.
  ``ParamAttr(initializer=f)`` gives ``f(name)``; ``initial_min``/``initial_max`` a uniform
  draw; otherwise normal with ``initial_mean``/``initial_std``, each defaulting to the
  layer's own default (``1/sqrt(fan_in)`` for fc weights; biases 0). Paddle differed in
  two corner cases: an ``initial_mean`` alone got std 0.01, and a bias ParamAttr with no
  ``initial_*`` got N(0, 1).
* ``to_tar`` writes exactly Paddle's bytes (an unterminated tar: Paddle never closed it).
  Saving means ``to_tar(path)``: atomic (temporary file beside the target, fsync, rename
  over it, directory fsync; see :mod:`minidl.io.atomic`), so a crash or a kill mid-save
  leaves the previous file whole; gzip-compressed when the name ends in ``.gz``/``.tgz``.
  ``to_tar(f)`` on a binary file object stays for compatibility, but cannot be atomic:
  ``open(path, "wb")`` has already emptied the old file. ``from_tar`` reads a path or
  binary file, gzip or not, as untrusted input: bounded, and checking everything Paddle
  did not (see :mod:`minidl.io.tarball`).

Internal API (for the trainer, the optimizer and the hooks):

* ``value(name)``: the live backend array (float32, Paddle dims; on the current backend,
  moved there once if the backend changed);
* ``compute_view(name)``: the same memory reshaped to ``spec.compute_shape`` (a view);
* ``spec(name)``: the layer's :class:`~minidl.layers.base.ParamSpec`, or None for a
  parameter read from a tarball without a network;
* ``config(name)``: its ``paddle.ParameterConfig`` message (learning rate, momentum, ...);
* ``set_grad(name, array)``: record the latest gradient (any shape of the right size, kept
  by reference); ``get_grad`` returns a copy in Paddle dims.
"""

import difflib
import gzip
import os

import numpy as np

from .. import backends
from ..core.xp import as_numpy, get_array_module
from ..io import compact as compact_format
from ..io import tarball
from ..io.atomic import atomic_write
from ..io.paramconfig import (ParameterConfig, config_for, hooks_from_config, initial_distribution,
                              shape_of)
from ..layers.graph import Network
from ..core.random import get_rng

__all__ = ["Parameters", "UnknownParameterError", "create"]


class UnknownParameterError(KeyError, ValueError):
    """A name that is not a parameter (a KeyError for dict habits, a ValueError as Paddle)."""

    def __init__(self, name, known):
        close = difflib.get_close_matches(str(name), known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        listed = ", ".join(known[:5]) + (f", ... ({len(known)} in all)" if len(known) > 5 else "")
        super().__init__(f"no parameter named {name!r}{hint} (known: {listed or 'none'})")

    def __str__(self):
        return str(self.args[0])


# --- initialisation ----------------------------------------------------------------------

def initial_value(spec, rng):
    """First value of a parameter, float32 in Paddle dims (see the module docstring)."""
    attr = spec.attr
    if attr.initializer is not None:
        value = np.asarray(as_numpy(attr.initializer(spec.name)), dtype=np.float32)
        if value.shape == spec.shape:
            return value
        if value.shape == tuple(spec.compute_shape):
            return value.reshape(spec.shape)
        raise ValueError(f"parameter {spec.name}: its initializer returned shape {value.shape}, "
                         f"expected {spec.shape}")
    strategy, mean, std, _ = initial_distribution(spec)
    if strategy == 1:
        low, high = np.float32(attr.initial_min), np.float32(attr.initial_max)
        return low + (high - low) * rng.random(spec.shape, dtype=np.float32)
    if std == 0.0:
        return np.full(spec.shape, mean, dtype=np.float32)
    return np.float32(mean) + np.float32(std) * rng.standard_normal(spec.shape, dtype=np.float32)


def create(layers):
    """Parameters of every layer ``layers`` (a cost, an output, or a list) depend on.

    Ordered as Paddle's: layer by layer in definition order, ``w0, w1, ..., wbias``.
    """
    network = Network(layers)
    parameters = Parameters()
    for spec in network.param_specs.values():
        parameters.add_initialised(spec)
    return parameters


def _check_binary_writable(f):
    mode = getattr(f, "mode", None)
    if not hasattr(f, "write"):
        raise TypeError(f"to_tar expects a path or a binary file object, got {f!r}")
    if isinstance(mode, str) and "b" not in mode:
        raise TypeError(f"to_tar writes bytes but {getattr(f, 'name', f)!r} is open in text "
                        f"mode {mode!r}: open the file in binary mode 'wb'")


class Parameters:
    """Named parameter values with their Paddle configuration, in definition order."""

    def __init__(self):
        self._configs = {}  # name -> ParameterConfig; the dict order is Paddle's order
        self._values = {}   # name -> backend float32 array shaped as Paddle dims
        self._specs = {}    # name -> ParamSpec (parameters made by create)
        self._grads = {}    # name -> latest gradient (backend array, any shape of that size)
        # name -> count of the times the value may have changed: caches derived from a
        # value (minidl.sparse's CSR layouts) compare it to know when to rebuild
        self._versions = {}
        # moves with every version and whenever a value array is added or replaced: one
        # comparison tells a cache of all the values that none of them changed
        self._generation = 0
        # set by a trainer whose optimizer has ModelAverage: a callable returning
        # {name: averaged value}; testing and inference read those instead of the values
        self._average_source = None
        #: the Inference objects ``paddle.infer`` made for these parameters, reused by later
        #: calls with the same output layers (see :func:`minidl.training.inference.infer`).
        #: Kept here, not in a module-level table keyed by the parameters, so that they are
        #: freed with the parameters.
        self.inferences = {}

    # --- averaged values (ModelAverage) ---------------------------------------------------
    def set_average_source(self, source):
        """Have testing and inference use ``source()`` (``{name: value}``, or None while
        nothing is averaged yet) in place of the trained values; ``None`` turns it off."""
        if source is not None and not callable(source):
            raise TypeError(f"set_average_source: {source!r} is not callable")
        self._average_source = source

    @property
    def averaging(self):
        """Whether an average source is attached (then :meth:`averaged_values` may change
        without any version moving)."""
        return self._average_source is not None

    def averaged_values(self):
        """``{name: averaged value}`` from the attached source, or None."""
        return None if self._average_source is None else self._average_source()

    # --- building ------------------------------------------------------------------------
    def _add(self, config, value, spec=None):
        name = config.name
        if name in self._configs:
            raise ValueError(f"duplicated parameter {name}")
        shape = shape_of(config)
        value = np.ascontiguousarray(value, dtype=np.float32).reshape(shape)
        self._configs[name] = config
        self._values[name] = backends.xp().asarray(value)
        self._generation += 1
        if spec is not None:
            self._specs[name] = spec

    def add_initialised(self, spec):
        """Add the parameter ``spec`` describes, initialised as :func:`create` does (used by
        the trainer for layers given as ``extra_layers`` only)."""
        self._add(config_for(spec), initial_value(spec, get_rng()), spec)

    def __append_config__(self, param_conf):
        """Declare a parameter by its ``ParameterConfig`` (value zeros), as Paddle's did."""
        if not isinstance(param_conf, ParameterConfig):
            descriptor = getattr(param_conf, "DESCRIPTOR", None)
            if getattr(descriptor, "full_name", None) != "paddle.ParameterConfig":
                raise ValueError(f"param_conf must be a paddle.ParameterConfig, "
                                 f"got {param_conf!r}")
            param_conf = ParameterConfig.FromString(param_conf.SerializeToString())
        self._add(param_conf, np.zeros(shape_of(param_conf), dtype=np.float32))

    append_config = __append_config__

    # --- names ---------------------------------------------------------------------------
    def keys(self):
        return list(self._configs)

    def names(self):
        return self.keys()

    def has_key(self, key):
        return key in self

    def __contains__(self, key):
        return isinstance(key, str) and key in self._configs

    def __iter__(self):
        return iter(list(self._configs))

    def __len__(self):
        return len(self._configs)

    def __repr__(self):
        total = sum(int(c.size) for c in self._configs.values())
        return f"<Parameters: {len(self)} parameters, {total} values>"

    def _known(self, name):
        if name in self:
            return name
        raise UnknownParameterError(name, self.keys())

    # --- values --------------------------------------------------------------------------
    def get_shape(self, name):
        """Paddle's shape of a parameter: its ``dims``, or ``(1, size)`` without dims."""
        return tuple(self._values[self._known(name)].shape)

    def get(self, name):
        """A NumPy copy of the value, shaped as ``get_shape(name)``."""
        return np.array(as_numpy(self._values[self._known(name)]), dtype=np.float32, copy=True)

    __getitem__ = get

    def _converted(self, name, value, target):
        xp = get_array_module(target)
        try:
            if xp is np:
                array = np.asarray(as_numpy(value), dtype=np.float32)
            else:
                array = xp.asarray(value, dtype=xp.float32)
        except (TypeError, ValueError) as error:
            raise ValueError(f"parameter {name}: cannot use {type(value).__name__} as a float32 "
                             f"array ({error})") from None
        if array.shape != target.shape:
            raise ValueError(f"parameter {name}: value of shape {tuple(array.shape)} does not "
                             f"match its shape {tuple(target.shape)}")
        return array

    def set(self, name, value):
        """Replace the value (same shape as ``get_shape(name)``, cast to float32)."""
        target = self._values[self._known(name)]
        target[...] = self._converted(name, value, target)
        self._changed(name)

    __setitem__ = set

    def get_grad(self, name):
        """A NumPy copy of the latest gradient in Paddle dims (zeros if none, or static)."""
        name = self._known(name)
        shape = self.get_shape(name)
        grad = self._grads.get(name)
        if grad is None or self._configs[name].is_static:
            return np.zeros(shape, dtype=np.float32)
        return np.array(as_numpy(grad), dtype=np.float32, copy=True).reshape(shape)

    # --- internal API ----------------------------------------------------------------------
    def value(self, name, write=True):
        """The live backend array (float32, Paddle dims) on the current backend.

        The caller may write into it, so the parameter's :meth:`version` moves; fetch it
        again before each write rather than keeping it. ``write=False`` promises to only
        read it (inference does) and leaves the version alone.
        """
        name = self._known(name)
        if write:
            self._changed(name)
        array = self._values[name]
        xp = backends.xp()
        if get_array_module(array) is not xp:
            array = self._values[name] = xp.asarray(as_numpy(array))
            self._generation += 1
        return array

    def version(self, name):
        """A number that changes whenever the value may have changed (set, value(), tar)."""
        return self._versions.get(self._known(name), 0)

    @property
    def generation(self):
        """A number that changes whenever any value may have changed or been replaced (one
        comparison for a cache derived from all the values; :meth:`version` per value)."""
        return self._generation

    def _changed(self, name):
        self._versions[name] = self._versions.get(name, 0) + 1
        self._generation += 1

    def compute_view(self, name):
        """The live value reshaped to the layer's ``compute_shape`` (a view, no copy)."""
        array = self.value(name)
        spec = self._specs.get(name)
        return array if spec is None else array.reshape(spec.compute_shape)

    def spec(self, name):
        """The layer's ParamSpec, or None for a parameter read from a tarball."""
        return self._specs.get(self._known(name))

    def config(self, name):
        """The ``paddle.ParameterConfig`` message of a parameter."""
        return self._configs[self._known(name)]

    def hooks(self, name):
        """The parameter's update hooks as :class:`~minidl.hooks.Hook` objects.

        From its ParamSpec when the parameters were created from a network; otherwise from
        the config's ``update_hooks`` (a tarball keeps only type and final sparsity: see
        :func:`minidl.io.paramconfig.hooks_from_config`).
        """
        spec = self.spec(name)
        if spec is not None:
            return list(spec.attr.update_hooks)
        return hooks_from_config(self._configs[name])

    def set_grad(self, name, grad):
        """Record the latest gradient (any shape with ``size`` elements; None clears it)."""
        name = self._known(name)
        if grad is not None and int(np.prod(grad.shape)) != int(self._configs[name].size):
            raise ValueError(f"parameter {name}: gradient of shape {tuple(grad.shape)} has "
                             f"{int(np.prod(grad.shape))} elements, expected "
                             f"{self._configs[name].size}")
        self._grads[name] = grad

    # --- tarballs ----------------------------------------------------------------------------
    def _write_tar(self, out, compact, threshold):
        for name, config in self._configs.items():
            values, message = as_numpy(self._values[name]), config.SerializeToString()
            if compact:
                compact_format.write_parameter(out, name, values, message, threshold)
            else:
                tarball.write_parameter(out, name, values, message)

    def to_tar(self, f, compact=False, compact_threshold=compact_format.DEFAULT_THRESHOLD):
        """Save as Paddle's tarball atomically to a path (the way to save), or to a file.

        ``to_tar("params.tar")`` writes a temporary file beside the target and renames it
        over the target only once it is complete and fsynced (a symbolic link is followed);
        errors name the target, and a save killed midway leaves the previous file intact
        (its temporary file is deleted by the next save to the same path). A binary file
        object is accepted for compatibility, without those guarantees.

        ``compact=True`` stores each parameter whose sparsity is above
        ``compact_threshold`` in the compact format of :mod:`minidl.io.compact` (when that
        is smaller), the others dense; ``from_tar`` reads both. Paddle reads only dense.
        """
        if isinstance(f, (str, os.PathLike)):
            with atomic_write(f) as out:
                if os.fspath(f).endswith((".gz", ".tgz")):
                    # mtime=0 and no file name: the same parameters give the same bytes
                    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
                        self._write_tar(gz, compact, compact_threshold)
                else:
                    self._write_tar(out, compact, compact_threshold)
            return
        _check_binary_writable(f)
        self._write_tar(f, compact, compact_threshold)

    @staticmethod
    def from_tar(f, max_bytes=None):
        """The parameters stored in a tarball (path or binary file; gzip is detected).

        Dense and compact value members are both recognised (by their header). The file is
        untrusted input (see :mod:`minidl.io.tarball`): with no network to declare the
        shapes, compact members densify to at most ``max_bytes`` in all (default
        ``tarball.densify_limit`` of the file's size; ``max_bytes`` also bounds gzip).
        """
        parameters = Parameters()
        for config, values in tarball.read_parameters(f, max_bytes=max_bytes):
            parameters._add(config, values)
        return parameters

    def init_from_tar(self, f, exclude_params=()):
        """Copy the values of the parameters also found in ``f``, except ``exclude_params``.

        Members the network does not have are ignored (their data is skipped unread).
        Every shape is checked against the network's before anything is densified or
        copied; compact members densify only to those shapes. Returns the names copied.
        """
        exclude = {exclude_params} if isinstance(exclude_params, str) else set(exclude_params)
        wanted = {name for name in self._configs if name not in exclude}
        # gzip may inflate to the network's own size (and the usual bound besides)
        network_bytes = sum(4 * int(self._configs[name].size) + 4 * tarball.BLOCK
                            for name in wanted)
        stored, _ = tarball.read_stored(f, wanted=wanted, extra_bytes=network_bytes)
        for config, _ in stored:
            name = config.name
            shape, declared = self.get_shape(name), shape_of(config)
            if declared != shape:
                raise ValueError(f"init_from_tar: member {name!r} has shape {declared} but "
                                 f"parameter {name} has shape {shape}; nothing was loaded")
        copied = []
        for config, values in stored:  # one parameter densified at a time
            name = config.name
            target = self._values[name]
            target[...] = get_array_module(target).asarray(values.dense().reshape(target.shape))
            self._changed(name)
            copied.append(name)
        return copied
