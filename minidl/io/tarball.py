"""Paddle v2 parameter tarballs: the parameters' members, byte for byte.

Layout (a plain tar; Paddle never closed it, so it has no end-of-archive blocks):

* per parameter, in ``Parameters.names()`` order, two members:

  1. ``<name>``: a 16-byte header ``struct.pack("<IIQ", 0, 4, N)`` (value format 0 =
     dense, value size 4 bytes, N values), then N little-endian float32;
  2. ``<name>.protobuf``: the serialized ``paddle.ParameterConfig``;

  (minidl's compact format for pruned parameters, :mod:`minidl.io.compact`, uses the same
  members with another format number in the value header; it registers its decoder in
  :data:`VALUE_FORMATS`; value members and their formats are :mod:`.value_members`);

* the tar level -- headers as Python 2's ``tarfile`` wrote them -- is :mod:`.tar_write`.

Reading treats the file as untrusted. The tar level (:mod:`.tar_read`, over
:mod:`.tar_input` and the bounded :mod:`.gunzip`) streams the archive, storing each member
as its bytes arrive; here the members are paired and checked, every inconsistency a
:class:`TarballError` naming the file and the member. The bounds at this level:

* a value header is checked before its member's data is read; its count must match the
  bytes present and the ``.protobuf``'s size; dims are multiplied with Python integers;
* nothing is densified while reading: :func:`read_stored` gives :class:`StoredValues`
  (what a member holds, read from its stored form); :func:`read_parameters` densifies
  compact members only up to :func:`densify_limit` bytes, and ``init_from_tar`` only to
  the shapes its network declares;
* nothing is unpickled or evaluated: the only decoders are ``struct``, ``numpy`` and
  protobuf parsing.
"""

import functools
import math

import numpy as np

from .errors import TarballError
from .gunzip import CHUNK, GZIP_MAX_RATIO
from .paramconfig import ParameterConfig, shape_of
from .tar_input import MIN_LIMIT, _describe
from .tar_read import _in_file, _read_archive
from .tar_write import BLOCK, member_header, write_member
from .value_members import (DENSE_FORMAT, VALUE_FORMATS, VALUE_HEADER, VALUE_READERS,
                            DenseValues, StoredValues, decode_dense, decode_values, open_dense,
                            open_values, value_header)

# The file format's public names, its value members', tar and gzip levels' included.
__all__ = ["BLOCK", "CHUNK", "COMPACT_MAX_EXPANSION", "DENSE_FORMAT", "GZIP_MAX_RATIO",
           "PROTOBUF_SUFFIX", "VALUE_FORMATS", "VALUE_HEADER", "VALUE_READERS", "DenseValues",
           "StoredValues", "TarballError", "decode_dense", "decode_values", "densify_limit",
           "member_header", "open_dense", "open_values", "parse_config", "read_parameters",
           "read_stored", "value_header", "write_member", "write_parameter"]

PROTOBUF_SUFFIX = ".protobuf"
#: compact members of a file read without a network (``from_tar``) may densify to at most
#: this many times the size of the tar (or MIN_LIMIT bytes); a network's own shapes are
#: the bound in ``init_from_tar``. 99.9%-pruned layers are about 700x.
COMPACT_MAX_EXPANSION = 1024


def write_parameter(fileobj, name, values, config):
    """Both members of one parameter: ``name`` (header + float32) and ``name.protobuf``.

    ``values``: host array of any shape (written flat, C order, little-endian float32).
    ``config``: the serialized ``ParameterConfig`` (bytes).
    """
    flat = np.ascontiguousarray(values, dtype="<f4").reshape(-1)
    write_member(fileobj, name, VALUE_HEADER.pack(DENSE_FORMAT, 4, flat.size),
                 memoryview(flat).cast("B"))
    write_member(fileobj, name + PROTOBUF_SUFFIX, config)


def parse_config(member, data):
    """Bytes of ``member`` (a ``.protobuf`` member) -> a checked ``ParameterConfig``."""
    config = ParameterConfig()
    try:
        config.ParseFromString(bytes(data))
    except Exception as error:  # DecodeError, or missing required fields
        raise TarballError(f"member {member!r} is not a valid paddle.ParameterConfig "
                           f"({error})") from None
    if not config.IsInitialized():
        raise TarballError(f"member {member!r} is not a valid paddle.ParameterConfig "
                           f"(missing {', '.join(config.FindInitializationErrors())})")
    shape = shape_of(config)
    if math.prod(shape) != config.size:  # Python integers: no overflow
        raise TarballError(f"member {member!r}: dims {list(config.dims)} do not multiply to "
                           f"size {config.size}")
    return config


