"""``python -m minidl.inspect PARAMS.tar[.gz] [--json]``: what a parameter file holds.

The command line entry point; the inspector itself is :mod:`minidl.io.inspect`.
"""

import sys

from .io.inspect import main

if __name__ == "__main__":
    sys.exit(main())
