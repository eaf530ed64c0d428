"""Reading and writing Paddle v2 files.

* :mod:`.paramconfig` -- the ``paddle.ParameterConfig`` protobuf message, built at run time,
  and how a parameter's description fills it (as Paddle's ``config_parser`` did);
* :mod:`.tarball` -- the parameter tarball, byte for byte as Paddle wrote it;
* :mod:`.atomic` -- saving through a temporary file, so an interrupted save never leaves a
  broken file behind.
"""