def _check_value_header(member, head):
    """What a value member's first bytes can tell alone: its value format and size."""
    if len(head) == VALUE_HEADER.size:
        value_header(member, head)


def _value_head_check(member):
    """The tar reader's ``head_check``: a value member's header, checked before its data.

    A gzip bomb of zeros stops there. Members named ``*.protobuf`` are passed over, though
    one may be a value member (its config is then ``*.protobuf.protobuf``):
    :func:`open_values` checks it once it is read.
    """
    if member.endswith(PROTOBUF_SUFFIX):
        return None
    return VALUE_HEADER.size, functools.partial(_check_value_header, member)


def _is_config_member(name, members):
    # A parameter may itself be named "x.protobuf"; its config is then "x.protobuf.protobuf".
    return name.endswith(PROTOBUF_SUFFIX) and name + PROTOBUF_SUFFIX not in members


def read_stored(source, wanted=None, max_bytes=None, extra_bytes=0):
    """``([(ParameterConfig, StoredValues)], tar bytes)``, in the order of the configs.

    Every pair is checked (config against value header, sizes against the bytes present)
    but nothing is densified. ``wanted``: a set of parameter names; the data of the other
    members is skipped unread (their names must still pair up).
    """
    where = _describe(source)

    def keep(name):
        if wanted is None:
            return True
        return name in wanted or (name.endswith(PROTOBUF_SUFFIX)
                                  and name[:-len(PROTOBUF_SUFFIX)] in wanted)

    members, tar_bytes = _read_archive(source, keep, max_bytes, extra_bytes,
                                       _value_head_check)
    configs = {}
    for name in members:
        if _is_config_member(name, members):
            configs[name[:-len(PROTOBUF_SUFFIX)]] = None
    for name in members:
        if not _is_config_member(name, members) and name not in configs:
            raise TarballError(f"{where}: value member {name!r} has no {name}.protobuf")
    for name in configs:
        if name not in members:
            raise TarballError(f"{where}: member {name}.protobuf has no value member {name!r}")
    result = []
    for stem in configs:
        data = members[stem + PROTOBUF_SUFFIX]
        if data is None:
            continue  # not wanted
        config = _in_file(where, parse_config, stem + PROTOBUF_SUFFIX, data)
        if config.name != stem:
            raise TarballError(f"{where}: member {stem + PROTOBUF_SUFFIX!r} describes parameter "
                               f"{config.name!r}, expected {stem!r}")
        result.append((config, _in_file(where, open_values, stem, members[stem], config)))
    return result, tar_bytes


def densify_limit(tar_bytes):
    """The most bytes compact members of a ``tar_bytes``-byte file densify to by default."""
    return max(MIN_LIMIT, COMPACT_MAX_EXPANSION * tar_bytes)


def read_parameters(source, max_bytes=None):
    """``[(ParameterConfig, values shaped as Paddle dims)]`` in the order of the configs.

    As Paddle's ``from_tar``: the ``.protobuf`` members first, then each value member.
    Without a network to declare the shapes, compact members may densify to at most
    ``max_bytes`` in all (default: :func:`densify_limit` of the file's size).
    """
    where = _describe(source)
    stored, tar_bytes = read_stored(source, max_bytes=max_bytes)
    limit = densify_limit(tar_bytes) if max_bytes is None else max_bytes
    expanded = [(s.member, s.dense_bytes) for _, s in stored if s.format_name != "dense"]
    total = sum(size for _, size in expanded)
    if total > limit:
        largest = max(expanded, key=lambda item: item[1])
        raise TarballError(
            f"{where}: its compact members declare {total:,} bytes of values ({largest[0]!r}: "
            f"{largest[1]:,}) from a {tar_bytes:,}-byte file, more than the {limit:,} allowed "
            "without a network; load it with init_from_tar into a network that declares "
            "these parameters, or pass max_bytes")
    return [(config, values.dense().reshape(shape_of(config))) for config, values in stored]
