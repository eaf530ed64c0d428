"""Reading and writing Paddle v2 files.

* :mod:`.paramconfig` -- the ``paddle.ParameterConfig`` protobuf message, built at run time,
  and how a parameter's description fills it (as Paddle's ``config_parser`` did);
* :mod:`.modelconfig` -- the ``paddle.ModelConfig`` message describing a whole network;
* :mod:`.tarball` -- the parameter tarball, byte for byte as Paddle wrote it: its members
  paired and checked, and the public names of every level below;
* :mod:`.value_members` -- a parameter's value member: the value header, the registry of
  value formats, and the dense format;
* :mod:`.compact` -- minidl's compact value format for pruned parameters;
* :mod:`.tar_write` -- tar members written as Python 2's ``tarfile`` wrote them;
* :mod:`.tar_read` -- the tar stream parsed as untrusted input, over :mod:`.tar_input` (the
  file's bytes, allocating only what is there) and :mod:`.gunzip` (bounded inflation);
* :mod:`.errors` -- :class:`~.errors.TarballError`, raised by every level of reading;
* :mod:`.inspect` -- ``python -m minidl.inspect``: what a saved model holds, and its sizes;
* :mod:`.atomic` -- saving through a temporary file, so an interrupted save never leaves a
  broken file behind.
"""
