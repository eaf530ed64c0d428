"""Looking at pruned models: sparsity reports, training history plots and file sizes.

* :mod:`.report` -- :func:`sparsity_report`, :func:`format_report` and the
  :class:`SparsityReporter` event handler;
* :mod:`.plot` -- :func:`plot_sparsity` (scheduled vs achieved sparsity, matplotlib);
* :mod:`.sizes` -- :func:`file_sizes`: real bytes of dense/compact, plain/gzipped files;
* :mod:`.sensitivity` -- :func:`sensitivity`: the metric with each weight pruned alone to
  each ratio (a :class:`SensitivityTable`, JSON, :func:`plot_sensitivity`);
* :mod:`.choose` -- :func:`choose`: per-weight sparsities within a loss budget, for the
  smallest compact file or the fastest sparse inference (a :class:`Choice`);
* :mod:`.hook_settings` -- :func:`hooks_for`: the ``ParamAttr``/``Hook`` of each weight.

The hooks themselves live in :mod:`minidl.hooks`; the compact file format in
:mod:`minidl.io.compact`. ``python -m minidl.inspect PARAMS.tar`` prints both tables.
"""

from .plot import plot_sparsity
from .report import (HistoryPoint, ReportRow, SparsityReporter, describe_hook, format_report,
                     sparsity_report)
from .sizes import FileSizes, ParameterSize, file_sizes
from .choice_table import Choice, LayerChoice
from .choose import choose
from .hook_settings import HookSettings, hooks_for
from .sensitivity import sensitivity
from .sensitivity_plot import plot_sensitivity
from .sensitivity_table import LayerSensitivity, SensitivityTable

__all__ = ["Choice", "FileSizes", "HistoryPoint", "HookSettings", "LayerChoice",
           "LayerSensitivity", "ParameterSize", "ReportRow", "SensitivityTable",
           "SparsityReporter", "choose", "describe_hook", "file_sizes", "format_report",
           "hooks_for", "plot_sensitivity", "plot_sparsity", "sensitivity", "sparsity_report"]
