"""The one error of the parameter-file readers.

Every level that reads a parameter file raises it -- bounded gunzip, the tar stream, the
parameter members -- so it lives apart from all of them, and callers catch one class.
"""


class TarballError(ValueError):
    """A parameter tarball that cannot be read; the message names the member."""
