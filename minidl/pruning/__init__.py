"""Looking at pruned models: sparsity reports, training history plots and file sizes.

* :mod:`.report` -- :func:`sparsity_report`, :func:`format_report` and the
  :class:`SparsityReporter` event handler;
* :mod:`.plot` -- :func:`plot_sparsity` (scheduled vs achieved sparsity, matplotlib);
* :mod:`.sizes` -- :func:`file_sizes`: real bytes of dense/compact, plain/gzipped files.

The hooks themselves live in :mod:`minidl.hooks`; the compact file format in
:mod:`minidl.io.compact`. ``python -m minidl.inspect PARAMS.tar`` prints both tables.
"""

from .plot import plot_sparsity
from .report import (HistoryPoint, ReportRow, SparsityReporter, describe_hook, format_report,
                     sparsity_report)
from .sizes import FileSizes, ParameterSize, file_sizes

__all__ = ["FileSizes", "HistoryPoint", "ParameterSize", "ReportRow", "SparsityReporter",
           "describe_hook", "file_sizes", "format_report", "plot_sparsity", "sparsity_report"]
